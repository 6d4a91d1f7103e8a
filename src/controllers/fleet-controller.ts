/**
 * Fleet controller: keeps `spec.prods` Prods per Fleet as cattle. The decisions live in fleet-plan.ts
 * (pure); this file reads the observed state, executes the plan's actions and writes Fleet.status.
 *
 * Prods it creates are named `<fleet>-<5 random [a-z0-9]>`, labelled `drover.dev/fleet`, and owned by
 * the Fleet (ownerReferences with the Fleet's uid, controller: true). Retiring a Prod sets
 * `spec.retire=true` with the annotations `drover.dev/retire-requested-at` and `drover.dev/retire-reason`.
 *
 * Evictions (Prods of a NotReady cluster replaced after its eviction timeout, fleet-plan.ts rule 2) are
 * rate-limited per fleet by a sliding one-minute window kept here (in memory: a restart forgets it, as
 * it also waits a startup grace before evicting anything). Default: max(1, 20 % of `spec.prods`) per
 * minute — one failure domain's share of a fleet spread over three or more domains is replaced within
 * two minutes of its timeout, while a wrong verdict can cost at most a fifth of the fleet per minute.
 */
import { randomBytes } from 'node:crypto';
import type { Cluster } from '../api/kinds/cluster.js';
import type { Fleet } from '../api/kinds/fleet.js';
import type { Prod } from '../api/kinds/prod.js';
import { isReleaseActive, type Release } from '../api/kinds/release.js';
import { ANNOTATION_EVACUATION_BLOCKED, ANNOTATION_RETIRE_REASON, ANNOTATION_RETIRE_REQUESTED_AT, LABEL_FLEET } from '../api/labels.js';
import { API_VERSION } from '../api/meta.js';
import type { AnyResource } from '../api/resource.js';
import { isDroverError } from '../errors.js';
import { whenChanged } from '../runtime/predicates.js';
import type { ReconcileContext, Reconciler, Result } from '../runtime/reconciler.js';
import { mutate, writeStatusIfChanged } from '../store/mutate.js';
import { canonicalJson } from '../store/object-semantics.js';
import { defaultEvictionTimeoutMs, heartbeatGraceMs } from './cluster-health.js';
import { planFleet, type FleetAction } from './fleet-plan.js';
import { OwnWrites } from './own-writes.js';
import { reader } from './reads.js';
import { allFleets, fleetOf } from './watch-maps.js';

export interface FleetControllerOptions {
  now?: () => number;
  resyncMs?: number;
  /** Delete a retiring Prod whose agent never reports Retired after this long. Default 60 s. */
  retireTimeoutMs?: number;
  /** How long to wait before trying again to place a Prod no cluster could take. Default 5 s. */
  unplaceableRetryMs?: number;
  /** A rollout successor not Ready this long after its creation stops the rollout. Default 5 min. */
  rolloutDeadlineMs?: number;
  /** NotReady this long before a cluster's Prods are evicted (clusters without their own). Default 5 min. */
  evictionTimeoutMs?: number;
  /** Evictions per fleet per minute, as a percentage of `spec.prods` (at least one). Default 20. */
  evictionPercentPerMinute?: number;
  /** No eviction this long after the first pass. Default: twice the longest heartbeat grace. */
  startupHoldMs?: number;
}

export const fleetEventReasons = {
  ProdCreated: 'ProdCreated',
  ProdRetiring: 'ProdRetiring',
  ProdDeleted: 'ProdDeleted',
  Takeover: 'Takeover',
  Unplaceable: 'Unplaceable',
  InsufficientCapacity: 'InsufficientCapacity',
  RolloutStalled: 'RolloutStalled',
  EvictionHeld: 'EvictionHeld',
  ProdsUnknown: 'ProdsUnknown',
  EvacuationBlocked: 'EvacuationBlocked',
} as const;

const EVICTION_WINDOW_MS = 60_000;

export function newProdName(fleet: string): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const suffix = [...randomBytes(5)].map((b) => alphabet[b % alphabet.length]).join('');
  return `${fleet.slice(0, 57).replace(/-+$/, '')}-${suffix}`;
}

