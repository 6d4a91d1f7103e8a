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
 *
 * Heartbeats are judged by when they arrived here, on this process's clock (the first pass that sees a
 * new `lastHeartbeat` value stamps it), never by the timestamp the agent wrote: a value stored before this
 * control plane started says nothing about now, so after a start (or after taking the lead: the manager
 * builds a new instance, with an empty memory, for each leadership term) every cluster
 * gets one grace to send a fresh heartbeat before it can be called NotReady; meanwhile its stored phase
 * stands. The grace is extended by the time this process's event loop was stalled since the heartbeat
 * arrived (loop-lag.ts): a heartbeat is not late because the control plane was busy.
 */
import type { Prod } from '../api/kinds/prod.js';
import { whenChanged } from '../runtime/predicates.js';
import type { Reconciler, Result } from '../runtime/reconciler.js';
import { writeStatusIfChanged } from '../store/mutate.js';
import { heartbeatGraceMs, heartbeatVerdict } from './cluster-health.js';
import { clusterReasons, decideClusterStatus } from './cluster-status.js';
import { findCondition } from './conditions.js';
import { LoopLagMonitor, type StallClock } from './loop-lag.js';
import { reader } from './reads.js';

export { clusterReasons } from './cluster-status.js';

export interface ClusterControllerOptions {
  now?: () => number;
  resyncMs?: number;
  /** Event-loop stalls to forgive; default a LoopLagMonitor of this process, started on the first pass and stopped when its term ends. */
  stalls?: StallClock & { start?(): void; stop?(): void };
}

/** Prods that occupy a cluster: every Prod bound to it until it is Retired. */
export function occupiesCluster(p: Prod, cluster: string): boolean {
  return p.spec.cluster === cluster && p.status?.phase !== 'Retired';
}

export function clusterController(opts: ClusterControllerOptions = {}): Reconciler {
  const now = opts.now ?? Date.now;
  const stalls = opts.stalls ?? new LoopLagMonitor();
  /** When this instance began judging: its first pass (a control plane only reconciles while it leads). */
  let startedAtMs: number | undefined;
  /** Per cluster: the last heartbeat value seen and when it arrived here. */
  const arrivals = new Map<string, { value: string | undefined; atMs: number | undefined }>();
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
    async listKeys(ctx) {
      return (await reader(ctx).list('Cluster')).map((c) => c.metadata.name);
    },
    async reconcile(ctx, key): Promise<Result> {
      const read = reader(ctx);
      const cluster = await read.get('Cluster', key);
      if (!cluster) {
        arrivals.delete(key);
        return {};
      }
      const nowMs = now();
      if (startedAtMs === undefined) {
        startedAtMs = nowMs;
        stalls.start?.();
        // The manager builds a new controller for each leadership term: this one's monitor ends with it.
        if (ctx.signal.aborted) stalls.stop?.();
        else ctx.signal.addEventListener('abort', () => stalls.stop?.(), { once: true });
      }
      const beat = cluster.status?.lastHeartbeat;
      const seen = arrivals.get(key);
      let arrivedAtMs: number | undefined;
      if (seen === undefined) {
        // A value first read within the startup grace may have been stored before this control plane
        // started: it gets no arrival time (the next heartbeat will). Later, a first value is new.
        arrivedAtMs = beat !== undefined && nowMs >= startedAtMs + heartbeatGraceMs(cluster) ? nowMs : undefined;
        arrivals.set(key, { value: beat, atMs: arrivedAtMs });
      } else if (seen.value === beat) arrivedAtMs = seen.atMs;
      else {
        arrivedAtMs = beat === undefined ? undefined : nowMs;
        arrivals.set(key, { value: beat, atMs: arrivedAtMs });
      }
      const prev = cluster.status?.phase ?? 'Unknown';
      const verdict = heartbeatVerdict({
        lastHeartbeat: beat,
        arrivedAtMs,
        graceMs: heartbeatGraceMs(cluster),
        nowMs,
        startedAtMs,
        stalledMs: stalls.stalledSince(arrivedAtMs ?? startedAtMs),
        previous: prev,
      });
      const prods = (await read.list('Prod')).filter((p) => occupiesCluster(p, key)).length;
      const status = decideClusterStatus(cluster, verdict.phase, prods, nowMs);
      // On the copy read: when the agent wrote a heartbeat meanwhile, the conflict retries the pass.
      await writeStatusIfChanged(ctx.store, cluster, status);
      if (prev !== verdict.phase) {
        const message = findCondition(status.conditions, 'Ready')?.message ?? '';
        await ctx.recordEvent(cluster, verdict.phase === 'NotReady' ? 'Warning' : 'Normal', verdict.phase, message);
      }
      if (verdict.held !== undefined) {
        const why =
          verdict.held === 'StartupGrace'
            ? 'the control plane just started: waiting one grace for a fresh heartbeat before judging'
            : 'the control plane was busy (event loop stalled): heartbeat grace extended by the stall';
        await ctx.recordEvent(cluster, 'Normal', clusterReasons.VerdictHeld, `${verdict.held}: ${why}`);
      }
      return verdict.recheckInMs !== undefined ? { requeueAfterMs: verdict.recheckInMs } : {};
    },
  };
}
