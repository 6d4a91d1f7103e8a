/**
 * What of a fleet's Prods and Clusters the scheduler reads, as one string: when it is unchanged, a change
 * of those objects (a heartbeat's `lastHeartbeat`, a restart counter, a status message) cannot change any
 * tenant's assignment, and the controllers skip the pass over every tenant it would otherwise cost.
 * Any field `buildSnapshot`/`prodNotServing`/`makeClass` look at must be in here.
 */
import { clusterDomain, type Cluster, type Fleet, type Prod } from '../api/index.js';
import { evacuationBlockedAnnotation } from './evacuation.js';

export function schedulingSignature(fleet: Fleet | undefined, prods: readonly Prod[], clusters: readonly Cluster[]): string {
  const p = [...prods]
    .sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1))
    .map((x) => [x.metadata.name, x.spec.cluster, x.spec.role, x.spec.retire, x.spec.replaces ?? '', x.status?.phase ?? '', !!x.metadata.deletionTimestamp, x.metadata.annotations?.[evacuationBlockedAnnotation] !== undefined]);
  const c = [...clusters].sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1)).map(clusterFields);
  const f = fleet ? [fleet.metadata.name, fleet.spec.maxUsersPerProd ?? null, !!fleet.metadata.deletionTimestamp] : null;
  return JSON.stringify([f, p, c]);
}

/** What of one Cluster the scheduler reads (its share of `schedulingSignature`). */
function clusterFields(x: Cluster): unknown[] {
  return [x.metadata.name, clusterDomain(x), x.spec.region, x.status?.phase ?? '', x.spec.draining, x.metadata.labels];
}

/** The scheduler's view of one Cluster as a string: a heartbeat leaves it unchanged. */
export function clusterSchedulingFingerprint(x: Cluster): string {
  return JSON.stringify(clusterFields(x));
}
