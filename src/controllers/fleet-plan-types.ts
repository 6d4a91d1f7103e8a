/**
 * The fleet controller's plan as data: what `planFleet` (fleet-plan.ts) observes, and the actions,
 * status and events it returns for fleet-controller.ts to execute.
 */
import type { Cluster } from '../api/kinds/cluster.js';
import type { Fleet } from '../api/kinds/fleet.js';
import type { Prod, ProdTemplate } from '../api/kinds/prod.js';
import type { Shortfall } from '../scheduler/place-prods.js';

export const retireReasons = ['ClusterLost', 'EvictionTimeout', 'WorkloadFailed', 'FleetDeleted', 'Orphaned', 'Extra', 'Replaced', 'StaleSuccessor', 'RolloutFailed', 'ReleaseStarted'] as const;
export type RetireReason = (typeof retireReasons)[number];
export const deleteReasons = ['Retired', 'ClusterLost', 'RetireTimeout', 'Evicted'] as const;
export type DeleteReason = (typeof deleteReasons)[number];
export const createReasons = ['Missing', 'VersionChange', 'TemplateChange', 'Drain', 'Rebalance'] as const;
export type CreateReason = (typeof createReasons)[number];

export type ProdRole = Prod['spec']['role'];
export type FleetStatus = NonNullable<Fleet['status']>;

export type FleetAction =
  | { action: 'create'; cluster: string; role: ProdRole; version: string; template: ProdTemplate; replaces?: string; reason: CreateReason }
  /** Record on a Prod stored before template revisions the revision it runs now (restarts nothing). */
  | { action: 'snapshot'; prod: Prod; template: ProdTemplate }
  /** `takeoverOff`: hand the successor's tenants back to its predecessor in the same write. */
  | { action: 'retire'; prod: Prod; reason: RetireReason; takeoverOff?: true }
  | { action: 'delete'; prod: Prod; reason: DeleteReason }
  | { action: 'takeover'; prod: Prod }
  /** Set (string) or remove (null) the evacuation-blocked mark of a Prod on a draining cluster. */
  | { action: 'markEvacuation'; prod: Prod; blocked: string | null };

export const evictionHoldReasons = ['LargeDisruption', 'RateLimited', 'StartupGrace'] as const;
export type EvictionHoldReason = (typeof evictionHoldReasons)[number];

export interface EvictionPolicy {
  /** NotReady this long before a cluster's Prods are evicted, for clusters without spec.evictionTimeoutMs. */
  timeoutMs: number;
  /** How many Prods this pass may evict (the controller's rate limit); Infinity for no limit. */
  budget: number;
  /** When the budget next grows (for the recheck of held Prods). */
  budgetRefillInMs?: number;
  /** Hold every eviction (the controller's own startup grace). */
  hold?: 'StartupGrace';
  /** Fraction of known clusters NotReady above which nothing is evicted. Default 0.5. */
  largeDisruptionFraction?: number;
}

export interface FleetObservation {
  fleetName: string;
  /** Undefined once the Fleet is deleted. */
  fleet: Fleet | undefined;
  clusters: readonly Cluster[];
  /** Prods whose spec.fleet is this fleet. */
  prods: readonly Prod[];
  /** A Release of this fleet is in progress (owns version changes and successors). */
  releaseActive: boolean;
  nowMs: number;
  retireTimeoutMs: number;
  /** Default: 5-minute timeout, no rate limit, no hold. */
  eviction?: EvictionPolicy;
  /**
   * Prods of other fleets occupying each cluster (bound and not Retired). Without it, a cluster's
   * `status.prods` less this fleet's Prods there stands in (it may lag a pass behind).
   */
  otherFleetsOnCluster?: ReadonlyMap<string, number>;
  /** A successor not Ready this long after its creation stops the rollout. Default 5 minutes. */
  rolloutDeadlineMs?: number;
}

export const defaultRolloutDeadlineMs = 300_000;

export interface FleetEvent {
  type: 'Normal' | 'Warning';
  reason: 'RolloutStalled';
  message: string;
}

export interface FleetPlan {
  actions: FleetAction[];
  /** Undefined when the Fleet is gone, or when this pass only stamps template snapshots. */
  status: FleetStatus | undefined;
  /** Why a missing Prod (or a successor) could not be placed. */
  unplaceable?: string;
  unplaceableReason?: Shortfall['reason'];
  /** Events for what this pass found (once, when it happens), besides the actions' own. */
  events?: FleetEvent[];
  /** Something is in flight that no store change may announce (a retire timeout): look again after. */
  recheckInMs?: number;
  /** Evictable Prods that were not evicted, and why (the controller records an Event). */
  evictionHeld?: { reason: EvictionHoldReason; prods: string[]; message: string };
  /** Prods on unreachable clusters waiting for their eviction timeout (Unknown). */
  unknown?: string[];
}
