/**
 * The scheduler controller: one reconcile per fleet computes the whole tenant assignment from the
 * watched objects (seeded by each Tenant's current status.prods, so it is stable) and writes Tenant
 * status only where it changed. Level-based: it never relies on having seen the event that caused a change, so a
 * cluster going NotReady, a drain, a retired Prod or a new tenant all take the same path.
 */
import type { Cluster, Condition, Fleet, Prod, Tenant } from '../api/index.js';
import type { AnyResource } from '../api/resource.js';
import { isDroverError } from '../errors.js';
import type { ObjectCache, ReconcileContext, Reconciler, Result, WatchChange } from '../runtime/reconciler.js';
import { diffPlacements, summarizeMoves } from '../scheduler/moves.js';
import { scheduleFleet, tenantPlacement, type FleetObjects, type TenantPlacement } from '../scheduler/snapshot.js';
import { canonicalJson, nowIso } from '../store/object-semantics.js';
import type { Store } from '../store/store.js';
import type { ControlPlaneOptions } from './index.js';

export const SCHEDULED_CONDITION = 'Scheduled' as const;
export const MovedEventReason = 'TenantsMoved' as const;
const CONFLICT_RETRIES = 3;
/**
 * Status writes in flight at once. The store commits the writes queued meanwhile together (one fsync for
 * the group); written one after another, each waited for a commit of its own, and while 10,000 new
 * Tenants arrived the scheduler's commits, not the API's, set the pace of the store.
 */
const WRITE_CONCURRENCY = 64;
const TENANT_BATCH_MS = 200;

type TenantStatus = NonNullable<Tenant['status']>;

export interface SchedulerControllerOptions {
  /** Load bound: no Prod above (1+epsilon)·mean users. */
  epsilon?: number;
}

function fleetOf(obj: AnyResource): string[] {
  const f = (obj.spec as { fleet?: unknown } | undefined)?.fleet;
  return typeof f === 'string' ? [f] : [];
}

/**
 * A Tenant change, except a status write that leaves the spec as last observed: that is this controller's
 * own write (it alone sets status.prods), and a pass for it would find nothing to do — one wasted pass
 * over the whole fleet per tenant written.
 */
function tenantChangeKeys(obj: AnyResource, change: WatchChange): string[] {
  const observed = (obj.status as { observedGeneration?: unknown } | undefined)?.observedGeneration;
  if (change.type === 'MODIFIED' && observed !== undefined && observed === obj.metadata.generation) return [];
  return fleetOf(obj);
}