/** Prods and Fleets this controller wrote, until its cache shows them (it would count a new Prod as missing). */
interface Written {
  prods: OwnWrites<Prod>;
  fleets: OwnWrites<Fleet>;
}

export function fleetController(opts: FleetControllerOptions = {}): Reconciler {
  const now = opts.now ?? Date.now;
  const retireTimeoutMs = opts.retireTimeoutMs ?? 60_000;
  const unplaceableRetryMs = opts.unplaceableRetryMs ?? 5_000;
  const evictionTimeoutMs = opts.evictionTimeoutMs ?? defaultEvictionTimeoutMs;
  const evictionPercent = opts.evictionPercentPerMinute ?? 20;
  /** Per fleet: when its recent evictions happened (this process's clock). */
  const evictedAt = new Map<string, number[]>();
  let startedAtMs: number | undefined;
  const written: Written = { prods: new OwnWrites(), fleets: new OwnWrites() };

  return {
    name: 'fleet',
    resyncMs: opts.resyncMs ?? 30_000,
    watches: [
      { kind: 'Fleet' },
      {
        kind: 'Prod',
        mapToKeys: whenChanged((o) => {
          const p = o as Prod;
          return canonicalJson([p.spec.cluster, p.spec.version, p.spec.template?.hash, p.spec.retire, p.spec.takeover, p.spec.replaces, p.status?.phase, p.status?.version]);
        }, fleetOf),
      },
      {
        kind: 'Cluster',
        mapToKeys: whenChanged((o) => {
          const c = o as Cluster;
          return canonicalJson([c.status?.phase, c.status?.prods, c.spec, c.metadata.labels, c.metadata.deletionTimestamp]);
        }, allFleets),
      },
      { kind: 'Release', mapToKeys: whenChanged((o) => (o as Release).status?.phase ?? 'Pending', fleetOf) },
    ],
    async listKeys(ctx) {
      const read = reader(ctx);
      const names = new Set((await read.list('Fleet')).map((f) => f.metadata.name));
      for (const p of await read.list('Prod')) names.add(p.spec.fleet);
      return [...names];
    },
    async reconcile(ctx, key): Promise<Result> {
      const { store } = ctx;
      const read = reader(ctx);
      const [cachedFleet, clusters, cachedProds, releases] = await Promise.all([read.get('Fleet', key), read.list('Cluster'), read.list('Prod'), read.list('Release')]);
      const fleet = written.fleets.current(key, cachedFleet);
      const prods = written.prods.overlay(cachedProds);
      const nowMs = now();
      // Capacity counts every Prod on a cluster, whatever its fleet, from the list itself: the cluster's
      // status.prods lags the Prods this controller just created.
      const otherFleetsOnCluster = new Map<string, number>();
      for (const p of prods) {
        if (p.spec.fleet !== key && p.status?.phase !== 'Retired') otherFleetsOnCluster.set(p.spec.cluster, (otherFleetsOnCluster.get(p.spec.cluster) ?? 0) + 1);
      }
      startedAtMs ??= nowMs;
      // The hold covers the clusters whose Prods could be evicted (the NotReady ones): one cluster with a long
      // grace must not keep a lost cluster's Prods from being replaced for twice that long.
      const holdMs = opts.startupHoldMs ?? 2 * Math.max(0, ...clusters.filter((c) => c.status?.phase === 'NotReady').map(heartbeatGraceMs));
      const recent = (evictedAt.get(key) ?? []).filter((t) => t > nowMs - EVICTION_WINDOW_MS);
      const limit = Math.max(1, Math.ceil(((fleet?.spec.prods ?? 0) * evictionPercent) / 100));
      const oldest = recent[0];
      const plan = planFleet({
        fleetName: key,
        fleet,
        clusters,
        prods: prods.filter((p) => p.spec.fleet === key),
        releaseActive: releases.some((r) => r.spec.fleet === key && isReleaseActive(r)),
        nowMs,
        retireTimeoutMs,
        otherFleetsOnCluster,
        ...(opts.rolloutDeadlineMs !== undefined ? { rolloutDeadlineMs: opts.rolloutDeadlineMs } : {}),
        eviction: {
          timeoutMs: evictionTimeoutMs,
          budget: Math.max(0, limit - recent.length),
          ...(oldest !== undefined ? { budgetRefillInMs: oldest + EVICTION_WINDOW_MS - nowMs + 1 } : {}),
          ...(nowMs < startedAtMs + holdMs ? { hold: 'StartupGrace' as const } : {}),
        },
      });
      for (const a of plan.actions) {
        if (a.action === 'delete' && a.reason === 'Evicted') recent.push(nowMs);
        await execute(ctx, written, fleet, a, nowMs);
      }
      if (recent.length > 0) evictedAt.set(key, recent);
      else evictedAt.delete(key);
      if (fleet && plan.evictionHeld) {
        const h = plan.evictionHeld;
        await ctx.recordEvent(fleet, 'Warning', fleetEventReasons.EvictionHeld, `${h.reason}: not evicting ${h.prods.join(', ')}: ${h.message}`);
      }
      if (fleet && plan.unknown) {
        await ctx.recordEvent(
          fleet,
          'Warning',
          fleetEventReasons.ProdsUnknown,
          `Prods ${plan.unknown.join(', ')} are on NotReady clusters: traffic avoids them; they are replaced only after the eviction timeout`,
        );
      }
      if (fleet && plan.status) written.fleets.updated(await writeStatusIfChanged(store, fleet, plan.status));
      if (fleet && plan.unplaceable !== undefined) {
        const reason = plan.unplaceableReason === 'InsufficientCapacity' ? fleetEventReasons.InsufficientCapacity : fleetEventReasons.Unplaceable;
        await ctx.recordEvent(fleet, 'Warning', reason, plan.unplaceable);
      }
      for (const e of plan.events ?? []) if (fleet) await ctx.recordEvent(fleet, e.type, fleetEventReasons[e.reason], e.message);
      const holdLeft = startedAtMs + holdMs - nowMs;
      const waits = [
        plan.recheckInMs,
        plan.unplaceable !== undefined ? unplaceableRetryMs : undefined,
        plan.evictionHeld?.reason === 'StartupGrace' && holdLeft > 0 ? holdLeft + 1 : undefined,
      ].filter((x): x is number => x !== undefined);
      return waits.length > 0 ? { requeueAfterMs: Math.min(...waits) } : {};
    },
  };
}

