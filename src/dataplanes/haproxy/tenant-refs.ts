/**
 * Tenants as the rendered rules refer to them: numbered over all plans (the value of `txn.t`), with the
 * assigned and fallback Prods that are in the plan and active. Shared by the frontend (which sets
 * `txn.t`) and the fleet backends (which pick a Prod for it).
 */
import type { TrafficPlanSpec } from '../../api/kinds/traffic-plan.js';

export interface TenantRef {
  /** Unique over all plans: the value of txn.t. */
  id: number;
  name: string;
  /** Assigned Prods that are in the plan and active, in plan order (the affinity slots). */
  assigned: string[];
  /** The plan's fallback Prods that are in the plan and active: tried, in order, when no assigned one is up. */
  fallback: string[];
}

export interface RenderCtx {
  fleetIndex: Map<string, number>;
  tenants: Map<string, TenantRef[]>;
}

export function renderCtx(list: readonly TrafficPlanSpec[]): RenderCtx {
  const ctx: RenderCtx = { fleetIndex: new Map(list.map((p, i) => [p.fleet, i] as const)), tenants: new Map() };
  let id = 0;
  for (const p of list) {
    const active = new Set(p.endpoints.filter((e) => e.state === 'active').map((e) => e.prod));
    ctx.tenants.set(
      p.fleet,
      p.tenants.map((tn) => {
        const assigned = tn.prods.filter((n) => active.has(n));
        return { id: id++, name: tn.name, assigned, fallback: (tn.fallback ?? []).filter((n) => active.has(n) && !assigned.includes(n)) };
      }),
    );
  }
  return ctx;
}
