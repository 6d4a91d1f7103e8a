/**
 * Where a fleet's next Prod goes: a pure function, no I/O. The scheduler may replace it with its own;
 * keep the signature.
 *
 * Candidates are clusters that are Ready, not cordoned, not draining, not of an avoided provider, that
 * match the fleet's clusterSelector and are below capacity. Among them the fleet's Prods spread over
 * failure domains first, then clusters (or clusters first with `spreadBy: cluster`); ties go to the
 * least loaded cluster, then by name, so the answer is deterministic.
 *
 * Capacity counts every fleet's Prods: `max(cluster.status.prods, this fleet's Prods on it)` — the
 * status count may lag by one pass, this fleet's own new Prods are always counted.
 */
import { clusterDomain, type Cluster } from '../api/kinds/cluster.js';
import type { Fleet } from '../api/kinds/fleet.js';
import type { Prod } from '../api/kinds/prod.js';
import { matchesSelectorSpec } from '../api/meta.js';
import { unschedulableReason } from './cluster-health.js';

export const skipReasons = ['NotReady', 'Unknown', 'Cordoned', 'Draining', 'Deleting', 'AvoidedProvider', 'SelectorMismatch', 'AtCapacity'] as const;
export type SkipReason = (typeof skipReasons)[number];

export interface Unplaceable {
  reason: string;
}

export function placeNewProd(fleet: Fleet, clusters: readonly Cluster[], existingProds: readonly Prod[]): string | Unplaceable {
  const placement = fleet.spec.placement ?? { spreadBy: 'domain', avoidProviders: [] };
  const byCluster = new Map<string, number>();
  for (const p of existingProds) byCluster.set(p.spec.cluster, (byCluster.get(p.spec.cluster) ?? 0) + 1);
  const byDomain = new Map<string, number>();
  const domainOf = new Map(clusters.map((c) => [c.metadata.name, clusterDomain(c)]));
  for (const [cluster, n] of byCluster) {
    const d = domainOf.get(cluster);
    if (d !== undefined) byDomain.set(d, (byDomain.get(d) ?? 0) + n);
  }

  const skipped: string[] = [];
  const candidates: { name: string; domainN: number; clusterN: number; load: number }[] = [];
  for (const c of clusters) {
    const name = c.metadata.name;
    const used = Math.max(c.status?.prods ?? 0, byCluster.get(name) ?? 0);
    const capacity = c.spec.capacity?.prods ?? 10;
    const skip: SkipReason | undefined =
      unschedulableReason(c) ??
      ((placement.avoidProviders ?? []).includes(c.spec.provider)
        ? 'AvoidedProvider'
        : !matchesSelectorSpec(c.metadata.labels ?? {}, placement.clusterSelector)
          ? 'SelectorMismatch'
          : used >= capacity
            ? 'AtCapacity'
            : undefined);
    if (skip) {
      skipped.push(`${name} ${skip}`);
      continue;
    }
    candidates.push({ name, domainN: byDomain.get(clusterDomain(c)) ?? 0, clusterN: byCluster.get(name) ?? 0, load: capacity === 0 ? 1 : used / capacity });
  }
  if (candidates.length === 0) {
    return { reason: clusters.length === 0 ? 'no clusters registered' : `no cluster can take a Prod: ${skipped.join(', ')}` };
  }
  const byDomainFirst = placement.spreadBy !== 'cluster';
  candidates.sort(
    (a, b) =>
      (byDomainFirst ? a.domainN - b.domainN || a.clusterN - b.clusterN : a.clusterN - b.clusterN || a.domainN - b.domainN) ||
      a.load - b.load ||
      a.name.localeCompare(b.name),
  );
  return candidates[0]!.name;
}

export function isUnplaceable(x: string | Unplaceable): x is Unplaceable {
  return typeof x !== 'string';
}