async function execute(ctx: ReconcileContext, written: Written, fleet: Fleet | undefined, a: FleetAction, nowMs: number): Promise<void> {
  const { store } = ctx;
  const wrote = (p: Prod | undefined) => p && written.prods.updated(p);
  const about: AnyResource | undefined = fleet;
  switch (a.action) {
    case 'create': {
      if (!fleet) return;
      const created = await createProd(ctx, fleet, a);
      written.prods.created(created);
      const what = a.replaces ? `to replace ${a.replaces} at version ${a.version}, template ${a.template.hash}` : `(${a.reason}, template ${a.template.hash})`;
      await ctx.recordEvent(fleet, 'Normal', fleetEventReasons.ProdCreated, `created ${a.role} Prod ${created.metadata.name} on cluster ${a.cluster} ${what}`);
      return;
    }
    case 'retire': {
      const p = a.prod;
      if (p.spec.retire) return;
      const done = await onSameSpec(store, written, p, (cur) => {
        cur.metadata.annotations = { ...cur.metadata.annotations, [ANNOTATION_RETIRE_REQUESTED_AT]: new Date(nowMs).toISOString(), [ANNOTATION_RETIRE_REASON]: a.reason };
        cur.spec.retire = true;
        if (a.takeoverOff) cur.spec.takeover = false;
      });
      if (!done) return;
      if (about) await ctx.recordEvent(about, 'Normal', fleetEventReasons.ProdRetiring, `retiring Prod ${p.metadata.name} on cluster ${p.spec.cluster} (${a.reason})`);
      return;
    }
    case 'delete': {
      try {
        await store.delete('Prod', a.prod.metadata.name);
        written.prods.deleted(a.prod);
      } catch (e) {
        if (!isDroverError(e, 'DROVER_E_NOT_FOUND')) throw e;
        return;
      }
      if (about) await ctx.recordEvent(about, 'Normal', fleetEventReasons.ProdDeleted, `deleted Prod ${a.prod.metadata.name} (${a.reason})`);
      return;
    }
    case 'snapshot': {
      // Agents write status all the time: retry a conflict here rather than fail the pass.
      wrote(
        await mutate<Prod>(store, 'Prod', a.prod.metadata.name, (p) => {
          if (p.spec.template !== undefined || p.spec.version !== a.prod.spec.version) return false;
          p.spec.template = a.template;
        }),
      );
      return;
    }
    case 'markEvacuation': {
      const p = a.prod;
      const annotations = { ...p.metadata.annotations };
      if (a.blocked === null) delete annotations[ANNOTATION_EVACUATION_BLOCKED];
      else annotations[ANNOTATION_EVACUATION_BLOCKED] = a.blocked;
      try {
        // Decided on this copy: a conflict fails the pass, which decides again on the newer one.
        wrote(await store.update<Prod>({ ...p, metadata: { ...p.metadata, annotations } }));
      } catch (e) {
        if (!isDroverError(e, 'DROVER_E_NOT_FOUND')) throw e;
        return;
      }
      if (about && a.blocked !== null) {
        await ctx.recordEvent(about, 'Warning', fleetEventReasons.EvacuationBlocked, `Prod ${p.metadata.name} on draining cluster ${p.spec.cluster} gets no successor (${a.blocked}): its tenants move off without one`);
      }
      return;
    }
    case 'takeover': {
      if (!(await onSameSpec(store, written, a.prod, (cur) => void (cur.spec.takeover = true)))) return;
      if (about) await ctx.recordEvent(about, 'Normal', fleetEventReasons.Takeover, `Prod ${a.prod.metadata.name} takes over from ${a.prod.spec.replaces ?? '?'}`);
      return;
    }
  }
}

