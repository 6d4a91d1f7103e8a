/**
 * The scheduler controller: one reconcile per fleet, writing Tenant status only where it changed.
 *
 * Work in proportion to the change. A *full pass* computes the whole assignment from the watched objects
 * (seeded by each Tenant's current status.prods, so it is stable); it runs when what the scheduler reads
 * of the fleet's Prods and Clusters changed (`schedulingSignature`: a heartbeat does not count), on the
 * first pass, and at least every `FULL_PASS_EVERY_MS`. Between full passes, a burst of Tenant changes
 * makes an *incremental pass* over those tenants alone, with the rest of the fleet's load and demand
 * preloaded (`AssignOptions.preload`): what a full pass that keeps everyone else would give them.
 * Level-based all the same: a full pass never relies on having seen the event that caused a change.
 */
import type { Condition, Fleet, Tenant } from '../api/index.js';
import type { AnyResource } from '../api/resource.js';
import type { ReconcileContext, Reconciler, Result, WatchChange } from '../runtime/reconciler.js';
import { diffPlacements, summarizeMoves } from '../scheduler/moves.js';
import { assignTenants } from '../scheduler/assign-tenants.js';
import { schedulingSignature } from '../scheduler/signature.js';
import { buildSnapshot, tenantPlacement, type FleetObjects, type FleetSnapshot, type TenantPlacement } from '../scheduler/snapshot.js';
import { scheduleFleetOffThread } from '../scheduler/worker-client.js';
import type { AssignResult } from '../scheduler/model.js';
import { nowIso } from '../store/object-semantics.js';
import type { Store } from '../store/store.js';
import { runPool } from '../runtime/run-pool.js';
import { OwnWrites } from './own-writes.js';
import { reader } from './reads.js';
import { allFleets, fleetOf } from './watch-maps.js';
import { updateStatusOrMutate } from '../store/mutate.js';

export const SCHEDULED_CONDITION = 'Scheduled' as const;
export const MovedEventReason = 'TenantsMoved' as const;
/**
 * Status writes in flight at once. The store commits the writes queued meanwhile together (one fsync for
 * the group); written one after another, each waited for a commit of its own, and while 10,000 new
 * Tenants arrived the scheduler's commits, not the API's, set the pace of the store.
 */
const WRITE_CONCURRENCY = 64;
const TENANT_BATCH_MS = 200;
/** The full pass re-balances what incremental passes only add to (bounds drift as tenants arrive). */
const FULL_PASS_EVERY_MS = 60_000;

/** What the last pass left, per fleet: enough to place a few more tenants without the others. */
interface FleetState {
  sig: string;
  fullAt: number;
  /** Users on each Prod, by name. */
  load: Map<string, number>;
  /** Users of redundancy-1 and redundancy-2 tenants, per role (0 normal, 1 test). */
  demand1: [number, number];
  demand2: [number, number];
  /** Each tenant's contribution: where its users count. */
  tenants: Map<string, TenantEntry>;
}

interface TenantEntry {
  users: number;
  redundancy: number;
  role: 0 | 1;
  prods: string[];
  /** The Tenant's resourceVersion as this controller last saw or wrote it. */
  rv: string | undefined;
}

type TenantStatus = NonNullable<Tenant['status']>;

