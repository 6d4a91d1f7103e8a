/**
 * The release controller's decision as data: what `decideRelease` (release-decide.ts) observes, the
 * decisions it records, and the writes it asks for; and the successor a release creates for one Prod.
 */
import type { z } from 'zod';
import type { Cluster } from '../api/kinds/cluster.js';
import type { Fleet } from '../api/kinds/fleet.js';
import type { Prod } from '../api/kinds/prod.js';
import type { Release, ReleaseStatus } from '../api/kinds/release.js';
import type { Tenant } from '../api/kinds/tenant.js';
import type { TrafficPlan } from '../api/kinds/traffic-plan.js';
import { LABEL_RELEASE } from '../api/labels.js';
import type { GateVerdict } from '../release/gates/index.js';
import type { ProbeRequest } from '../release/probes.js';
import { buildSuccessor, successorName } from '../release/successor.js';

export const ReleaseDecision = [
  'Planned',
  'Waiting',
  'WaveStarted',
  'WaveSkipped',
  'Swapped',
  'GatesPassed',
  'GatesFailed',
  'RolledBack',
  'Inconclusive',
  'Paused',
  'Resumed',
  'Aborted',
  'Promoted',
  'Succeeded',
  'FleetDeleted',
  'ActionIgnored',
] as const;
export type ReleaseDecision = (typeof ReleaseDecision)[number];
export const warningDecisions: ReadonlySet<ReleaseDecision> = new Set(['GatesFailed', 'RolledBack', 'Inconclusive', 'Aborted', 'FleetDeleted', 'ActionIgnored']);

export type Status = z.infer<typeof ReleaseStatus>;
export type Wave = Status['waves'][number];

export interface ReleaseObservation {
  release: Release;
  /** Undefined once the Fleet is deleted. */
  fleet: Fleet | undefined;
  /** Prods of the release's fleet. */
  prods: readonly Prod[];
  /** Every Prod (all fleets), for cluster occupancy when placing successors; default `prods`. */
  allProds?: readonly Prod[];
  /** Clusters, for placing successors within capacity. */
  clusters?: readonly Cluster[];
  /** Tenants of the release's fleet. */
  tenants: readonly Tenant[];
  /** Names of the other active Releases of the same fleet. */
  otherActive: readonly string[];
  /** TrafficPlans of the fleet: the bake starts once every one routes to the successors. */
  plans: readonly TrafficPlan[];
  /** The gates' verdict for the wave in Baking, when the controller ran them for this pass. */
  verdict?: GateVerdict;
  /** How long the probes of the current wave have run as wanted, undefined when none run. */
  probeCoverageMs?: number | undefined;
  /** The fewest probes any reachable new Prod of the wave has had so far (undefined: none reachable). */
  probeFewest?: number | undefined;
  nowMs: number;
  /** How long a wave may wait for its successors to serve before it fails. */
  progressDeadlineMs: number;
  /** Requeue delay while waiting on other components. */
  pollMs: number;
}

export type ReleaseWrite =
  | { write: 'createSuccessor'; prod: Prod }
  | { write: 'takeover'; prod: string }
  | { write: 'retire'; prod: string }
  /** takeover off and retire, in one write: the predecessor's tenants are back at once. */
  | { write: 'revert'; prod: string }
  | { write: 'fleetVersion'; fleet: string; version: string }
  /** Release spec: paused = true (an inconclusive gate). */
  | { write: 'pause' }
  /** Release spec: the one-shot action handled (and paused cleared, for promote). */
  | { write: 'clearAction'; unpause: boolean };

export interface GateRequest {
  wave: string[];
  baseline: string[];
  windowMs: number;
}

export interface ReleaseOutcome {
  status: Status;
  writes: ReleaseWrite[];
  /** Decisions made in this call (also appended to status.decisions), for Events. */
  decisions: { action: ReleaseDecision; reason: string }[];
  requeueAfterMs?: number;
  /** Gates are due and no verdict was given: run them, then decide again with `verdict`. */
  runGates?: GateRequest;
  /** The probes that should run now (undefined: none). */
  probes?: ProbeRequest;
}

/**
 * The successor a release creates for one Prod: new version and the release's env, same cluster and
 * role, a deterministic name (a retry never makes two). The Fleet is at hand for whatever else a successor
 * must carry from it.
 */
export function releaseSuccessor(rel: Release, pred: Prod, fleet?: Fleet, cluster?: string): Prod {
  return buildSuccessor(pred, {
    name: successorName(pred, rel.spec.version, `${rel.metadata.name}/${rel.metadata.uid ?? ''}`),
    version: rel.spec.version,
    env: rel.spec.env,
    ...(cluster !== undefined ? { cluster } : {}),
    // The Fleet's current template: a template change made before or during the release rides along.
    ...(fleet ? { app: fleet.spec.app } : {}),
    labels: { [LABEL_RELEASE]: rel.metadata.name },
  });
}
