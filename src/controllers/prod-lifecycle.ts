/**
 * The control plane's view of a Prod's phase machine, as a pure function:
 *
 *   Pending → Provisioning → WarmingUp → Ready → Draining → Retired        (and Failed)
 *
 * Who moves a Prod between phases:
 * - the cluster's agent owns every phase it observes on its workload: Provisioning, WarmingUp, Ready,
 *   Failed (the workload cannot run), Retired (stopped after retire); it also writes endpoint, version,
 *   readySince, restarts, message, warmupPassed;
 * - the control plane (this function, via the prod controller) owns what only it can decide:
 *   Ready → Draining when `spec.retire` is set (the agent then stops the workload after its drain
 *   period and reports Retired), and Failed for a Prod whose cluster is gone (deleted or being deleted:
 *   lost, the fleet controller replaces it, nobody repairs it).
 * A Prod whose cluster is NotReady is *Unknown*, not lost: its phase stays as the agent last reported it,
 * and its `Ready` condition turns Unknown with `ClusterReady` Unknown (reason `ClusterUnreachable`). Traffic
 * already avoids it (scheduler and traffic plan skip NotReady clusters); the fleet controller replaces it
 * only after the cluster's eviction timeout or on positive evidence (cluster-health.ts).
 * The agent must not move a retiring Prod back from Draining to Ready.
 *
 * Every phase change is announced once: the `Ready` condition's reason records the last phase
 * announced, so an event (reason = the new phase) is written exactly when the phase differs from it.
 */
import type { Cluster } from '../api/kinds/cluster.js';
import type { Prod, ProdPhase } from '../api/kinds/prod.js';
import type { EventType } from '../runtime/events.js';
import { clusterIsGone } from './cluster-health.js';
import { findCondition, setCondition } from './conditions.js';

export type ProdStatus = NonNullable<Prod['status']>;

export const prodEventReasons = { ClusterNotReady: 'ClusterNotReady', ClusterUnreachable: 'ClusterUnreachable' } as const;

export interface ProdEvent {
  type: EventType;
  reason: ProdPhase | (typeof prodEventReasons)[keyof typeof prodEventReasons];
  message: string;
}

export interface ProdDecision {
  status: ProdStatus;
  events: ProdEvent[];
}

const endPhases: readonly ProdPhase[] = ['Retired', 'Failed'];

export function decideProd(prod: Prod, cluster: Cluster | undefined, nowMs: number): ProdDecision {
  const now = new Date(nowMs).toISOString();
  const prev: ProdStatus = prod.status ?? { phase: 'Pending', restarts: 0, warmupPassed: 0, conditions: [] };
  const clusterName = prod.spec.cluster;
  const dead = clusterIsGone(cluster);
  const unreachable = !dead && cluster?.status?.phase === 'NotReady';
  const clusterState = cluster === undefined ? 'gone' : cluster.metadata.deletionTimestamp !== undefined ? 'being deleted' : (cluster.status?.phase ?? 'Unknown');

  let phase = prev.phase;
  let message = prev.message;
  if (dead && !endPhases.includes(phase)) {
    phase = 'Failed';
    message = `cluster ${clusterName} is ${clusterState}: Prod lost (it is replaced, not repaired)`;
  } else if (prod.spec.retire && phase === 'Ready') {
    phase = 'Draining';
    message = 'retiring: no new requests; the agent stops the workload after its drain period';
  }

  const events: ProdEvent[] = [];
  const announced = findCondition(prev.conditions, 'Ready')?.reason;
  if (announced !== phase) {
    events.push({ type: phase === 'Failed' ? 'Warning' : 'Normal', reason: phase, message: phaseMessage(prod, phase, message) });
  }
  const clusterReady = findCondition(prev.conditions, 'ClusterReady');
  if (dead && clusterReady?.status !== 'False') {
    events.push({ type: 'Warning', reason: prodEventReasons.ClusterNotReady, message: `cluster ${clusterName} is ${clusterState}` });
  }
  if (unreachable && clusterReady?.reason !== prodEventReasons.ClusterUnreachable) {
    events.push({ type: 'Warning', reason: prodEventReasons.ClusterUnreachable, message: unreachableMessage(clusterName) });
  }

  let conditions = setCondition(
    prev.conditions,
    {
      type: 'Ready',
      status: unreachable ? 'Unknown' : phase === 'Ready' && !dead ? 'True' : 'False',
      reason: phase,
      message: unreachable ? unreachableMessage(clusterName) : (message ?? ''),
    },
    now,
  );
  conditions = setCondition(
    conditions,
    dead
      ? { type: 'ClusterReady', status: 'False', reason: cluster === undefined ? 'ClusterGone' : 'ClusterDeleting', message: `cluster ${clusterName} is ${clusterState}` }
      : unreachable
        ? { type: 'ClusterReady', status: 'Unknown', reason: prodEventReasons.ClusterUnreachable, message: unreachableMessage(clusterName) }
        : cluster?.status?.phase === 'Ready'
          ? { type: 'ClusterReady', status: 'True', reason: 'ClusterReady', message: '' }
          : { type: 'ClusterReady', status: 'Unknown', reason: 'ClusterUnknown', message: `cluster ${clusterName} has not sent a heartbeat yet` },
    now,
  );
  const status: ProdStatus = { ...prev, phase, conditions };
  if (message !== undefined) status.message = message;
  return { status, events };
}

function unreachableMessage(cluster: string): string {
  return `cluster ${cluster} is NotReady: this Prod's state is unknown; traffic avoids it, and it is replaced only after the cluster's eviction timeout`;
}

function phaseMessage(prod: Prod, phase: ProdPhase, message: string | undefined): string {
  switch (phase) {
    case 'Pending':
      return `waiting for cluster ${prod.spec.cluster} to start version ${prod.spec.version}`;
    case 'Ready':
      return `serving at ${prod.status?.endpoint ?? '?'} (version ${prod.status?.version ?? prod.spec.version})`;
    default:
      return message ?? `Prod is ${phase}`;
  }
}
