/**
 * Cluster controller: a cluster's phase from its agent's heartbeats.
 *
 * Split of ownership of Cluster.status: the agent writes `lastHeartbeat` (and agent, nodes,
 * serverVersion, message); this controller writes `phase`, `prods` and `conditions`. Both read, modify
 * and write status with the resourceVersion they read (compare-and-swap), so neither loses the other's
 * fields.
 *
 * While Ready, the pass asks to be called again just after the grace runs out, so that a cluster whose
 * agent died turns NotReady within the grace with no further write to the store.
 */
import type { Cluster, ClusterStatus } from '../api/kinds/cluster.js';
import type { Prod } from '../api/kinds/prod.js';
import type { Reconciler, Result } from '../runtime/reconciler.js';
import { whenChanged } from '../runtime/predicates.js';
import { heartbeatGraceMs, heartbeatVerdict, unschedulableReason, type ClusterPhase } from './cluster-health.js';
import { findCondition, setCondition } from './conditions.js';
import { canonicalJson } from '../store/object-semantics.js';

export const clusterReasons = {
  HeartbeatFresh: 'HeartbeatFresh',
  HeartbeatMissed: 'HeartbeatMissed',
  NoHeartbeat: 'NoHeartbeat',
  Schedulable: 'Schedulable',
  AtCapacity: 'AtCapacity',
} as const;

export interface ClusterControllerOptions {
  now?: () => number;
  resyncMs?: number;
}

/** Prods that occupy a cluster: every Prod bound to it until it is Retired. */
export function occupiesCluster(p: Prod, cluster: string): boolean {
  return p.spec.cluster === cluster && p.status?.phase !== 'Retired';
}

export function createClusterController(opts: ClusterControllerOptions = {}): Reconciler {
  const now = opts.now ?? Date.now;
  return {
    name: 'cluster',
    resyncMs: opts.resyncMs ?? 30_000,
    watches: [
      { kind: 'Cluster' },
      // The Prod count changes when a Prod is bound, retired or deleted: not on every status write.
      {
        kind: 'Prod',
        mapToKeys: whenChanged(
          (o) => `${(o as Prod).spec.cluster}/${(o as Prod).status?.phase === 'Retired'}`,
          (o) => [(o as Prod).spec.cluster],
        ),
      },
    ],
    async listKeys({ store }) {
      return (await store.list<Cluster>('Cluster')).items.map((c) => c.metadata.name);
    },
    async reconcile(ctx, key): Promise<Result> {
      const { store } = ctx;
      const cluster = await store.get<Cluster>('Cluster', key);
      if (!cluster) return {};
      const nowMs = now();
      const verdict = heartbeatVerdict(cluster.status?.lastHeartbeat, heartbeatGraceMs(cluster), nowMs);
      const prods = (await store.list<Prod>('Prod')).items.filter((p) => occupiesCluster(p, key)).length;
      const prev = cluster.status?.phase ?? 'Unknown';
      const nowIso = new Date(nowMs).toISOString();
      const capacity = cluster.spec.capacity?.prods ?? 10;

      let conditions = setCondition(cluster.status?.conditions, readyCondition(verdict.phase, cluster), nowIso, cluster.metadata.generation);
      const blocked = unschedulableReason({ ...cluster, status: { ...(cluster.status ?? emptyStatus()), phase: verdict.phase } });
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
      const status: ClusterStatus = {
        ...(cluster.status ?? emptyStatus()),
        phase: verdict.phase,
        prods,
        conditions,
        ...(cluster.metadata.generation !== undefined ? { observedGeneration: cluster.metadata.generation } : {}),
      };
      if (canonicalJson(status) !== canonicalJson(cluster.status ?? null)) {
        await store.updateStatus<Cluster>({ ...cluster, status });
      }
      if (prev !== verdict.phase) {
        const message = findCondition(conditions, 'Ready')?.message ?? '';
        await ctx.recordEvent(cluster, verdict.phase === 'NotReady' ? 'Warning' : 'Normal', verdict.phase, message);
      }
      return verdict.recheckInMs !== undefined ? { requeueAfterMs: verdict.recheckInMs } : {};
    },
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
        message: `no agent heartbeat for more than ${grace} ms (last ${c.status?.lastHeartbeat ?? 'never'}); its Prods are replaced elsewhere`,
      };
    case 'Unknown':
      return { type: 'Ready', status: 'Unknown' as const, reason: clusterReasons.NoHeartbeat, message: 'no agent heartbeat yet' };
  }
}

