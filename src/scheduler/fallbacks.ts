/**
 * Per-tenant fallbacks: for every cluster that holds a tenant's Prods, where the scheduler would move the
 * tenant if that cluster died now. It is the same what-if as `drover plan --fail-cluster` (a seeded pass
 * with the cluster NotReady, seeded by today's assignment), run once per cluster of the fleet, so the edge,
 * failing a tenant over before the control plane has even noticed, lands it exactly where the control plane
 * will put it: no second move, no flip-flop.
 */
import type { Tenant } from '../api/index.js';
import { scheduleFleet, tenantPlacement, type FleetObjects } from './snapshot.js';
import type { AssignResult } from './model.js';
import type { FleetSnapshot } from './snapshot.js';

export interface Baseline {
  snap: FleetSnapshot;
  result: AssignResult;
  /** The fleet's tenants with status.prods set to today's assignment: the seed of every what-if. */
  seeded: Tenant[];
}

/** What the scheduler would assign today, and the tenants seeded by it. */
export function baseline(objs: FleetObjects, epsilon?: number): Baseline {
  const base = scheduleFleet(objs, { epsilon });
  const index = new Map(base.snap.tenantNames.map((n, i) => [n, i]));
  const seeded: Tenant[] = objs.tenants.map((t) => {
    const i = index.get(t.metadata.name) ?? -1;
    const prods = i >= 0 ? tenantPlacement(base.snap, base.result, i).prods : [];
    return { ...t, status: { conditions: [], domains: [], ...t.status, prods } };
  });
  return { ...base, seeded };
}

/** The what-if of one cluster failing, from a baseline. */
export function whatIfClusterFails(objs: FleetObjects, base: Baseline, cluster: string, epsilon?: number): { snap: FleetSnapshot; result: AssignResult } {
  return scheduleFleet({ ...objs, tenants: base.seeded }, { epsilon, failClusters: new Set([cluster]) });
}

/**
 * Tenant name → fallback Prods: the Prods the what-if gives it that it does not have today, over the
 * clusters of its Prods (in slot order). Tenants whose what-if leaves them where they are, or without a
 * Prod, have no entry. Costs one assignment pass per cluster with serving Prods of the fleet.
 */
export function computeFallbacks(objs: FleetObjects, epsilon?: number): Map<string, string[]> {
  const out = new Map<string, string[]>();
  if (objs.tenants.length === 0) return out;
  const base = baseline(objs, epsilon);
  const clusterOf = new Map(base.snap.prodInfo.map((p) => [p.name, p.cluster]));
  const clusters = new Set(base.snap.prodInfo.filter((p) => p.notServing === undefined).map((p) => p.cluster));
  const today = base.snap.tenantNames.map((_, i) => tenantPlacement(base.snap, base.result, i).prods);
  for (const cluster of [...clusters].sort()) {
    const what = whatIfClusterFails(objs, base, cluster, epsilon);
    // Both snapshots sort tenants by name: index i is the same tenant in each.
    for (let i = 0; i < what.snap.tenantNames.length; i++) {
      const now = today[i] ?? [];
      if (!now.some((p) => clusterOf.get(p) === cluster)) continue;
      const name = what.snap.tenantNames[i] ?? '';
      const moved = tenantPlacement(what.snap, what.result, i).prods.filter((p) => !now.includes(p));
      if (moved.length === 0) continue;
      const list = out.get(name) ?? [];
      for (const p of moved) if (!list.includes(p)) list.push(p);
      out.set(name, list);
    }
  }
  return out;
}
