/**
 * The traffic controller: keeps, per fleet, one TrafficPlan (named as the fleet: endpoints, groups and
 * settings) and one TrafficRoute per tenant (named as the Tenant: its Prods and fallback) equal to what
 * `compileFleet`/`compileTenant` make of the fleet's current Prods, clusters, tenants and policy.
 *
 * Two kinds of key, so that work follows the change:
 * - `<fleet>`: a fleet pass. Prods, Clusters, the policy or the Fleet changed (or a resync): recompile the
 *   fleet plan, the per-tenant fallbacks (one what-if assignment per cluster) and every route of the fleet,
 *   writing only the routes that changed. Tenant changes also ask for one, late (`FALLBACK_REFRESH_MS`), so
 *   new tenants get their fallback and a burst of them shares one pass.
 * - `tenant/<name>`: a tenant pass. One Tenant changed: compile its route from the last fleet pass's
 *   routing and write it if it changed — O(1), whatever the size of the fleet.
 * Level-based: a tenant pass that finds no fleet pass yet runs one. `revision` of the plan increases only
 * when its content changes; a route is rewritten only when its content changes.
 */
import type { Cluster } from '../api/kinds/cluster.js';
import type { Fleet } from '../api/kinds/fleet.js';
import type { Migration } from '../api/kinds/migration.js';
import type { Prod } from '../api/kinds/prod.js';
import type { Tenant } from '../api/kinds/tenant.js';
import type { TrafficPlan, TrafficRoute, TrafficRouteSpec } from '../api/kinds/traffic-plan.js';
import type { TrafficPolicy } from '../api/kinds/traffic-policy.js';
import { LABEL_FLEET } from '../api/labels.js';
import { API_VERSION } from '../api/meta.js';
import type { AnyResource } from '../api/resource.js';
import { isDroverError } from '../errors.js';
import type { ReconcileContext, Reconciler, Result, WatchSpec } from '../runtime/reconciler.js';
import type { WatchEventType } from '../store/store.js';
import { runPool } from '../runtime/run-pool.js';
import { computeFallbacksOffThread, OFF_THREAD_MIN_TENANTS } from '../scheduler/worker-client.js';
import { schedulingSignature } from '../scheduler/signature.js';
import { createOrUpdate } from '../store/mutate.js';
import { canonicalJson } from '../store/object-semantics.js';
import { compileFleet, compileTenant, planContent, type FleetRouting } from '../traffic/compile-plan.js';
import { OwnWrites } from './own-writes.js';
import { reader } from './reads.js';
import { fleetOf } from './watch-maps.js';
import { createOrMutate, updateOrMutate } from '../store/mutate.js';

const TENANT_PREFIX = 'tenant/';
/**
 * New and changed tenants get their fallback from a fleet pass this much later, a burst sharing one: the
 * what-if costs one assignment pass per cluster over the whole fleet (seconds at 100k tenants).
 */
const FALLBACK_REFRESH_MS = 30_000;
/** Longest a new tenant's first route waits for the scheduler's placement (its batch is 200 ms). */
const PLACEMENT_WAIT_MS = 1_000;
/** Route writes in flight at once during a fleet pass (the store commits them in groups). */
const WRITE_CONCURRENCY = 64;
/** A fleet pass yields to the event loop after this many tenants, so the API keeps answering. */
const YIELD_EVERY = 500;

/** What the last fleet pass computed, for tenant passes and to tell whether the next one has work. */
interface FleetMemo {
  routing: FleetRouting;
  routingSig: string;
  fallbacks: ReadonlyMap<string, readonly string[]>;
  /** schedulingSignature when the fallbacks were computed. */
  schedSig: string;
  fallbacksAt: number;
  /** A tenant changed since the fallbacks were computed. */
  tenantsChanged: boolean;
}

interface FleetInputs {
  fleet: Fleet | undefined;
  prods: Prod[];
  clusters: Cluster[];
  policy: TrafficPolicy | undefined;
  migrations: Migration[];
}

