/**
 * Fleet controller: keeps `spec.prods` Prods per Fleet as cattle. The decisions live in fleet-plan.ts
 * (pure); this file reads the observed state, executes the plan's actions and writes Fleet.status.
 *
 * Prods it creates are named `<fleet>-<5 random [a-z0-9]>`, labelled `drover.dev/fleet`, and owned by
 * the Fleet (ownerReferences with the Fleet's uid, controller: true). Retiring a Prod sets
 * `spec.retire=true` with the annotations `drover.dev/retire-requested-at` and `drover.dev/retire-reason`.
 */
import { randomBytes } from 'node:crypto';
import type { Cluster } from '../api/kinds/cluster.js';
import type { Fleet } from '../api/kinds/fleet.js';
import type { Prod } from '../api/kinds/prod.js';
import { isReleaseActive, type Release } from '../api/kinds/release.js';
import { API_VERSION } from '../api/meta.js';
import type { AnyResource } from '../api/resource.js';
import { isDroverError } from '../errors.js';
import { mutate } from '../release/successor.js';
import { whenChanged } from '../runtime/predicates.js';
import type { ReconcileContext, Reconciler, Result, WatchChange } from '../runtime/reconciler.js';
import { canonicalJson } from '../store/object-semantics.js';
import { planFleet, retireReasonAnnotation, retireRequestedAtAnnotation, type FleetAction } from './fleet-plan.js';

export const fleetLabel = 'drover.dev/fleet';

export interface FleetControllerOptions {
  now?: () => number;
  resyncMs?: number;
  /** Delete a retiring Prod whose agent never reports Retired after this long. Default 60 s. */
  retireTimeoutMs?: number;
  /** How long to wait before trying again to place a Prod no cluster could take. Default 5 s. */
  unplaceableRetryMs?: number;
  /** A rollout successor not Ready this long after its creation stops the rollout. Default 5 min. */
  rolloutDeadlineMs?: number;
}

export const fleetEventReasons = {
  ProdCreated: 'ProdCreated',
  ProdRetiring: 'ProdRetiring',
  ProdDeleted: 'ProdDeleted',
  Takeover: 'Takeover',
  Unplaceable: 'Unplaceable',
  InsufficientCapacity: 'InsufficientCapacity',
  RolloutStalled: 'RolloutStalled',
} as const;

export function newProdName(fleet: string): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const suffix = [...randomBytes(5)].map((b) => alphabet[b % alphabet.length]).join('');
  return `${fleet.slice(0, 57).replace(/-+$/, '')}-${suffix}`;
}

export function createFleetController(opts: FleetControllerOptions = {}): Reconciler {
  const now = opts.now ?? Date.now;
  const retireTimeoutMs = opts.retireTimeoutMs ?? 60_000;
  const unplaceableRetryMs = opts.unplaceableRetryMs ?? 5_000;
  const allFleets = async (_o: AnyResource, { store }: WatchChange) =>
    (await store.list<Fleet>('Fleet')).items.map((f) => f.metadata.name);

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
        }, (o) => [(o as Prod).spec.fleet]),
      },
      {
        kind: 'Cluster',
        mapToKeys: whenChanged((o) => {
          const c = o as Cluster;
          return canonicalJson([c.status?.phase, c.status?.prods, c.spec, c.metadata.labels, c.metadata.deletionTimestamp]);
        }, allFleets),
      },
      { kind: 'Release', mapToKeys: whenChanged((o) => (o as Release).status?.phase ?? 'Pending', (o) => [(o as Release).spec.fleet]) },
    ],
    async listKeys({ store }) {
      const names = new Set((await store.list<Fleet>('Fleet')).items.map((f) => f.metadata.name));
      for (const p of (await store.list<Prod>('Prod')).items) names.add(p.spec.fleet);
      return [...names];
    },
    async reconcile(ctx, key): Promise<Result> {
      const { store } = ctx;
      const fleet = await store.get<Fleet>('Fleet', key);
      const [clusters, prods, releases] = await Promise.all([
        store.list<Cluster>('Cluster'),
        store.list<Prod>('Prod'),
        store.list<Release>('Release'),
      ]);
      const nowMs = now();
      // Capacity counts every Prod on a cluster, whatever its fleet, from the list itself: the cluster's
      // status.prods lags the Prods this controller just created.
      const otherFleetsOnCluster = new Map<string, number>();
      for (const p of prods.items) {
        if (p.spec.fleet !== key && p.status?.phase !== 'Retired') otherFleetsOnCluster.set(p.spec.cluster, (otherFleetsOnCluster.get(p.spec.cluster) ?? 0) + 1);
      }
      const plan = planFleet({
        fleetName: key,
        fleet,
        clusters: clusters.items,
        prods: prods.items.filter((p) => p.spec.fleet === key),
        releaseActive: releases.items.some((r) => r.spec.fleet === key && isReleaseActive(r)),
        nowMs,
        retireTimeoutMs,
        otherFleetsOnCluster,
        ...(opts.rolloutDeadlineMs !== undefined ? { rolloutDeadlineMs: opts.rolloutDeadlineMs } : {}),
      });
      for (const a of plan.actions) await execute(ctx, fleet, a, nowMs);
      if (fleet && plan.status && canonicalJson(plan.status) !== canonicalJson(fleet.status ?? null)) {
        await store.updateStatus<Fleet>({ ...fleet, status: plan.status });
      }
      if (fleet && plan.unplaceable !== undefined) {
        const reason = plan.unplaceableReason === 'InsufficientCapacity' ? fleetEventReasons.InsufficientCapacity : fleetEventReasons.Unplaceable;
        await ctx.recordEvent(fleet, 'Warning', reason, plan.unplaceable);
      }
      for (const e of plan.events ?? []) if (fleet) await ctx.recordEvent(fleet, e.type, fleetEventReasons[e.reason], e.message);
      const waits = [plan.recheckInMs, plan.unplaceable !== undefined ? unplaceableRetryMs : undefined].filter((x): x is number => x !== undefined);
      return waits.length > 0 ? { requeueAfterMs: Math.min(...waits) } : {};
    },
  };
}