export interface SchedulerControllerOptions {
  /** Load bound: no Prod above (1+epsilon)·mean users. */
  epsilon?: number;
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

export function schedulerController(sched: SchedulerControllerOptions = {}): Reconciler {
  // Tenants as this controller last wrote them, until its cache shows that write: a pass that read
  // an older copy would take the tenant for unplaced and place it afresh (maybe elsewhere: a move).
  // Status writes only: no ghost to expire, so no time limit.
  const written = new OwnWrites<Tenant>(Infinity);
  const states = new Map<string, FleetState>();
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
      { kind: 'Cluster', mapToKeys: allFleets },
    ],
    async listKeys(ctx: ReconcileContext): Promise<string[]> {
      const read = reader(ctx);
      const [fleets, tenants] = await Promise.all([read.list('Fleet'), read.list('Tenant')]);
      const keys = new Set([...fleets.map((f) => f.metadata.name), ...tenants.map((t) => t.spec.fleet)]);
      return [...keys].sort();
    },
    async reconcile(ctx: ReconcileContext, key: string): Promise<Result> {
      const state = states.get(key);
      const objs = await observe(ctx, key);
      if (ctx.cache && state) {
        const { fleet, prods, clusters } = objs;
        const sig = schedulingSignature(fleet, prods, clusters);
        if (sig === state.sig && Date.now() - state.fullAt < FULL_PASS_EVERY_MS) {
          // Level-based still: the tenants that differ from what the last pass left (new, changed by
          // anyone but this controller, gone) are found by resourceVersion, a Map lookup each.
          const all = objs.tenants;
          const changed = new Set<string>();
          const seen = new Set<string>();
          for (const t of all) {
            seen.add(t.metadata.name);
            if (state.tenants.get(t.metadata.name)?.rv !== t.metadata.resourceVersion) changed.add(t.metadata.name);
          }
          for (const name of state.tenants.keys()) if (!seen.has(name)) changed.add(name);
          if (changed.size === 0) return {};
          const tenants = all.filter((t) => changed.has(t.metadata.name));
          const { snap, result } = incremental(state, { fleet, clusters, prods, tenants }, changed, sched.epsilon);
          const wrote = await apply(ctx, fleet, tenants, snap, result);
          for (const [name, rv] of wrote) {
            const e = state.tenants.get(name);
            if (e) e.rv = rv;
          }
          return {};
        }
      }
      states.delete(key);
      if (objs.tenants.length === 0) return {};
      const { snap, result } = await scheduleFleetOffThread(objs, { epsilon: sched.epsilon });
      const wrote = await apply(ctx, objs.fleet, objs.tenants, snap, result);
      if (ctx.cache) {
        const next = stateAfterFullPass(schedulingSignature(objs.fleet, objs.prods, objs.clusters), objs.tenants, snap, result);
        for (const [name, rv] of wrote) {
          const e = next.tenants.get(name);
          if (e) e.rv = rv;
        }
        states.set(key, next);
      }
      return {};
    },
  };

  /**
   * The fleet's objects (from the cache under the manager), tenants overlaid with this controller's own
   * writes the cache does not show yet.
   */
  async function observe(ctx: ReconcileContext, key: string): Promise<FleetObjects> {
    const read = reader(ctx);
    const [fleet, clusters, prods, tenants] = await Promise.all([read.get('Fleet', key), read.list('Cluster'), read.list('Prod'), read.list('Tenant')]);
    return {
      fleet,
      clusters,
      prods: prods.filter((p) => p.spec.fleet === key),
      tenants: written.overlay(tenants, (t) => t.spec.fleet === key),
    };
  }

  /** Writes the tenants' new status where it changed, and one event for the moves; returns the written resourceVersions. */
  async function apply(ctx: ReconcileContext, fleet: Fleet | undefined, mine: readonly Tenant[], snap: FleetSnapshot, result: AssignResult): Promise<Map<string, string | undefined>> {
    const { store } = ctx;
    const wrote = new Map<string, string | undefined>();
    const byName = new Map(mine.map((t) => [t.metadata.name, t]));
    const writes: (() => Promise<void>)[] = [];
    for (let i = 0; i < snap.tenantNames.length; i++) {
      const tenant = byName.get(snap.tenantNames[i] ?? '');
      if (!tenant) continue;
      const placement = tenantPlacement(snap, result, i);
      if (upToDate(tenant, placement)) continue;
      writes.push(async () => {
        const w = await writeIfChanged(store, tenant, placement);
        if (w) wrote.set(w.metadata.name, w.metadata.resourceVersion);
        if (w && ctx.cache) written.updated(w);
      });
    }
    try {
      await runPool(writes, WRITE_CONCURRENCY);
    } catch (e) {
      // What was written is unknown: the next pass starts afresh.
      if (fleet) states.delete(fleet.metadata.name);
      throw e;
    }
    const moves = diffPlacements(snap, result);
    if (fleet && moves.length > 0) {
      const degraded = moves.some((m) => m.lostRedundancy || m.unassigned);
      await ctx.recordEvent(fleet, degraded ? 'Warning' : 'Normal', MovedEventReason, summarizeMoves(moves));
    }
    return wrote;
  }
}

