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
import { API_VERSION } from '../api/meta.js';
import type { AnyResource } from '../api/resource.js';
import type { Cluster } from '../api/kinds/cluster.js';
import type { Fleet } from '../api/kinds/fleet.js';
import type { Prod } from '../api/kinds/prod.js';
import type { Tenant } from '../api/kinds/tenant.js';
import type { TrafficPlan, TrafficRoute, TrafficRouteSpec } from '../api/kinds/traffic-plan.js';
import type { TrafficPolicy } from '../api/kinds/traffic-policy.js';
import { isDroverError } from '../errors.js';
import type { ReconcileContext, Reconciler, Result, WatchSpec } from '../runtime/reconciler.js';
import { computeFallbacksOffThread, OFF_THREAD_MIN_TENANTS } from '../scheduler/worker-client.js';
import { schedulingSignature } from '../scheduler/signature.js';
import { canonicalJson } from '../store/object-semantics.js';
import { compileFleet, compileTenant, planContent, type FleetRouting } from '../traffic/compile-plan.js';
import type { ControllerFactory } from './index.js';
import { runPool } from '../runtime/run-pool.js';

const TENANT_PREFIX = 'tenant/';
/**
 * New and changed tenants get their fallback from a fleet pass this much later, a burst sharing one: the
 * what-if costs one assignment pass per cluster over the whole fleet (seconds at 100k tenants).
 */
const FALLBACK_REFRESH_MS = 30_000;
/** Route writes in flight at once during a fleet pass (the store commits them in groups). */
const WRITE_CONCURRENCY = 64;
/** A fleet pass yields to the event loop after this many tenants, so the API keeps answering. */
const YIELD_EVERY = 500;

function fleetOf(obj: AnyResource): string[] {
  const spec = obj.spec as { fleet?: unknown } | undefined;
  return typeof spec?.fleet === 'string' ? [spec.fleet] : [];
}

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
  tenants: Tenant[];
  policy: TrafficPolicy | undefined;
  routes: TrafficRoute[];
}

export class TrafficController implements Reconciler {
  readonly name = 'traffic';
  readonly resyncMs = 60_000;
  /** Fleets seen so far: a Cluster change may affect any of them. */
  private readonly known = new Set<string>();
  private readonly memo = new Map<string, FleetMemo>();
  /** Routes as this controller last wrote them, until the cache shows that write (it lags the store). */
  private readonly written = new Map<string, TrafficRoute>();
  readonly watches: readonly WatchSpec[] = [
    { kind: 'Fleet' },
    { kind: 'Prod', mapToKeys: fleetOf },
    { kind: 'Tenant', mapToKeys: (obj) => this.tenantChanged(obj) },
    { kind: 'Tenant', mapToKeys: fleetOf, delayMs: FALLBACK_REFRESH_MS },
    { kind: 'TrafficPolicy', mapToKeys: fleetOf },
    { kind: 'Cluster', mapToKeys: (): string[] => [...this.known] },
    { kind: 'TrafficPlan' },
    // A route changed or deleted by someone else is put back.
    { kind: 'TrafficRoute', mapToKeys: (obj) => [TENANT_PREFIX + obj.metadata.name] },
  ];

  private tenantChanged(obj: AnyResource): string[] {
    for (const f of fleetOf(obj)) {
      const m = this.memo.get(f);
      if (m) m.tenantsChanged = true;
    }
    return [TENANT_PREFIX + obj.metadata.name];
  }