async function execute(ctx: ReconcileContext, fleet: Fleet | undefined, a: FleetAction, nowMs: number): Promise<void> {
  const { store } = ctx;
  const about: AnyResource | undefined = fleet;
  switch (a.action) {
    case 'create': {
      if (!fleet) return;
      const created = await createProd(ctx, fleet, a);
      const what = a.replaces ? `to replace ${a.replaces} at version ${a.version}, template ${a.template.hash}` : `(${a.reason}, template ${a.template.hash})`;
      await ctx.recordEvent(fleet, 'Normal', fleetEventReasons.ProdCreated, `created ${a.role} Prod ${created.metadata.name} on cluster ${a.cluster} ${what}`);
      return;
    }
    case 'retire': {
      const p = a.prod;
      if (p.spec.retire) return;
      const done = await onSameSpec(store, p, (cur) => {
        cur.metadata.annotations = { ...cur.metadata.annotations, [retireRequestedAtAnnotation]: new Date(nowMs).toISOString(), [retireReasonAnnotation]: a.reason };
        cur.spec.retire = true;
      });
      if (!done) return;
      if (about) await ctx.recordEvent(about, 'Normal', fleetEventReasons.ProdRetiring, `retiring Prod ${p.metadata.name} on cluster ${p.spec.cluster} (${a.reason})`);
      return;
    }
    case 'delete': {
      try {
        await store.delete('Prod', a.prod.metadata.name);
      } catch (e) {
        if (!isDroverError(e, 'DROVER_E_NOT_FOUND')) throw e;
        return;
      }
      if (about) await ctx.recordEvent(about, 'Normal', fleetEventReasons.ProdDeleted, `deleted Prod ${a.prod.metadata.name} (${a.reason})`);
      return;
    }
    case 'snapshot': {
      // Agents write status all the time: retry a conflict here rather than fail the pass.
      await mutate<Prod>(store, 'Prod', a.prod.metadata.name, (p) => {
        if (p.spec.template !== undefined || p.spec.version !== a.prod.spec.version) return false;
        p.spec.template = a.template;
      });
      return;
    }
    case 'takeover': {
      if (!(await onSameSpec(store, a.prod, (cur) => void (cur.spec.takeover = true)))) return;
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
async function onSameSpec(store: ReconcileContext['store'], seen: Prod, change: (p: Prod) => void): Promise<boolean> {
  let wrote = false;
  await mutate<Prod>(store, 'Prod', seen.metadata.name, (cur) => {
    if (cur.metadata.generation !== seen.metadata.generation) return false;
    change(cur);
    wrote = true;
  });
  return wrote;
}

async function createProd(ctx: ReconcileContext, fleet: Fleet, a: Extract<FleetAction, { action: 'create' }>): Promise<Prod> {
  for (let attempt = 0; ; attempt++) {
    const prod: Prod = {
      apiVersion: API_VERSION,
      kind: 'Prod',
      metadata: {
        name: newProdName(fleet.metadata.name),
        labels: { [fleetLabel]: fleet.metadata.name },
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