export class TrafficController implements Reconciler {
  readonly name = 'traffic';
  readonly resyncMs = 60_000;
  /** Fleets seen so far: a Cluster change may affect any of them. */
  private readonly known = new Set<string>();
  private readonly memo = new Map<string, FleetMemo>();
  /** Routes as this controller last wrote them, until the cache shows that write (it lags the store). */
  private readonly written = new OwnWrites<TrafficRoute>();
  readonly watches: readonly WatchSpec[] = [
    { kind: 'Fleet' },
    { kind: 'Prod', mapToKeys: fleetOf },
    { kind: 'Tenant', mapToKeys: (obj) => this.tenantChanged(obj) },
    { kind: 'Tenant', mapToKeys: fleetOf, delayMs: FALLBACK_REFRESH_MS },
    { kind: 'TrafficPolicy', mapToKeys: fleetOf },
    // A migration's weight is part of its fleet's plan (src/traffic/legacy-endpoints.ts).
    { kind: 'Migration', mapToKeys: fleetOf },
    { kind: 'Cluster', mapToKeys: (): string[] => [...this.known] },
    { kind: 'TrafficPlan' },
    // A route changed or deleted by someone else is put back.
    { kind: 'TrafficRoute', mapToKeys: (obj, change) => this.routeChanged(obj, change.type) },
  ];
  /** When each tenant without a status was first seen here (see `waitForPlacement`). */
  private readonly unplacedSince = new Map<string, number>();

  /**
   * How much longer a new tenant's first route waits for the scheduler's placement (0: no wait). Written
   * before it, the route names no Prod and is rewritten a moment later when the status comes (the
   * status write brings the tenant back here): one route write per new tenant instead of two. The wait
   * is bounded, so a tenant the scheduler does not place (scheduler down) still gets its route — until
   * then its host is unmatched at the edge, as it was before the first route write. An existing route
   * follows its tenant's spec at once.
   */
  private waitForPlacement(t: Tenant): number {
    const name = t.metadata.name;
    if (t.status !== undefined) {
      this.unplacedSince.delete(name);
      return 0;
    }
    const now = Date.now();
    const since = this.unplacedSince.get(name) ?? now;
    this.unplacedSince.set(name, since);
    const left = since + PLACEMENT_WAIT_MS - now;
    if (left <= 0) this.unplacedSince.delete(name);
    return Math.max(0, left);
  }

  /** Revisions of this controller's route writes until their event comes back (a pass for it would find nothing to do). */
  private readonly echoes = new Map<string, string>();

  private routeChanged(obj: AnyResource, type: WatchEventType): string[] {
    const name = obj.metadata.name;
    const mine = this.echoes.get(name);
    if (mine !== undefined && (type === 'DELETED' || mine === obj.metadata.resourceVersion)) this.echoes.delete(name);
    if (type !== 'DELETED' && mine === obj.metadata.resourceVersion) return [];
    return [TENANT_PREFIX + name];
  }

  private tenantChanged(obj: AnyResource): string[] {
    for (const f of fleetOf(obj)) {
      const m = this.memo.get(f);
      if (m) m.tenantsChanged = true;
    }
    return [TENANT_PREFIX + obj.metadata.name];
  }

  async listKeys(ctx: ReconcileContext): Promise<string[]> {
    const read = reader(ctx);
    const [fleets, plans] = await Promise.all([read.list('Fleet'), read.list('TrafficPlan')]);
    const keys = new Set([...fleets.map((f) => f.metadata.name), ...plans.map((p) => p.metadata.name)]);
    for (const k of keys) this.known.add(k);
    return [...keys];
  }

  async reconcile(ctx: ReconcileContext, key: string): Promise<Result> {
    if (key.startsWith(TENANT_PREFIX)) return this.reconcileTenant(ctx, key.slice(TENANT_PREFIX.length));
    return this.reconcileFleet(ctx, key);
  }

