/**
 * The cluster controller's decision as a pure function: the Cluster's status (phase, Prod count, Ready
 * and Schedulable conditions) from the heartbeat verdict and the Prods on it. Fields the agent owns
 * (lastHeartbeat, agent, nodes, serverVersion, message) are kept as they are.
 */
import type { Cluster, ClusterStatus } from '../api/kinds/cluster.js';
import { heartbeatGraceMs, unschedulableReason, type ClusterPhase } from './cluster-health.js';
import { setCondition } from './conditions.js';

export const clusterReasons = {
  HeartbeatFresh: 'HeartbeatFresh',
  HeartbeatMissed: 'HeartbeatMissed',
  NoHeartbeat: 'NoHeartbeat',
  /** A NotReady verdict held back (startup grace, event-loop lag); recorded as an Event. */
  VerdictHeld: 'VerdictHeld',
  Schedulable: 'Schedulable',
  AtCapacity: 'AtCapacity',
} as const;

/** The status the controller wants for `cluster`, now in `phase` with `prods` Prods occupying it. */
export function decideClusterStatus(cluster: Cluster, phase: ClusterPhase, prods: number, nowMs: number): ClusterStatus {
  const nowIso = new Date(nowMs).toISOString();
  const capacity = cluster.spec.capacity?.prods ?? 10;
  let conditions = setCondition(cluster.status?.conditions, readyCondition(phase, cluster), nowIso, cluster.metadata.generation);
  const blocked = unschedulableReason({ ...cluster, status: { ...(cluster.status ?? emptyStatus()), phase } });
  conditions = setCondition(
    conditions,
    blocked
      ? { type: 'Schedulable', status: 'False', reason: blocked, message: `no new Prods: cluster is ${blocked}` }
      : prods >= capacity
        ? { type: 'Schedulable', status: 'False', reason: clusterReasons.AtCapacity, message: `${prods} of ${capacity} Prods` }
        : { type: 'Schedulable', status: 'True', reason: clusterReasons.Schedulable, message: `${prods} of ${capacity} Prods` },
    nowIso,
    cluster.metadata.generation,
  );
  return {
    ...(cluster.status ?? emptyStatus()),
    phase,
    prods,
    conditions,
    ...(cluster.metadata.generation !== undefined ? { observedGeneration: cluster.metadata.generation } : {}),
  };
}

function emptyStatus(): ClusterStatus {
  return { phase: 'Unknown', prods: 0, conditions: [] };
}

function readyCondition(phase: ClusterPhase, c: Cluster) {
  const grace = heartbeatGraceMs(c);
  switch (phase) {
    case 'Ready':
      return { type: 'Ready', status: 'True' as const, reason: clusterReasons.HeartbeatFresh, message: `agent heartbeat within ${grace} ms` };
    case 'NotReady':
      return {
        type: 'Ready',
        status: 'False' as const,
        reason: clusterReasons.HeartbeatMissed,
        message: `no agent heartbeat for more than ${grace} ms (last ${c.status?.lastHeartbeat ?? 'never'}); traffic moves off, its Prods are Unknown and are replaced only after the eviction timeout`,
      };
    case 'Unknown':
      return { type: 'Ready', status: 'Unknown' as const, reason: clusterReasons.NoHeartbeat, message: 'no agent heartbeat yet' };
  }
}