  async listKeys(ctx: ReconcileContext): Promise<string[]> {
    const [fleets, plans] = await Promise.all([ctx.store.list<Fleet>('Fleet'), ctx.store.list<TrafficPlan>('TrafficPlan')]);
    const keys = new Set([...fleets.items.map((f) => f.metadata.name), ...plans.items.map((p) => p.metadata.name)]);
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
    const existing = ctx.cache ? ctx.cache.get<TrafficPlan>('TrafficPlan', key) : await store.get<TrafficPlan>('TrafficPlan', key);
    const fleet = input.fleet;
    if (!fleet || fleet.metadata.deletionTimestamp) {
      this.known.delete(key);
      this.memo.delete(key);
      if (existing) await deleteIgnoringNotFound(ctx, 'TrafficPlan', key);
      // Routes are removed with their plan: the data planes no longer follow the fleet.
      await runPool(
        input.routes.map((r) => () => this.deleteRoute(ctx, r.metadata.name)),
        WRITE_CONCURRENCY,
      );
      return {};
    }
    this.known.add(key);
    const { plan: compiled, routing } = compileFleet({ fleet, prods: input.prods, clusters: input.clusters, policy: input.policy });
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
    const memo: FleetMemo =
      fallbacksDue || !prev
        ? { routing, routingSig, schedSig, fallbacks: await computeFallbacksOffThread({ fleet, clusters: input.clusters, prods: input.prods, tenants: input.tenants }), fallbacksAt: Date.now(), tenantsChanged: prev ? prev.tenantsChanged : input.tenants.length >= OFF_THREAD_MIN_TENANTS }
        : { ...prev, routing, routingSig };
    this.memo.set(key, memo);
    const { fallbacks } = memo;
    const owner = { apiVersion: API_VERSION, kind: 'Fleet', name: key, uid: fleet.metadata.uid ?? '', controller: true };

    if (!existing || canonicalJson(planContent(existing.spec)) !== canonicalJson(planContent(compiled))) {
      const spec = { ...compiled, revision: (existing?.spec.revision ?? 0) + 1 };
      if (existing) {
        // Compare-and-swap on the version we read: a concurrent writer makes this fail and retry.
        await store.update<TrafficPlan>({ ...existing, spec });
      } else {
        await store.create<TrafficPlan>({
          apiVersion: API_VERSION,
          kind: 'TrafficPlan',
          metadata: { name: key, labels: { 'drover.dev/fleet': key }, annotations: {}, finalizers: [], ownerReferences: [owner] },
          spec,
        });
      }
    }

    // Tenants changed, but the last what-if is too recent: come back when it is due.
    const later: Result = memo.tenantsChanged ? { requeueAfterMs: Math.max(1_000, memo.fallbacksAt + FALLBACK_REFRESH_MS - Date.now()) } : {};
    if (!routesDue) return later;
    // Every route of the fleet, written where it changed; routes of tenants gone from the fleet removed.
    const writes: (() => Promise<void>)[] = [];
    const wanted = new Set<string>();
    let n = 0;
    for (const t of input.tenants) {
      if (++n % YIELD_EVERY === 0) await yieldToLoop();
      if (t.metadata.deletionTimestamp) continue;
      wanted.add(t.metadata.name);
      const spec: TrafficRouteSpec = { ...compileTenant(routing, t, fallbacks.get(t.metadata.name)), fleet: key };
      const route = this.current(ctx, t.metadata.name);
      if (route && sameRoute(route.spec, spec)) continue;
      writes.push(() => this.writeRoute(ctx, route, spec, fleet));
    }
    for (const r of input.routes) if (!wanted.has(r.metadata.name)) writes.push(() => this.deleteRoute(ctx, r.metadata.name));
    await runPool(writes, WRITE_CONCURRENCY);
    return later;
  }

  private async reconcileTenant(ctx: ReconcileContext, name: string): Promise<Result> {
    const tenant = ctx.cache ? ctx.cache.get<Tenant>('Tenant', name) : await ctx.store.get<Tenant>('Tenant', name);
    const route = this.current(ctx, name);
    if (!tenant || tenant.metadata.deletionTimestamp) {
      if (route) await this.deleteRoute(ctx, name);
      return {};
    }
    const fleetName = tenant.spec.fleet;
    const fleet = ctx.cache ? ctx.cache.get<Fleet>('Fleet', fleetName) : await ctx.store.get<Fleet>('Fleet', fleetName);
    if (!fleet || fleet.metadata.deletionTimestamp) {
      if (route) await this.deleteRoute(ctx, name);
      return {};
    }
    // No fleet pass yet (a new fleet, or this controller just started): it compiles this route too.
    if (!this.memo.has(fleetName)) return this.reconcileFleet(ctx, fleetName);
    const memo = this.memo.get(fleetName)!;
    const spec: TrafficRouteSpec = { ...compileTenant(memo.routing, tenant, memo.fallbacks.get(name)), fleet: fleetName };
    if (route && sameRoute(route.spec, spec)) return {};
    await this.writeRoute(ctx, route, spec, fleet);
    return {};
  }

