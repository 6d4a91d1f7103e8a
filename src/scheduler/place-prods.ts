/**
 * Placement of new Prods on clusters: spread over failure domains first, then over clusters, within
 * capacity and the fleet's placement rules. Pure: the fleet controller passes what it listed.
 *
 * Order of choice for each new Prod: the domain (or, with spreadBy=cluster, just the cluster) holding the
 * fewest of this fleet's Prods; within it the cluster with the fewest of this fleet's Prods, then the most
 * free capacity, then the name (deterministic).
 */
import { clusterDomain, matchesSelectorSpec, type Cluster, type Fleet, type FleetSpec, type Prod } from '../api/index.js';

/** Why a cluster was skipped; the fleet controller's events and `explain` use the same words. */
export const PlacementSkip = ['NotReady', 'Unknown', 'NoReadyNodes', 'Cordoned', 'Draining', 'Deleting', 'AvoidedProvider', 'SelectorMismatch', 'AtCapacity'] as const;
export type PlacementSkip = (typeof PlacementSkip)[number];

export interface PlaceProdsInput {
  clusters: readonly Cluster[];
  placement: FleetSpec['placement'];
  /** Cluster name of each existing Prod of this fleet (not retiring). */
  fleetProdClusters: readonly string[];
  /** Prods of every fleet per cluster, against `capacity.prods`; defaults to `status.prods`. */
  prodsOnCluster?: ReadonlyMap<string, number>;
  /** How many new Prods to place. */
  count: number;
}

export interface PlaceProdsResult {
  /** Cluster name for each placed Prod, in order. */
  placements: string[];
  /** How many could not be placed. */
  unplaced: number;
  /** Why each cluster was not a candidate. */
  skipped: { cluster: string; why: PlacementSkip }[];
}

export function placeProds(input: PlaceProdsInput): PlaceProdsResult {
  const skipped: PlaceProdsResult['skipped'] = [];
  const free = new Map<string, number>();
  const candidates: Cluster[] = [];
  for (const c of [...input.clusters].sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1))) {
    const name = c.metadata.name;
    const phase = c.status?.phase ?? 'Unknown';
    const why: PlacementSkip | undefined = c.metadata.deletionTimestamp
      ? 'Deleting'
      : phase !== 'Ready'
        ? phase
        : c.status?.nodes !== undefined && c.status.nodes.ready === 0
          ? 'NoReadyNodes'
          : c.spec.draining
          ? 'Draining'
          : c.spec.cordoned
            ? 'Cordoned'
            : input.placement.avoidProviders.includes(c.spec.provider)
              ? 'AvoidedProvider'
              : !matchesSelectorSpec(c.metadata.labels, input.placement.clusterSelector)
                ? 'SelectorMismatch'
                : undefined;
    if (why) {
      skipped.push({ cluster: name, why });
      continue;
    }
    const used = input.prodsOnCluster?.get(name) ?? c.status?.prods ?? 0;
    const room = c.spec.capacity.prods - used;
    if (room <= 0) {
      skipped.push({ cluster: name, why: 'AtCapacity' });
      continue;
    }
    free.set(name, room);
    candidates.push(c);
  }
  const perCluster = new Map<string, number>();
  const perDomain = new Map<string, number>();
  const domainOf = new Map(input.clusters.map((c) => [c.metadata.name, input.placement.spreadBy === 'cluster' ? c.metadata.name : clusterDomain(c)]));
  for (const name of input.fleetProdClusters) {
    perCluster.set(name, (perCluster.get(name) ?? 0) + 1);
    const d = domainOf.get(name);
    if (d !== undefined) perDomain.set(d, (perDomain.get(d) ?? 0) + 1);
  }
  const placements: string[] = [];
  for (let i = 0; i < input.count; i++) {
    let best: Cluster | undefined;
    const key = (c: Cluster): [number, number, number] => [
      perDomain.get(domainOf.get(c.metadata.name) ?? '') ?? 0,
      perCluster.get(c.metadata.name) ?? 0,
      -(free.get(c.metadata.name) ?? 0),
    ];
    for (const c of candidates) {
      if ((free.get(c.metadata.name) ?? 0) <= 0) continue;
      if (!best || lessThan(key(c), key(best))) best = c;
    }
    if (!best) break;
    const name = best.metadata.name;
    placements.push(name);
    free.set(name, (free.get(name) ?? 0) - 1);
    perCluster.set(name, (perCluster.get(name) ?? 0) + 1);
    const d = domainOf.get(name) ?? '';
    perDomain.set(d, (perDomain.get(d) ?? 0) + 1);
  }
  return { placements, unplaced: input.count - placements.length, skipped };
}