export function schedulerController(_opts: ControlPlaneOptions, sched: SchedulerControllerOptions = {}): Reconciler {
  // Tenants as this controller last wrote them, until its cache shows that write: a pass that read
  // an older copy would take the tenant for unplaced and place it afresh (maybe elsewhere: a move).
  const written = new Map<string, Tenant>();
  return {
    name: 'scheduler',
    resyncMs: 60_000,
    watches: [
      { kind: 'Fleet' },
      // Tenants arrive in bursts (an import, a sign-up wave); each pass covers the whole fleet, so they
      // wait a little and share one. Prods and Clusters do not wait: a failure moves tenants at once.
      { kind: 'Tenant', mapToKeys: tenantChangeKeys, delayMs: TENANT_BATCH_MS },
      { kind: 'Prod', mapToKeys: fleetOf },
      // A cluster's health concerns every fleet with Prods on it; cheaper to re-run all fleets than to ask.
      { kind: 'Cluster', mapToKeys: async (_obj, change) => (await change.store.list<Fleet>('Fleet')).items.map((f) => f.metadata.name) },
    ],
    async listKeys(ctx: ReconcileContext): Promise<string[]> {
      const [fleets, tenants] = await Promise.all([ctx.store.list<Fleet>('Fleet'), ctx.store.list<Tenant>('Tenant')]);
      const keys = new Set([...fleets.items.map((f) => f.metadata.name), ...tenants.items.map((t) => t.spec.fleet)]);
      return [...keys].sort();
    },
    async reconcile(ctx: ReconcileContext, key: string): Promise<Result> {
      const { store } = ctx;
      const { fleet, clusters, prods, tenants: mine } = ctx.cache ? fromCache(ctx.cache, key, written) : await fromStore(store, key);
      if (mine.length === 0) return {};
      const { snap, result } = scheduleFleet({ fleet, clusters, prods, tenants: mine }, { epsilon: sched.epsilon });
      const byName = new Map(mine.map((t) => [t.metadata.name, t]));
      const writes: (() => Promise<void>)[] = [];
      for (let i = 0; i < snap.tenantNames.length; i++) {
        const tenant = byName.get(snap.tenantNames[i] ?? '');
        if (!tenant) continue;
        const placement = tenantPlacement(snap, result, i);
        if (upToDate(tenant, placement)) continue;
        writes.push(async () => {
          const w = await writeIfChanged(store, tenant, placement);
          if (w && ctx.cache) written.set(w.metadata.name, w);
        });
      }
      await runPool(writes, WRITE_CONCURRENCY);
      const moves = diffPlacements(snap, result);
      if (fleet && moves.length > 0) {
        const degraded = moves.some((m) => m.lostRedundancy || m.unassigned);
        await ctx.recordEvent(fleet, degraded ? 'Warning' : 'Normal', MovedEventReason, summarizeMoves(moves));
      }
      return {};
    },
  };
}

/**
 * The fleet's objects from the watch cache, tenants overlaid with this controller's own writes the
 * cache does not show yet (a write is shown once the cache's copy is at least as new).
 */
function fromCache(cache: ObjectCache, key: string, written: Map<string, Tenant>): FleetObjects {
  const tenants: Tenant[] = [];
  const seen = new Set<string>();
  for (const t of cache.list<Tenant>('Tenant')) {
    if (t.spec.fleet !== key) continue;
    const name = t.metadata.name;
    seen.add(name);
    const w = written.get(name);
    if (w && olderThan(t, w)) tenants.push(w);
    else {
      if (w) written.delete(name);
      tenants.push(t);
    }
  }
  for (const [name, w] of written) if (w.spec.fleet === key && !seen.has(name)) written.delete(name);
  return {
    fleet: cache.get<Fleet>('Fleet', key),
    clusters: cache.list<Cluster>('Cluster'),
    prods: cache.list<Prod>('Prod').filter((p) => p.spec.fleet === key),
    tenants,
  };
}

async function fromStore(store: Store, key: string): Promise<FleetObjects> {
  const [fleet, clusters, prods, tenants] = await Promise.all([
    store.get<Fleet>('Fleet', key),
    store.list<Cluster>('Cluster'),
    store.list<Prod>('Prod'),
    store.list<Tenant>('Tenant'),
  ]);
  return {
    fleet,
    clusters: clusters.items,
    prods: prods.items.filter((p) => p.spec.fleet === key),
    tenants: tenants.items.filter((t) => t.spec.fleet === key),
  };
}

/** Revisions are store-wide counters (SQLite, memory and etcd alike); anything else counts as not older. */
function olderThan(a: AnyResource, b: AnyResource): boolean {
  try {
    return BigInt(a.metadata.resourceVersion ?? '') < BigInt(b.metadata.resourceVersion ?? '');
  } catch {
    return false;
  }
}

/** What the Scheduled condition should say, without its transition time. */
function desiredCondition(t: Tenant, placement: TenantPlacement): Pick<Condition, 'status' | 'reason' | 'message' | 'observedGeneration'> {
  return {
    status: placement.prods.length > 0 ? 'True' : 'False',
    reason: placement.reasons[0] ?? (placement.prods.length >= t.spec.redundancy ? 'Assigned' : 'Unassigned'),
    message: placement.reason ?? `on ${placement.prods.join(', ')} in ${placement.domains.join(', ')}`,
    observedGeneration: t.metadata.generation,
  };
}