  /** The route as stored: the cache's copy, or this controller's own later write the cache does not show yet. */
  private current(ctx: ReconcileContext, name: string): TrafficRoute | undefined {
    const cached = ctx.cache?.get<TrafficRoute>('TrafficRoute', name);
    const w = this.written.get(name);
    if (!w) return cached;
    if (cached && !olderThan(cached, w)) {
      this.written.delete(name);
      return cached;
    }
    // Our write, not delivered to the cache yet.
    return w;
  }

  private async writeRoute(ctx: ReconcileContext, existing: TrafficRoute | undefined, spec: TrafficRouteSpec, fleet: Fleet): Promise<void> {
    const name = spec.name;
    let w: TrafficRoute;
    if (existing) {
      w = await ctx.store.update<TrafficRoute>({ ...existing, metadata: { ...existing.metadata, labels: { ...existing.metadata.labels, 'drover.dev/fleet': spec.fleet } }, spec });
    } else {
      const owner = { apiVersion: API_VERSION, kind: 'Fleet', name: fleet.metadata.name, uid: fleet.metadata.uid ?? '', controller: true };
      try {
        w = await ctx.store.create<TrafficRoute>({
          apiVersion: API_VERSION,
          kind: 'TrafficRoute',
          metadata: { name, labels: { 'drover.dev/fleet': spec.fleet }, annotations: {}, finalizers: [], ownerReferences: [owner] },
          spec,
        });
      } catch (e) {
        // The cache has not shown a route that exists: read it and compare-and-swap on it.
        if (!isDroverError(e, 'DROVER_E_ALREADY_EXISTS')) throw e;
        const stored = await ctx.store.get<TrafficRoute>('TrafficRoute', name);
        if (!stored) throw e;
        if (sameRoute(stored.spec, spec)) return;
        w = await ctx.store.update<TrafficRoute>({ ...stored, spec });
      }
    }
    if (ctx.cache) this.written.set(name, w);
  }

  private async deleteRoute(ctx: ReconcileContext, name: string): Promise<void> {
    this.written.delete(name);
    await deleteIgnoringNotFound(ctx, 'TrafficRoute', name);
  }

  private async inputs(ctx: ReconcileContext, key: string): Promise<FleetInputs> {
    const pickPolicy = (all: readonly TrafficPolicy[]) => all.find((p) => p.metadata.name === key && p.spec.fleet === key) ?? all.find((p) => p.spec.fleet === key);
    const cache = ctx.cache;
    if (cache) {
      return {
        fleet: cache.get<Fleet>('Fleet', key),
        prods: cache.list<Prod>('Prod').filter((p) => p.spec.fleet === key),
        clusters: cache.list<Cluster>('Cluster'),
        tenants: cache.list<Tenant>('Tenant').filter((t) => t.spec.fleet === key),
        policy: pickPolicy(cache.list<TrafficPolicy>('TrafficPolicy')),
        routes: cache.list<TrafficRoute>('TrafficRoute').filter((r) => r.spec.fleet === key),
      };
    }
    const { store } = ctx;
    const [fleet, prods, clusters, tenants, policies, routes] = await Promise.all([
      store.get<Fleet>('Fleet', key),
      store.list<Prod>('Prod'),
      store.list<Cluster>('Cluster'),
      store.list<Tenant>('Tenant'),
      store.list<TrafficPolicy>('TrafficPolicy'),
      store.list<TrafficRoute>('TrafficRoute'),
    ]);
    return {
      fleet,
      prods: prods.items.filter((p) => p.spec.fleet === key),
      clusters: clusters.items,
      tenants: tenants.items.filter((t) => t.spec.fleet === key),
      policy: pickPolicy(policies.items),
      routes: routes.items.filter((r) => r.spec.fleet === key),
    };
  }
}

function routingSignature(r: FleetRouting): string {
  return JSON.stringify([r.tenantHeader, [...r.swaps], [...r.serving].sort(), [...r.fallbackOk].sort((a, b) => (a[0] < b[0] ? -1 : 1))]);
}

function sameRoute(a: TrafficRouteSpec, b: TrafficRouteSpec): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

/** Revisions are store-wide counters; anything else counts as not older. */
function olderThan(a: AnyResource, b: AnyResource): boolean {
  try {
    return BigInt(a.metadata.resourceVersion ?? '') < BigInt(b.metadata.resourceVersion ?? '');
  } catch {
    return false;
  }
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

export const trafficControllerFactory: ControllerFactory = () => new TrafficController();
