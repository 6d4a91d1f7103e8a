/**
 * What the control plane concludes about a cluster, as pure functions shared by the cluster, fleet and
 * prod controllers.
 *
 * Unreachable is not gone. A cluster whose heartbeats stop is NotReady: traffic leaves it at once (the
 * scheduler and the traffic plan skip it), its Prods are Unknown, and nothing is destroyed until its
 * eviction timeout passes or there is positive evidence (the Cluster object is deleted, or the agent
 * reports the Prod Failed). A cluster that is deleted (or being deleted) is gone: its Prods are replaced.
 */
import type { Cluster } from '../api/kinds/cluster.js';
import { findCondition } from './conditions.js';

export const defaultHeartbeatGraceMs = 3000;
/** As Kubernetes' node lifecycle controller (pod eviction after 5 minutes NotReady). */
export const defaultEvictionTimeoutMs = 5 * 60_000;
/** More than this fraction of the clusters NotReady at once is a large disruption: no evictions. */
export const defaultLargeDisruptionFraction = 0.5;

export type ClusterPhase = NonNullable<Cluster['status']>['phase'];

/** Why a verdict was held back instead of calling a cluster NotReady. */
export type VerdictHold = 'StartupGrace' | 'LoopLag';

export interface HeartbeatVerdict {
  phase: ClusterPhase;
  /** When to look again: a Ready cluster's heartbeat runs out, or a held verdict may be given. */
  recheckInMs?: number;
  /** Set when the heartbeat is overdue but the verdict NotReady is held back (the phase stays as it was). */
  held?: VerdictHold;
}

export interface HeartbeatInput {
  /** The heartbeat as stored (its value only tells one heartbeat from the next; its clock is not ours). */
  lastHeartbeat: string | undefined;
  /**
   * When this control plane first saw this `lastHeartbeat` value (its own clock). Undefined when the value
   * was already stored when it began judging: a heartbeat from before a restart says nothing about now.
   */
  arrivedAtMs: number | undefined;
  graceMs: number;
  nowMs: number;
  /** When this control plane began judging (its first pass after start or after it took the lead). */
  startedAtMs: number;
  /**
   * How long this control plane's event loop was stalled since the heartbeat arrived (or since it
   * started): time in which a heartbeat may have waited unread. A heartbeat is not late because we were busy.
   */
  stalledMs: number;
  /** The phase as stored: kept while a verdict is held. */
  previous: ClusterPhase;
}

/**
 * Ready while the last heartbeat arrived within the grace (extended by the time the control plane was
 * stalled), NotReady after, Unknown if there never was one. After a start, a heartbeat stored before it
 * is given one grace to be followed by a fresh one; meanwhile the stored phase stands.
 */
export function heartbeatVerdict(h: HeartbeatInput): HeartbeatVerdict {
  if (h.lastHeartbeat === undefined || Number.isNaN(Date.parse(h.lastHeartbeat))) return { phase: 'Unknown' };
  if (h.arrivedAtMs === undefined) {
    const left = h.startedAtMs + h.graceMs + h.stalledMs - h.nowMs;
    if (left > 0) return { phase: h.previous, recheckInMs: left + 1, held: 'StartupGrace' };
    return { phase: 'NotReady' };
  }
  const deadline = h.arrivedAtMs + h.graceMs;
  if (deadline > h.nowMs) return { phase: 'Ready', recheckInMs: deadline - h.nowMs + 1 };
  const extended = deadline + h.stalledMs;
  if (extended > h.nowMs) return { phase: h.previous === 'NotReady' ? 'NotReady' : 'Ready', recheckInMs: extended - h.nowMs + 1, held: 'LoopLag' };
  return { phase: 'NotReady' };
}

/** The heartbeat grace of a cluster (schema default 3000 ms, also when a stored object lacks it). */
export function heartbeatGraceMs(c: Cluster): number {
  return c.spec.heartbeatGraceMs ?? defaultHeartbeatGraceMs;
}

export function evictionTimeoutMs(c: Cluster, fallbackMs: number = defaultEvictionTimeoutMs): number {
  return c.spec.evictionTimeoutMs ?? fallbackMs;
}

/** A cluster that does not exist or is being deleted: positive evidence that its Prods are lost. */
export function clusterIsGone(c: Cluster | undefined): boolean {
  return c === undefined || c.metadata.deletionTimestamp !== undefined;
}

/** Gone, or NotReady: nobody can stop its Prods (a retiring Prod there need not wait for Retired). */
export function clusterIsDead(c: Cluster | undefined): boolean {
  return clusterIsGone(c) || c?.status?.phase === 'NotReady';
}

export type ClusterLiveness =
  | { state: 'up' }
  | { state: 'gone' }
  /** NotReady since `sinceMs`; its Prods may be evicted from `evictAtMs` on. */
  | { state: 'unreachable'; sinceMs: number; evictAtMs: number };

/**
 * Up, unreachable (NotReady, with when its Prods may be evicted) or gone. "Since" is when the Ready
 * condition turned False, which the cluster controller stamps; a cluster without it counts from now.
 */
export function clusterLiveness(c: Cluster | undefined, nowMs: number, fallbackEvictionMs: number = defaultEvictionTimeoutMs): ClusterLiveness {
  if (clusterIsGone(c) || c === undefined) return { state: 'gone' };
  if (c.status?.phase !== 'NotReady') return { state: 'up' };
  const cond = findCondition(c.status.conditions, 'Ready');
  const since = cond?.status === 'False' ? Date.parse(cond.lastTransitionTime ?? '') : NaN;
  const sinceMs = Number.isNaN(since) ? nowMs : since;
  return { state: 'unreachable', sinceMs, evictAtMs: sinceMs + evictionTimeoutMs(c, fallbackEvictionMs) };
}

export interface Disruption {
  notReady: number;
  /** Clusters that have ever sent a heartbeat and are not being deleted. */
  known: number;
  large: boolean;
}

/**
 * More than `fraction` of the known clusters NotReady at once: the control plane (its network, its
 * clock, its load) is the likelier fault, so nothing is evicted — as Kubernetes' node lifecycle
 * controller stops evicting in a full disruption.
 */
export function disruption(clusters: readonly Cluster[], fraction: number = defaultLargeDisruptionFraction): Disruption {
  let notReady = 0;
  let known = 0;
  for (const c of clusters) {
    if (c.metadata.deletionTimestamp !== undefined) continue;
    const phase = c.status?.phase ?? 'Unknown';
    if (phase === 'Unknown') continue;
    known++;
    if (phase === 'NotReady') notReady++;
  }
  return { notReady, known, large: known > 1 && notReady > fraction * known };
}

/** Why a cluster takes no new Prods, or undefined when it does (capacity is checked by placement). */
export function unschedulableReason(c: Cluster): 'NotReady' | 'Unknown' | 'Cordoned' | 'Draining' | 'Deleting' | 'NoReadyNodes' | undefined {
  if (c.metadata.deletionTimestamp !== undefined) return 'Deleting';
  if (c.spec.draining) return 'Draining';
  if (c.spec.cordoned) return 'Cordoned';
  const phase = c.status?.phase ?? 'Unknown';
  if (phase !== 'Ready') return phase;
  // A Kubernetes cluster whose agent answers but which has no Ready node cannot start a pod: placing a Prod
  // there only parks it in Provisioning until its rollout deadline.
  if (c.status?.nodes !== undefined && c.status.nodes.ready === 0) return 'NoReadyNodes';
  return undefined;
}
