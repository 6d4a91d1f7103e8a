/**
 * The answer of Prod placement as the fleet controller uses it. The placement itself is the scheduler's
 * pure `placeNextProd` (src/scheduler/place-prods.ts): spread over failure domains then clusters, skip
 * NotReady/cordoned/draining/full clusters, honour clusterSelector and avoidProviders.
 */

export interface Unplaceable {
  reason: string;
}

export function isUnplaceable(x: string | Unplaceable): x is Unplaceable {
  return typeof x !== 'string';
}