/** The fleet's load and demand after a full pass, per tenant so that a changed one can be taken out. */
function stateAfterFullPass(sig: string, tenants: readonly Tenant[], snap: FleetSnapshot, result: AssignResult): FleetState {
  const byName = new Map(tenants.map((t) => [t.metadata.name, t]));
  const state: FleetState = { sig, fullAt: Date.now(), load: new Map(), demand1: [0, 0], demand2: [0, 0], tenants: new Map() };
  snap.prodInfo.forEach((p, i) => state.load.set(p.name, result.load[i] ?? 0));
  for (let i = 0; i < snap.tenantNames.length; i++) {
    const name = snap.tenantNames[i] ?? '';
    const t = byName.get(name);
    if (!t) continue;
    const prods: string[] = [];
    for (const p of [result.slot0[i] ?? -1, result.slot1[i] ?? -1]) if (p >= 0) prods.push(snap.prodInfo[p]?.name ?? '');
    const entry: TenantEntry = { users: t.spec.users, redundancy: t.spec.redundancy, role: t.spec.test ? 1 : 0, prods, rv: t.metadata.resourceVersion };
    state.tenants.set(name, entry);
    (entry.redundancy === 2 ? state.demand2 : state.demand1)[entry.role] += entry.users;
  }
  return state;
}

/**
 * Places the changed tenants alone, the rest of the fleet preloaded, and updates the state with the
 * result. A changed tenant's old contribution is taken out first (its users may have changed; it may be
 * gone); its stored Prods still seed it, so it stays where it is when it may.
 */
function incremental(state: FleetState, objs: FleetObjects, changed: ReadonlySet<string>, epsilon: number | undefined): { snap: FleetSnapshot; result: AssignResult } {
  for (const name of changed) {
    const old = state.tenants.get(name);
    if (!old) continue;
    for (const p of old.prods) state.load.set(p, (state.load.get(p) ?? 0) - old.users);
    (old.redundancy === 2 ? state.demand2 : state.demand1)[old.role] -= old.users;
    state.tenants.delete(name);
  }
  const snap = buildSnapshot(objs, { epsilon });
  const load = Float64Array.from(snap.prodInfo, (p) => state.load.get(p.name) ?? 0);
  const result = assignTenants({ ...snap.input, options: { ...snap.input.options, preload: { load, demand1: [...state.demand1], demand2: [...state.demand2] } } });
  const byName = new Map(objs.tenants.map((t) => [t.metadata.name, t]));
  for (let i = 0; i < snap.tenantNames.length; i++) {
    const name = snap.tenantNames[i] ?? '';
    const t = byName.get(name);
    if (!t) continue;
    const prods: string[] = [];
    for (const p of [result.slot0[i] ?? -1, result.slot1[i] ?? -1]) {
      if (p < 0) continue;
      const pn = snap.prodInfo[p]?.name ?? '';
      prods.push(pn);
      state.load.set(pn, (state.load.get(pn) ?? 0) + t.spec.users);
    }
    const entry: TenantEntry = { users: t.spec.users, redundancy: t.spec.redundancy, role: t.spec.test ? 1 : 0, prods, rv: t.metadata.resourceVersion };
    state.tenants.set(name, entry);
    (entry.redundancy === 2 ? state.demand2 : state.demand1)[entry.role] += entry.users;
  }
  return { snap, result };
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

/**
 * Writes the placement's status on the tenant as read (`upToDate` found it stale); when that copy was
 * stale, on the stored one, unless the tenant is gone or its spec changed meanwhile (the watch has queued
 * another pass that sees the new spec). Returns what it wrote, undefined when it wrote nothing.
 */
async function writeIfChanged(store: Store, tenant: Tenant, placement: TenantPlacement): Promise<Tenant | undefined> {
  let wrote = true;
  const w = await updateStatusOrMutate<Tenant>(store, { ...tenant, status: desiredStatus(tenant, placement) }, (cur) => {
    wrote = cur.metadata.generation === tenant.metadata.generation && !upToDate(cur, placement);
    if (!wrote) return false;
    cur.status = desiredStatus(cur, placement);
  });
  return wrote ? w : undefined;
}
