/**
 * What the control plane concludes about a cluster, as pure functions shared by the cluster, fleet and
 * prod controllers.
 */
import type { Cluster } from '../api/kinds/cluster.js';

export const defaultHeartbeatGraceMs = 3000;

export type ClusterPhase = NonNullable<Cluster['status']>['phase'];

export interface HeartbeatVerdict {
  phase: ClusterPhase;
  /** For a Ready cluster: when to look again so that a missed heartbeat is noticed within the grace. */
  recheckInMs?: number;
}

/** Ready while the last heartbeat is within the grace, NotReady after, Unknown if there never was one. */
export function heartbeatVerdict(lastHeartbeat: string | undefined, graceMs: number, nowMs: number): HeartbeatVerdict {
  if (lastHeartbeat === undefined) return { phase: 'Unknown' };
  const at = Date.parse(lastHeartbeat);
  if (Number.isNaN(at)) return { phase: 'Unknown' };
  const left = at + graceMs - nowMs;
  if (left <= 0) return { phase: 'NotReady' };
  return { phase: 'Ready', recheckInMs: left + 1 };
}

/** The heartbeat grace of a cluster (schema default 3000 ms, also when a stored object lacks it). */
export function heartbeatGraceMs(c: Cluster): number {
  return c.spec.heartbeatGraceMs ?? defaultHeartbeatGraceMs;
}

/** A cluster that is gone or NotReady has lost its Prods: they are replaced, not repaired. */
export function clusterIsDead(c: Cluster | undefined): boolean {
  return c === undefined || c.metadata.deletionTimestamp !== undefined || c.status?.phase === 'NotReady';
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