/**
 * Writes a spec change decided on `seen`, retrying over status writes made meanwhile (agents write status
 * all the time, and a conflict would cost the whole pass a backoff). If the spec itself changed since
 * (another generation), it writes nothing and returns false: the next pass decides afresh.
 */
async function onSameSpec(store: ReconcileContext['store'], written: Written, seen: Prod, change: (p: Prod) => void): Promise<boolean> {
  let wrote = false;
  const p = await mutate<Prod>(store, 'Prod', seen.metadata.name, (cur) => {
    wrote = cur.metadata.generation === seen.metadata.generation;
    if (!wrote) return false;
    change(cur);
  });
  if (wrote && p) written.prods.updated(p);
  return wrote;
}

async function createProd(ctx: ReconcileContext, fleet: Fleet, a: Extract<FleetAction, { action: 'create' }>): Promise<Prod> {
  for (let attempt = 0; ; attempt++) {
    const prod: Prod = {
      apiVersion: API_VERSION,
      kind: 'Prod',
      metadata: {
        name: newProdName(fleet.metadata.name),
        labels: { [LABEL_FLEET]: fleet.metadata.name },
        annotations: {},
        finalizers: [],
        ownerReferences: [{ apiVersion: API_VERSION, kind: 'Fleet', name: fleet.metadata.name, uid: fleet.metadata.uid ?? '', controller: true }],
      },
      spec: {
        fleet: fleet.metadata.name,
        cluster: a.cluster,
        version: a.version,
        template: a.template,
        role: a.role,
        retire: false,
        env: {},
        takeover: false,
        ...(a.replaces !== undefined ? { replaces: a.replaces } : {}),
      },
      status: { phase: 'Pending', restarts: 0, warmupPassed: 0, conditions: [] },
    };
    try {
      return await ctx.store.create(prod);
    } catch (e) {
      if (!isDroverError(e, 'DROVER_E_ALREADY_EXISTS') || attempt >= 3) throw e;
    }
  }
}
