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
 * Placement of the fleet controller (src/controllers/fleet-plan.ts):
 * one new Prod for `fleet`, given the fleet's Prods counted so far. Capacity counts
 * max(cluster.status.prods, this fleet's Prods on it), as the status may lag one pass behind.
 */
export function placeNextProd(fleet: Fleet, clusters: readonly Cluster[], existingProds: readonly Prod[]): string | { reason: string } {
  const mine = new Map<string, number>();
  for (const p of existingProds) mine.set(p.spec.cluster, (mine.get(p.spec.cluster) ?? 0) + 1);
  const prodsOnCluster = new Map(clusters.map((c) => [c.metadata.name, Math.max(c.status?.prods ?? 0, mine.get(c.metadata.name) ?? 0)]));
  const r = placeProds({ clusters, placement: fleet.spec.placement, fleetProdClusters: existingProds.map((p) => p.spec.cluster), prodsOnCluster, count: 1 });
  const chosen = r.placements[0];
  if (chosen !== undefined) return chosen;
  if (clusters.length === 0) return { reason: 'no clusters registered' };
  return { reason: `no cluster can take a Prod: ${r.skipped.map((s) => `${s.cluster} ${s.why}`).join(', ')}` };
}
