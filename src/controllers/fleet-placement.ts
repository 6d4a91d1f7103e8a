/**
 * Placement as the fleet plan uses it. The placement itself is the scheduler's pure `placeNextProd`
 * (src/scheduler/place-prods.ts): spread over failure domains then clusters, skip NotReady/cordoned/
 * draining/full clusters, honour clusterSelector and avoidProviders. Here: what occupies a cluster, which
 * Prod to retire first, and the spread-back move (rule 7 of fleet-plan.ts).
 */
import type { Cluster } from '../api/kinds/cluster.js';
import { clusterDomain } from '../api/kinds/cluster.js';
import type { Fleet } from '../api/kinds/fleet.js';
import type { Prod, ProdTemplate } from '../api/kinds/prod.js';
import { placeNextProd } from '../scheduler/place-prods.js';
import { unschedulableReason } from './cluster-health.js';
import type { FleetObservation, ProdRole } from './fleet-plan-types.js';

export interface Unplaceable {
  reason: string;
}

export function isUnplaceable(x: string | Unplaceable): x is Unplaceable {
  return typeof x !== 'string';
}

/**
 * Prods occupying each cluster against its capacity: this fleet's (all of them, successors, test and
 * retiring ones included, until Retired) plus every other fleet's.
 */
export function clusterOccupancy(o: FleetObservation): Map<string, number> {
  const mine = new Map<string, number>();
  for (const p of o.prods) if (p.status?.phase !== 'Retired') mine.set(p.spec.cluster, (mine.get(p.spec.cluster) ?? 0) + 1);
  const out = new Map<string, number>();
  for (const c of o.clusters) {
    const name = c.metadata.name;
    const own = mine.get(name) ?? 0;
    const others = o.otherFleetsOnCluster !== undefined ? (o.otherFleetsOnCluster.get(name) ?? 0) : Math.max(0, (c.status?.prods ?? 0) - own);
    out.set(name, own + others);
  }
  return out;
}

/**
 * The Prod to move and where, when the failure domain `placeNextProd` would choose holds at least two
 * fewer of the fleet's Prods than the most crowded one (so the move makes the spread strictly better and
 * cannot flip-flop); the newest Prod of the most crowded domain moves.
 */
export function spreadBack(fleet: Fleet, clusters: readonly Cluster[], prods: readonly Prod[], occupancy: ReadonlyMap<string, number>): { prod: Prod; target: string } | undefined {
  const byName = new Map(clusters.map((c) => [c.metadata.name, c]));
  const domainOf = (cluster: string) => {
    const c = byName.get(cluster);
    return fleet.spec.placement.spreadBy === 'cluster' || !c ? cluster : clusterDomain(c);
  };
  const count = new Map<string, number>();
  for (const p of prods) count.set(domainOf(p.spec.cluster), (count.get(domainOf(p.spec.cluster)) ?? 0) + 1);
  const crowd = (p: Prod) => count.get(domainOf(p.spec.cluster)) ?? 0;
  const candidate = [...prods].filter((p) => !byName.get(p.spec.cluster)?.spec.draining).sort((a, b) => crowd(b) - crowd(a) || newestFirst(a, b))[0];
  if (!candidate) return undefined;
  const target = placeNextProd(
    fleet,
    clusters,
    prods.filter((p) => p !== candidate),
    occupancy,
  );
  if (isUnplaceable(target)) return undefined;
  const to = domainOf(target);
  if (to === domainOf(candidate.spec.cluster) || (count.get(to) ?? 0) + 2 > crowd(candidate)) return undefined;
  return { prod: candidate, target };
}

/** Higher is a better candidate to retire: unschedulable cluster, not Ready, old revision. */
export function badness(p: Prod, clusters: Map<string, Cluster>, current: (p: Prod) => boolean): number {
  const c = clusters.get(p.spec.cluster);
  return (c === undefined || unschedulableReason(c) !== undefined ? 4 : 0) + (p.status?.phase !== 'Ready' ? 2 : 0) + (current(p) ? 0 : 1);
}

export function newestFirst(a: Prod, b: Prod): number {
  return (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? '') || b.metadata.name.localeCompare(a.metadata.name);
}

export function plannedProd(fleet: Fleet, cluster: string, role: ProdRole, version: string, template: ProdTemplate): Prod {
  return {
    apiVersion: fleet.apiVersion,
    kind: 'Prod',
    metadata: { name: `${fleet.metadata.name}-planned`, labels: {}, annotations: {}, finalizers: [], ownerReferences: [] },
    spec: { fleet: fleet.metadata.name, cluster, version, template, role, retire: false, env: {}, takeover: false },
  };
}