  private async reconcileFleet(ctx: ReconcileContext, key: string): Promise<Result> {
    const { store } = ctx;
    const input = await this.inputs(ctx, key);
    const existing = await reader(ctx).get('TrafficPlan', key);
    const fleet = input.fleet;
    if (!fleet || fleet.metadata.deletionTimestamp) {
      this.known.delete(key);
      this.memo.delete(key);
      if (existing) await deleteIgnoringNotFound(ctx, 'TrafficPlan', key);
      // Routes are removed with their plan: the data planes no longer follow the fleet.
      const { routes } = await this.tenantsAndRoutes(ctx, key);
      await runPool(
        routes.map((r) => () => this.deleteRoute(ctx, r.metadata.name)),
        WRITE_CONCURRENCY,
      );
      return {};
    }
    this.known.add(key);
    const { plan: compiled, routing } = compileFleet({ fleet, prods: input.prods, clusters: input.clusters, policy: input.policy, migrations: input.migrations });
    const routingSig = routingSignature(routing);
    const schedSig = schedulingSignature(fleet, input.prods, input.clusters);
    const prev = this.memo.get(key);
    // The what-if over every tenant is the costly part: only when the Prods or Clusters changed in a way
    // the scheduler sees, or tenants changed and the last one is old enough. A heartbeat costs nothing.
    const fallbacksDue = !prev || prev.schedSig !== schedSig || (prev.tenantsChanged && Date.now() - prev.fallbacksAt >= FALLBACK_REFRESH_MS - 1_000);
    const routesDue = fallbacksDue || !prev || prev.routingSig !== routingSig;
    // The what-if may run on the scheduler's thread: a tenant change meanwhile flags `prev` again, and is
    // not in its result (with no `prev` to flag, the next refresh is due anyway when it ran off-thread).
    if (fallbacksDue && prev) prev.tenantsChanged = false;
    const { tenants, routes } = routesDue ? await this.tenantsAndRoutes(ctx, key) : { tenants: [], routes: [] };
    const memo: FleetMemo =
      fallbacksDue || !prev
        ? { routing, routingSig, schedSig, fallbacks: await computeFallbacksOffThread({ fleet, clusters: input.clusters, prods: input.prods, tenants }), fallbacksAt: Date.now(), tenantsChanged: prev ? prev.tenantsChanged : tenants.length >= OFF_THREAD_MIN_TENANTS }
        : { ...prev, routing, routingSig };
    this.memo.set(key, memo);
    const { fallbacks } = memo;
    const owner = { apiVersion: API_VERSION, kind: 'Fleet', name: key, uid: fleet.metadata.uid ?? '', controller: true };

    const samePlan = (plan: TrafficPlan) => canonicalJson(planContent(plan.spec)) === canonicalJson(planContent(compiled));
    if (!existing || !samePlan(existing)) {
      // The revision counts content changes: it moves only when the stored plan's content differs.
      const desired: TrafficPlan = {
        apiVersion: API_VERSION,
        kind: 'TrafficPlan',
        metadata: { name: key, labels: { [LABEL_FLEET]: key }, annotations: {}, finalizers: [], ownerReferences: [owner] },
        spec: { ...compiled, revision: 1 },
      };
      await createOrUpdate<TrafficPlan>(store, desired, (cur) => {
        if (samePlan(cur)) return false;
        cur.spec = { ...compiled, revision: cur.spec.revision + 1 };
      });
    }

    // Tenants changed, but the last what-if is too recent: come back when it is due.
    const later: Result = memo.tenantsChanged ? { requeueAfterMs: Math.max(1_000, memo.fallbacksAt + FALLBACK_REFRESH_MS - Date.now()) } : {};
    if (!routesDue) return later;
    // Every route of the fleet, written where it changed; routes of tenants gone from the fleet removed.
    const writes: (() => Promise<void>)[] = [];
    const wanted = new Set<string>();
    let n = 0;
    for (const t of tenants) {
      if (++n % YIELD_EVERY === 0) await yieldToLoop();
      if (t.metadata.deletionTimestamp) continue;
      wanted.add(t.metadata.name);
      const route = this.current(ctx, t.metadata.name);
      if (!route && this.waitForPlacement(t) > 0) continue;
      const spec: TrafficRouteSpec = { ...compileTenant(routing, t, fallbacks.get(t.metadata.name)), fleet: key };
      if (route && sameRoute(route.spec, spec)) continue;
      writes.push(() => this.writeRoute(ctx, route, spec, fleet));
    }
    for (const r of routes) if (!wanted.has(r.metadata.name)) writes.push(() => this.deleteRoute(ctx, r.metadata.name));
    await runPool(writes, WRITE_CONCURRENCY);
    return later;
  }

  private async reconcileTenant(ctx: ReconcileContext, name: string): Promise<Result> {
    const read = reader(ctx);
    const tenant = await read.get('Tenant', name);
    const route = this.current(ctx, name);
    if (!tenant || tenant.metadata.deletionTimestamp) {
      this.unplacedSince.delete(name);
      if (route) await this.deleteRoute(ctx, name);
      return {};
    }
    const fleetName = tenant.spec.fleet;
    const fleet = await read.get('Fleet', fleetName);
    if (!fleet || fleet.metadata.deletionTimestamp) {
      if (route) await this.deleteRoute(ctx, name);
      return {};
    }
    // No fleet pass yet (a new fleet, or this controller just started): it compiles this route too.
    if (!this.memo.has(fleetName)) return this.reconcileFleet(ctx, fleetName);
    const memo = this.memo.get(fleetName)!;
    if (!route) {
      const wait = this.waitForPlacement(tenant);
      if (wait > 0) return { requeueAfterMs: wait };
    }
    const spec: TrafficRouteSpec = { ...compileTenant(memo.routing, tenant, memo.fallbacks.get(name)), fleet: fleetName };
    if (route && sameRoute(route.spec, spec)) return {};
    await this.writeRoute(ctx, route, spec, fleet);
    return {};
  }