function lessThan(a: readonly number[], b: readonly number[]): boolean {
  for (let i = 0; i < a.length; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) < (b[i] ?? 0);
  return false;
}

/**
 * Placement of the fleet controller (src/controllers/fleet-plan.ts): one new Prod for `fleet`, spread
 * against `spreadProds` (the fleet's Prods it counts). Capacity is a hard limit: `occupancy` is every Prod
 * occupying each cluster (every fleet, successors, test and retiring Prods until Retired, and the ones
 * this pass already planned). Without it, capacity counts max(cluster.status.prods, spreadProds there).
 */
export function placeNextProd(
  fleet: Fleet,
  clusters: readonly Cluster[],
  spreadProds: readonly Prod[],
  occupancy?: ReadonlyMap<string, number>,
): string | { reason: string } {
  const prodsOnCluster = occupancy ?? statusOccupancy(clusters, spreadProds);
  const r = placeProds({ clusters, placement: fleet.spec.placement, fleetProdClusters: spreadProds.map((p) => p.spec.cluster), prodsOnCluster, count: 1 });
  const chosen = r.placements[0];
  if (chosen !== undefined) return chosen;
  if (clusters.length === 0) return { reason: 'no clusters registered' };
  return { reason: `no cluster can take a Prod: ${r.skipped.map((s) => `${s.cluster} ${s.why}`).join(', ')}` };
}

function statusOccupancy(clusters: readonly Cluster[], prods: readonly Prod[]): Map<string, number> {
  const mine = new Map<string, number>();
  for (const p of prods) mine.set(p.spec.cluster, (mine.get(p.spec.cluster) ?? 0) + 1);
  return new Map(clusters.map((c) => [c.metadata.name, Math.max(c.status?.prods ?? 0, mine.get(c.metadata.name) ?? 0)]));
}

export interface Shortfall {
  /** InsufficientCapacity: clusters that would take the fleet are full; Unplaceable: none would take it at all. */
  reason: 'InsufficientCapacity' | 'Unplaceable';
  message: string;
}

/**
 * Why `missing` of the fleet's `wanted` Prods cannot be placed, and where room would help: the full
 * clusters by domain with their use, and the clusters that take no Prods whatever their room.
 */
export function describeShortfall(
  fleet: Fleet,
  clusters: readonly Cluster[],
  occupancy: ReadonlyMap<string, number>,
  missing: number,
  wanted: number,
): Shortfall {
  const what = `${missing} of ${wanted} Prods cannot be placed`;
  if (clusters.length === 0) return { reason: 'Unplaceable', message: `${what}: no clusters registered; add a cluster` };
  const r = placeProds({ clusters, placement: fleet.spec.placement, fleetProdClusters: [], prodsOnCluster: occupancy, count: 0 });
  const byName = new Map(clusters.map((c) => [c.metadata.name, c]));
  const full = r.skipped.filter((s) => s.why === 'AtCapacity');
  const closed = r.skipped.filter((s) => s.why !== 'AtCapacity');
  const closedText = closed.length > 0 ? `${closed.map((s) => `${s.cluster} ${s.why}`).join(', ')}` : '';
  if (full.length === 0) {
    return { reason: 'Unplaceable', message: `${what}: no cluster takes this fleet's Prods (${closedText}); uncordon, restore or add clusters, or widen spec.placement` };
  }
  const domains = [...new Set(full.map((s) => clusterDomain(byName.get(s.cluster)!)))].sort();
  const use = full.map((s) => `${s.cluster} ${occupancy.get(s.cluster) ?? 0}/${byName.get(s.cluster)?.spec.capacity.prods ?? 0}`).join(', ');
  const others = closed.length > 0 ? `; not taking Prods: ${closedText}` : '';
  return {
    reason: 'InsufficientCapacity',
    message: `${what}: every Ready cluster in domain${domains.length > 1 ? 's' : ''} ${domains.join(', ')} is full (${use})${others}; add capacity or clusters, or lower spec.prods`,
  };
}
