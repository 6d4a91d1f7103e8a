/**
 * The watch mappings controllers share (`WatchSpec.mapToKeys`), written once: which fleet an object
 * belongs to, and "a Cluster change touches every fleet".
 */
import type { AnyResource } from '../api/resource.js';
import type { WatchChange } from '../runtime/reconciler.js';

/** The fleet named by an object's `spec.fleet` (Prods, Tenants, TrafficPolicies, Releases, routes), as keys. */
export function fleetOf(obj: AnyResource): string[] {
  const f = (obj.spec as { fleet?: unknown } | undefined)?.fleet;
  return typeof f === 'string' ? [f] : [];
}

/**
 * Every fleet, for a change that may concern any of them (a Cluster's health or capacity): cheaper to
 * run every fleet's pass than to work out which fleets have Prods on it.
 */
export async function allFleets(_obj: AnyResource, { store }: WatchChange): Promise<string[]> {
  return (await store.list('Fleet')).items.map((f) => f.metadata.name);
}
