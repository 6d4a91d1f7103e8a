/**
 * The legacy endpoint set of the traffic plan (pure): what the fleet's active edge Migrations need the
 * data planes to do. One `PlanLegacy` per Migration with `target.type: edge` that is not Succeeded (a
 * Succeeded migration has everyone on the fleet, which is the plan without it); a RolledBack or Aborted
 * one stays, at weight 0, so its users stay on legacy until the Migration is deleted.
 *
 * Weight and moved tenants come from the Migration's status (the migration controller's decision), so a
 * step, a rollback or an abort is one change of the fleet-level plan, whatever the number of tenants.
 */
import type { Migration } from '../api/kinds/migration.js';
import type { PlanLegacy } from '../api/kinds/traffic-plan.js';

/** How the edge names a legacy endpoint in /stats and /metrics (a colon: never a Prod's DNS name). */
export function legacyEndpointName(migration: string, index: number): string {
  return `legacy:${migration}:${index}`;
}

/** The legacy endpoint names of a Migration: the gates' baseline. */
export function legacyEndpointNames(m: Pick<Migration, 'metadata' | 'spec'>): string[] {
  return m.spec.legacy.endpoints.map((_e, i) => legacyEndpointName(m.metadata.name, i));
}

export function compileLegacy(m: Migration): PlanLegacy | undefined {
  if (m.spec.target.type !== 'edge' || m.metadata.deletionTimestamp) return undefined;
  const st = m.status;
  if (st?.phase === 'Succeeded') return undefined;
  let tenants: string[] | undefined;
  if (st?.tenants !== undefined && st.allTenants !== true) tenants = st.tenants.map((t) => t.name).sort();
  else if (st?.allTenants !== true && m.spec.tenants !== undefined) {
    // Not planned yet: explicit names are known; a selector is resolved by the controller's first pass.
    if (m.spec.tenants.names === undefined) return undefined;
    tenants = [...m.spec.tenants.names].sort();
  }
  const moved = m.spec.mode === 'tenants' ? (st?.tenants ?? []).filter((t) => t.weight >= 100).map((t) => t.name).sort() : [];
  return {
    migration: m.metadata.name,
    affinity: m.spec.affinity,
    endpoints: m.spec.legacy.endpoints.map((e, i) => ({ name: legacyEndpointName(m.metadata.name, i), url: e.url, healthPath: e.healthPath ?? m.spec.legacy.healthPath })),
    ...(tenants !== undefined ? { tenants } : {}),
    // tenants mode: requests that match no tenant move with the last step.
    fleetPercent: m.spec.mode === 'percent' ? (st?.weight ?? 0) : (st?.weight ?? 0) >= 100 ? 100 : 0,
    ...(moved.length > 0 ? { moved } : {}),
  };
}

/** The `legacy` part of a fleet's plan, canonical (by migration name); empty object when none. */
export function legacyPart(fleet: string, migrations: readonly Migration[] | undefined): { legacy?: PlanLegacy[] } {
  const out: PlanLegacy[] = [];
  for (const m of migrations ?? []) {
    if (m.spec.fleet !== fleet) continue;
    const l = compileLegacy(m);
    if (l) out.push(l);
  }
  if (out.length === 0) return {};
  out.sort((a, b) => (a.migration < b.migration ? -1 : a.migration > b.migration ? 1 : 0));
  return { legacy: out };
}
