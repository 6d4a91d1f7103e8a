/**
 * The scheduler controller: one reconcile per fleet, writing Tenant status only where it changed.
 *
 * Work in proportion to the change. A *full pass* computes the whole assignment from the watched objects
 * (seeded by each Tenant's current status.prods, so it is stable), on the scheduler's worker thread for a
 * large fleet; it runs when what the scheduler reads of the fleet's Prods and Clusters changed
 * (`schedulingSignature`: a heartbeat does not count), on the first pass, and at least every
 * `FULL_PASS_EVERY_MS` (the periodic safety net). Between full passes, a burst of Tenant changes makes an
 * *incremental pass* over those tenants alone, with the rest of the fleet's load and demand preloaded
 * (`AssignOptions.preload`): what a full pass that keeps everyone else would give them. Which tenants
 * changed comes from the watch (`TenantFeed`'s dirty sets), so an incremental pass reads, places and
 * writes O(changed tenants), not O(fleet); a pass with nothing changed reads no tenant at all.
 * Level-based all the same: a full pass never relies on having seen the event that caused a change.
 */
import type { Cluster, Fleet, Tenant } from '../api/index.js';
import type { ReconcileContext, Reconciler, Result } from '../runtime/reconciler.js';
import { diffPlacements, summarizeMoves } from '../scheduler/moves.js';
import { clusterSchedulingFingerprint, schedulingSignature } from '../scheduler/signature.js';
import { whenChanged } from '../runtime/predicates.js';
import { tenantPlacement, type FleetObjects, type FleetSnapshot } from '../scheduler/snapshot.js';
import { OFF_THREAD_MIN_TENANTS, scheduleFleetOffThread } from '../scheduler/worker-client.js';
import type { AssignResult } from '../scheduler/model.js';
import { runPool } from '../runtime/run-pool.js';
import { OwnWrites } from './own-writes.js';
import { reader } from './reads.js';
import { allFleets, fleetOf } from './watch-maps.js';
import { incremental, placedAsIs, stateAfterFullPass, TenantFeed, yieldToLoop, YIELD_EVERY, type FleetState } from './scheduler-state.js';
import { upToDate, writeIfChanged } from './scheduler-status.js';

export { SCHEDULED_CONDITION, desiredStatus } from './scheduler-status.js';
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

export interface SchedulerControllerOptions {
  /** Load bound: no Prod above (1+epsilon)·mean users. */
  epsilon?: number;
}