  /** The route as stored: the cache's copy, or this controller's own later write the cache does not show yet. */
  private current(ctx: ReconcileContext, name: string): TrafficRoute | undefined {
    return this.written.current(name, ctx.cache?.get('TrafficRoute', name));
  }

  private async writeRoute(ctx: ReconcileContext, existing: TrafficRoute | undefined, spec: TrafficRouteSpec, fleet: Fleet): Promise<void> {
    const name = spec.name;
    // A stale copy (the cache lags) or a route the cache has not shown yet: the store's copy, changed alike.
    const change = (cur: TrafficRoute) => {
      if (sameRoute(cur.spec, spec) && cur.metadata.labels[LABEL_FLEET] === spec.fleet) return false;
      cur.metadata.labels = { ...cur.metadata.labels, [LABEL_FLEET]: spec.fleet };
      cur.spec = spec;
    };
    let w: TrafficRoute | undefined;
    if (existing) {
      // The copy in hand is written at once: a fleet pass writes thousands of routes.
      w = await updateOrMutate<TrafficRoute>(ctx.store, { ...existing, metadata: { ...existing.metadata, labels: { ...existing.metadata.labels, [LABEL_FLEET]: spec.fleet } }, spec }, change);
    } else {
      const owner = { apiVersion: API_VERSION, kind: 'Fleet', name: fleet.metadata.name, uid: fleet.metadata.uid ?? '', controller: true };
      const desired: TrafficRoute = {
        apiVersion: API_VERSION,
        kind: 'TrafficRoute',
        metadata: { name, labels: { [LABEL_FLEET]: spec.fleet }, annotations: {}, finalizers: [], ownerReferences: [owner] },
        spec,
      };
      w = await createOrMutate<TrafficRoute>(ctx.store, desired, change);
    }
    if (w && ctx.cache) {
      this.written.updated(w);
      if (w.metadata.resourceVersion !== undefined) this.echoes.set(name, w.metadata.resourceVersion);
    }
  }

  private async deleteRoute(ctx: ReconcileContext, name: string): Promise<void> {
    this.written.forget(name);
    await deleteIgnoringNotFound(ctx, 'TrafficRoute', name);
  }

  /**
   * The fleet's objects but its tenants and routes: a heartbeat or a Prod's status change comes here
   * several times a second, and finding the fleet's tenants and routes goes over every one of them.
   */
  private async inputs(ctx: ReconcileContext, key: string): Promise<FleetInputs> {
    const read = reader(ctx);
    const [fleet, prods, clusters, policies, migrations] = await Promise.all([
      read.get('Fleet', key),
      read.list('Prod'),
      read.list('Cluster'),
      read.list('TrafficPolicy'),
      read.list('Migration'),
    ]);
    return {
      fleet,
      prods: prods.filter((p) => p.spec.fleet === key),
      clusters,
      policy: policies.find((p) => p.metadata.name === key && p.spec.fleet === key) ?? policies.find((p) => p.spec.fleet === key),
      migrations: migrations.filter((m) => m.spec.fleet === key),
    };
  }

  private async tenantsAndRoutes(ctx: ReconcileContext, key: string): Promise<{ tenants: Tenant[]; routes: TrafficRoute[] }> {
    const read = reader(ctx);
    const [tenants, routes] = await Promise.all([read.list('Tenant'), read.list('TrafficRoute')]);
    return { tenants: tenants.filter((t) => t.spec.fleet === key), routes: routes.filter((r) => r.spec.fleet === key) };
  }
}

function routingSignature(r: FleetRouting): string {
  return JSON.stringify([r.tenantHeader, [...r.swaps], [...r.serving].sort(), [...r.fallbackOk].sort((a, b) => (a[0] < b[0] ? -1 : 1))]);
}

/** Equal as JSON (what `canonicalJson` compares), without building the two strings for every route of a fleet. */
function sameRoute(a: TrafficRouteSpec, b: TrafficRouteSpec): boolean {
  return sameJson(a, b);
}

export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameJson(a[i], b[i])) return false;
    return true;
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  // Keys whose value is undefined are not in the JSON.
  let n = 0;
  for (const k in ao) {
    if (ao[k] === undefined) continue;
    n++;
    if (!sameJson(ao[k], bo[k])) return false;
  }
  for (const k in bo) if (bo[k] !== undefined) n--;
  return n === 0;
}

function yieldToLoop(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}


async function deleteIgnoringNotFound(ctx: ReconcileContext, kind: string, key: string): Promise<void> {
  try {
    await ctx.store.delete(kind, key);
  } catch (e) {
    if (!isDroverError(e, 'DROVER_E_NOT_FOUND')) throw e;
  }
}

export function trafficController(): Reconciler {
  return new TrafficController();
}