/** The status the scheduler wants for a tenant, keeping fields it does not own. */
export function desiredStatus(t: Tenant, placement: TenantPlacement): TenantStatus {
  const old = t.status;
  const { status, reason, message } = desiredCondition(t, placement);
  const prev = old?.conditions.find((c) => c.type === SCHEDULED_CONDITION);
  const condition: Condition = {
    type: SCHEDULED_CONDITION,
    status,
    reason,
    message,
    lastTransitionTime: prev && prev.status === status && prev.reason === reason ? prev.lastTransitionTime : nowIso(),
    observedGeneration: t.metadata.generation,
  };
  const next: TenantStatus = {
    ...(old ?? { conditions: [] }),
    observedGeneration: t.metadata.generation,
    prods: placement.prods,
    domains: placement.domains,
    conditions: [...(old?.conditions ?? []).filter((c) => c.type !== SCHEDULED_CONDITION), condition],
  };
  if (placement.reason === undefined) delete next.reason;
  else next.reason = placement.reason;
  return next;
}

/**
 * Whether the stored status already says what the placement says, without building it: most tenants'
 * does. Exactly `sameStatus(t.status, desiredStatus(t, placement))` (Condition is strict: no other keys;
 * a Scheduled condition that is not alone or not last is moved by `desiredStatus`, a change).
 */
function upToDate(t: Tenant, placement: TenantPlacement): boolean {
  const s = t.status;
  if (!s || s.observedGeneration !== t.metadata.generation || s.reason !== placement.reason) return false;
  if (!sameList(s.prods, placement.prods) || !sameList(s.domains, placement.domains)) return false;
  const c = s.conditions.at(-1);
  if (!c || c.type !== SCHEDULED_CONDITION || s.conditions.filter((x) => x.type === SCHEDULED_CONDITION).length !== 1) return false;
  const d = desiredCondition(t, placement);
  return c.status === d.status && c.reason === d.reason && c.message === d.message && c.observedGeneration === d.observedGeneration;
}

function sameList(a: readonly string[] | undefined, b: readonly string[]): boolean {
  return !!a && a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Runs the tasks with at most `limit` in flight; every task runs, then the first failure is thrown. */
async function runPool(tasks: readonly (() => Promise<void>)[], limit: number): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (next < tasks.length) {
      const task = tasks[next++];
      try {
        await task?.();
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  if (failure) throw failure.error;
}

function sameStatus(a: TenantStatus | undefined, b: TenantStatus): boolean {
  const strip = (s: TenantStatus | undefined) =>
    s && {
      ...s,
      conditions: s.conditions.map((c) => (c.type === SCHEDULED_CONDITION ? { ...c, lastTransitionTime: '' } : c)),
    };
  return canonicalJson(strip(a) ?? null) === canonicalJson(strip(b));
}

/**
 * updateStatus with resourceVersion compare-and-swap; on conflict re-read and retry. Returns what it
 * wrote. Called for a tenant `upToDate` found stale, so only a re-read copy needs the full comparison.
 */
async function writeIfChanged(store: Store, tenant: Tenant, placement: TenantPlacement): Promise<Tenant | undefined> {
  let cur: Tenant | undefined = tenant;
  for (let attempt = 0; ; attempt++) {
    const next = desiredStatus(cur, placement);
    if (attempt > 0 && sameStatus(cur.status, next)) return undefined;
    try {
      return await store.updateStatus<Tenant>({ ...cur, status: next });
    } catch (e) {
      if (!isDroverError(e, 'DROVER_E_CONFLICT') || attempt + 1 >= CONFLICT_RETRIES) throw e;
      const generation: number | undefined = cur.metadata.generation;
      cur = await store.get<Tenant>('Tenant', tenant.metadata.name);
      // Deleted, or its spec changed: the watch has queued another reconcile that sees the new spec.
      if (!cur || cur.metadata.generation !== generation) return undefined;
    }
  }
}