export function schedulerController(sched: SchedulerControllerOptions = {}): Reconciler {
  // Tenants as this controller last wrote them, until its cache shows that write: a pass that read
  // an older copy would take the tenant for unplaced and place it afresh (maybe elsewhere: a move).
  // Status writes only: no ghost to expire, so no time limit.
  const written = new OwnWrites<Tenant>(Infinity);
  const states = new Map<string, FleetState>();
  const feed = new TenantFeed();
  return {
    name: 'scheduler',
    resyncMs: 60_000,
    watches: [
      { kind: 'Fleet' },
      // Tenants arrive in bursts (an import, a sign-up wave): they wait a little and share one pass.
      // Prods and Clusters do not wait: a failure moves tenants at once.
      { kind: 'Tenant', mapToKeys: (obj, change) => feed.onChange(obj, change.type, (t) => placedAsIs(states.get(t.spec.fleet), t)), delayMs: TENANT_BATCH_MS },
      { kind: 'Prod', mapToKeys: fleetOf },
      // A cluster's health concerns every fleet with Prods on it; cheaper to re-run all fleets than to ask.
      // Only what the scheduler reads of it counts: a heartbeat (every cluster, every second) would
      // otherwise list every Fleet and queue a pass of each.
      { kind: 'Cluster', mapToKeys: whenChanged((o) => clusterSchedulingFingerprint(o as Cluster), allFleets) },
    ],
    async listKeys(ctx: ReconcileContext): Promise<string[]> {
      const read = reader(ctx);
      const fleets = (await read.list('Fleet')).map((f) => f.metadata.name);
      // The tenants' fleets (a tenant of a missing fleet gets a status saying so) without listing every Tenant.
      const withTenants = feed.fed ? feed.fleets() : (await read.list('Tenant')).map((t) => t.spec.fleet);
      return [...new Set([...fleets, ...withTenants])].sort();
    },
    async reconcile(ctx: ReconcileContext, key: string): Promise<Result> {
      const state = states.get(key);
      const read = reader(ctx);
      const [fleet, clusters, allProds] = await Promise.all([read.get('Fleet', key), read.list('Cluster'), read.list('Prod')]);
      const prods = allProds.filter((p) => p.spec.fleet === key);
      const sig = schedulingSignature(fleet, prods, clusters);
      if (ctx.cache && state && sig === state.sig && Date.now() - state.fullAt < FULL_PASS_EVERY_MS) {
        const found = feed.fed ? fromFeed(ctx, key) : await byResourceVersion(ctx, key, state);
        // Thousands changed at once (a restart's first pass, an import): the full pass, off the loop, costs less.
        if (found.changed.size <= OFF_THREAD_MIN_TENANTS) {
          if (found.changed.size === 0) return {};
          try {
            const { snap, result } = incremental(state, { fleet, clusters, prods, tenants: found.tenants }, found.changed, sched.epsilon);
            const wrote = await apply(ctx, fleet, found.tenants, snap, result);
            for (const [name, rv] of wrote) {
              const e = state.tenants.get(name);
              if (e) e.rv = rv;
            }
          } catch (e) {
            // The changed tenants were taken from the feed: the next pass is a full one, which covers them.
            states.delete(key);
            throw e;
          }
          return {};
        }
      }
      // A full pass covers every change seen so far; those that come while it runs make the next pass.
      feed.take(key);
      states.delete(key);
      const tenants = written.overlay(await read.list('Tenant'), (t) => t.spec.fleet === key);
      if (tenants.length === 0) return {};
      const objs: FleetObjects = { fleet, clusters, prods, tenants };
      const { snap, result } = await scheduleFleetOffThread(objs, { epsilon: sched.epsilon });
      // The state before the writes: their events then find the tenants placed as they are (`placedAsIs`).
      const next = ctx.cache ? await stateAfterFullPass(sig, tenants, snap, result) : undefined;
      if (next) states.set(key, next);
      const wrote = await apply(ctx, fleet, tenants, snap, result);
      for (const [name, rv] of wrote) {
        const e = next?.tenants.get(name);
        if (e) e.rv = rv;
      }
      return {};
    },
  };

  /** The fleet's tenants the watch saw change since the last pass, as stored (own writes laid over the cache). */
  function fromFeed(ctx: ReconcileContext, key: string): { changed: Set<string>; tenants: Tenant[] } {
    const changed = feed.take(key);
    const tenants: Tenant[] = [];
    if (changed.size > OFF_THREAD_MIN_TENANTS) return { changed, tenants };
    for (const name of changed) {
      const t = written.current(name, ctx.cache.get('Tenant', name));
      if (t && t.spec.fleet === key) tenants.push(t);
    }
    return { changed, tenants };
  }

  /**
   * Without a watch feeding changes: the tenants that differ from what the last pass left (new, changed
   * by anyone but this controller, gone), found by resourceVersion, a Map lookup each.
   */
  async function byResourceVersion(ctx: ReconcileContext, key: string, state: FleetState): Promise<{ changed: Set<string>; tenants: Tenant[] }> {
    const all = written.overlay(await reader(ctx).list('Tenant'), (t) => t.spec.fleet === key);
    const changed = new Set<string>();
    const seen = new Set<string>();
    for (const t of all) {
      seen.add(t.metadata.name);
      if (state.tenants.get(t.metadata.name)?.rv !== t.metadata.resourceVersion) changed.add(t.metadata.name);
    }
    for (const name of state.tenants.keys()) if (!seen.has(name)) changed.add(name);
    return { changed, tenants: all.filter((t) => changed.has(t.metadata.name)) };
  }

  /** Writes the tenants' new status where it changed, and one event for the moves; returns the written resourceVersions. */
  async function apply(ctx: ReconcileContext, fleet: Fleet | undefined, mine: readonly Tenant[], snap: FleetSnapshot, result: AssignResult): Promise<Map<string, string | undefined>> {
    const { store } = ctx;
    const wrote = new Map<string, string | undefined>();
    const byName = new Map(mine.map((t) => [t.metadata.name, t]));
    const writes: (() => Promise<void>)[] = [];
    for (let i = 0; i < snap.tenantNames.length; i++) {
      if (i > 0 && i % YIELD_EVERY === 0) await yieldToLoop();
      const tenant = byName.get(snap.tenantNames[i] ?? '');
      if (!tenant) continue;
      const placement = tenantPlacement(snap, result, i);
      if (upToDate(tenant, placement)) continue;
      writes.push(async () => {
        const w = await writeIfChanged(store, tenant, placement);
        if (!w) return;
        wrote.set(w.metadata.name, w.metadata.resourceVersion);
        if (ctx.cache) written.updated(w);
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
