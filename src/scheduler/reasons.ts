/**
 * Why the scheduler could not give a tenant everything it asked for. Each reason is one bit of a tenant's
 * flags word, so one tenant can carry several (a pin that is gone *and* reduced redundancy) without
 * allocating per tenant.
 */
import { z } from 'zod';

export const ScheduleReason = z.enum([
  /** No Prod of the tenant's role (test/normal) can serve: none exist, or all are down, retiring or drained. */
  'NoServingProd',
  /** Prods of the right role can serve, but the tenant's selector admits none of them. */
  'SelectorMatchesNothing',
  /** Eligible Prods exist but every one is at its hard capacity (fleet.maxUsersPerProd). */
  'NoCapacity',
  /** Redundancy 2 asked, 1 given: only one failure domain has an eligible Prod. */
  'RedundancyReducedSingleDomain',
  /** Redundancy 2 asked, 1 given: other domains have eligible Prods, but all are at hard capacity. */
  'RedundancyReducedNoRoom',
  /** Placed above the load bound, because no eligible Prod had room within it (never above hard capacity). */
  'BoundExceeded',
  /** A pinned Prod does not exist, cannot serve, has the wrong role, or is at hard capacity. */
  'PinUnavailable',
  /** Two pinned Prods share a failure domain; the second is not used. */
  'PinSameDomain',
  /** More pins than the tenant's redundancy; the extra ones are not used. */
  'PinExceedsRedundancy',
]);
export type ScheduleReason = z.infer<typeof ScheduleReason>;

export const reasonBit: Readonly<Record<ScheduleReason, number>> = Object.fromEntries(
  ScheduleReason.options.map((r, i) => [r, 1 << i]),
) as Record<ScheduleReason, number>;

export function reasonsOf(flags: number): ScheduleReason[] {
  return ScheduleReason.options.filter((r) => (flags & reasonBit[r]) !== 0);
}

/** Reasons after which the tenant has fewer Prods than it asked for. */
export const degradingReasons: ReadonlySet<ScheduleReason> = new Set<ScheduleReason>([
  'NoServingProd',
  'SelectorMatchesNothing',
  'NoCapacity',
  'RedundancyReducedSingleDomain',
  'RedundancyReducedNoRoom',
]);

export const reasonMessages: Readonly<Record<ScheduleReason, string>> = {
  NoServingProd: 'no Prod of this role can serve (none exist, or all are down, retiring or on drained/NotReady clusters)',
  SelectorMatchesNothing: 'the selector admits none of the Prods that can serve',
  NoCapacity: 'every eligible Prod is at its hard capacity (fleet maxUsersPerProd)',
  RedundancyReducedSingleDomain: 'redundancy reduced to 1: only one failure domain has an eligible Prod',
  RedundancyReducedNoRoom: 'redundancy reduced to 1: every eligible Prod in other failure domains is at hard capacity',
  BoundExceeded: 'placed above the load bound: no eligible Prod had room within it',
  PinUnavailable: 'a pinned Prod is missing, cannot serve, has the wrong role or is full',
  PinSameDomain: 'two pinned Prods share a failure domain; only the first is used',
  PinExceedsRedundancy: 'more pins than the redundancy; the extra pins are not used',
};
