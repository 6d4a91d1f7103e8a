/**
 * The routing table: the traffic rules as data, compiled from the plans and the current health of each
 * endpoint, rebuilt whenever either changes (rare) and read by every request (often) through Maps and
 * precompiled pickers only. Pure: no I/O, no clocks; randomness and health come in as arguments.
 *
 * Rules (the contract every data plane implements; test/conformance/edge/ holds each to it):
 * 1. Tenant match: exact host, then `*.` wildcard host, then the tenant header. A matched tenant with
 *    assigned Prods is served by its healthy active ones, client-affine by a hash of the client key.
 * 2. Other requests: endpoint groups with traffic dials and weights. Each group with a dial > 0 and a
 *    healthy endpoint of weight > 0 keeps a share proportional to its dial, spread by weight inside.
 * 3. Unhealthy endpoints get no new requests (health is an input).
 * 4. A group with dial > 0 but no healthy endpoint of weight > 0 hands its share to the failover pool:
 *    healthy, active, failoverTarget endpoints of weight > 0 in any group, by weight, ignoring dials.
 *    Draining and non-failover-target endpoints never get failover traffic unless failoverToDraining.
 *    A tenant whose Prods are all unhealthy is served by its healthy fallback Prods (the plan's `fallback`:
 *    where the scheduler would move it), else from the same failover pool. An empty pool is an
 *    unservable share: failClosed answers 503, failOpen tries the unhealthy endpoints.
 * 5. A test tenant is served by its own (test) Prods, their fallbacks, then any healthy test Prod of its
 *    fleet: never by the groups, the failover pool or fail-open over normal Prods. With no test Prod
 *    healthy it is unservable (503).
 * 6. Endpoints not in the plan, or draining, are never picked for new requests.
 * 7. A tenant (or, for a migration of every tenant, an unmatched request) covered by a Migration's legacy
 *    set: users whose affinity bucket is at or above the fleet share go to a healthy legacy endpoint
 *    (legacy-split.ts), the others through rules 1–5. A side with nothing healthy hands its users to the
 *    other side rather than fail them.
 */
import type { PlanEndpoint, PlanTenant, TrafficPlanSpec } from '../api/kinds/traffic-plan.js';
import { buildSplits, onLegacySide, pickLegacy, type LegacySplit } from './legacy-split.js';
import { fnv1a, WeightedPicker } from './picker.js';

export interface EndpointRef {
  readonly name: string;
  /** Cluster the endpoint runs on: a retry prefers another cluster (a dead cluster takes all its Prods). */
  readonly cluster?: string;
}

export interface TenantRoute<E> {
  readonly name: string;
  readonly fleet: FleetRoute<E>;
  /** Assigned active endpoints in plan order (affinity hashes over all of them, healthy or not). */
  readonly assigned: readonly E[];
  readonly healthy: ReadonlySet<E>;
  readonly healthyCount: number;
  /**
   * Where the scheduler would move the tenant if its Prods' cluster died (the plan's `fallback`), in plan
   * order, and the healthy ones: used when none of the assigned Prods is healthy, before the fleet's pool.
   */
  readonly fallback: readonly E[];
  readonly fallbackHealthy: ReadonlySet<E>;
  /** A test tenant: its own Prods and fallbacks only, never the groups, the pool or normal Prods. */
  readonly test: boolean;
  /** The legacy side of a Migration covering this tenant (rule 7). */
  readonly legacy: LegacySplit<E> | undefined;
}

export interface FleetRoute<E> {
  readonly name: string;
  readonly plan: TrafficPlanSpec;
  /** Unmatched traffic: dials and weights, with failed groups' shares moved to the failover pool. */
  readonly groups: WeightedPicker<E>;
  /** Failover pool (healthy, active, failover targets by weight; ignoring dials). */
  readonly failover: WeightedPicker<E>;
  /** failOpen: every active endpoint, healthy or not. */
  readonly failOpen: WeightedPicker<E>;
  /**
   * Healthy active test Prods, evenly: the last resort of a test tenant whose own Prods are gone from
   * the plan or down (e.g. the moment between a plan update and its route update while its test Prod is
   * replaced) — a test tenant never reaches a normal Prod.
   */
  readonly testPool: WeightedPicker<E>;
  /** The legacy side of a Migration of every tenant, for requests that match no tenant (rule 7). */
  readonly legacy: LegacySplit<E> | undefined;
}

export type PickReason = 'tenant' | 'fallback' | 'group' | 'failover' | 'failOpen' | 'legacy';

export interface Pick<E> {
  endpoint: E;
  reason: PickReason;
}

export interface RouteInput {
  /** Host header without port, lower-case. */
  host: string | undefined;
  header: (name: string) => string | undefined;
}

export class RouteTable<E extends EndpointRef> {
  private readonly exact = new Map<string, TenantRoute<E>>();
  private readonly wildcard = new Map<string, TenantRoute<E>>();
  private readonly byHeader = new Map<string, Map<string, TenantRoute<E>>>();
  private readonly headerNames: string[] = [];
  readonly fleets = new Map<string, FleetRoute<E>>();
  /** The fleet for requests no tenant matches: the first plan. */
  readonly defaultFleet: FleetRoute<E> | undefined;

  constructor(plans: readonly TrafficPlanSpec[], endpoints: ReadonlyMap<string, E>, isHealthy: (e: E) => boolean) {
    for (const plan of plans) {
      const splits = buildSplits(plan, endpoints, isHealthy);
      const fleet = buildFleet(plan, endpoints, isHealthy, splits.unmatched);
      this.fleets.set(plan.fleet, fleet);
      for (const t of plan.tenants) this.addTenant(t, fleet, endpoints, isHealthy, splits.forTenant(t.name));
    }
    this.defaultFleet = plans[0] ? this.fleets.get(plans[0].fleet) : undefined;
  }

  private addTenant(t: PlanTenant, fleet: FleetRoute<E>, endpoints: ReadonlyMap<string, E>, isHealthy: (e: E) => boolean, legacy: LegacySplit<E> | undefined): void {
    const active = new Map(fleet.plan.endpoints.map((e) => [e.prod, e] as const));
    const assigned: E[] = [];
    const healthy = new Set<E>();
    for (const name of t.prods) {
      const pe = active.get(name);
      const e = endpoints.get(name);
      if (!pe || !e || pe.state !== 'active') continue;
      assigned.push(e);
      if (isHealthy(e)) healthy.add(e);
    }
    const fallback: E[] = [];
    const fallbackHealthy = new Set<E>();
    for (const name of t.fallback ?? []) {
      const pe = active.get(name);
      const e = endpoints.get(name);
      if (!pe || !e || pe.state !== 'active' || assigned.includes(e)) continue;
      fallback.push(e);
      if (isHealthy(e)) fallbackHealthy.add(e);
    }
    const route: TenantRoute<E> = { name: t.name, fleet, assigned, healthy, healthyCount: healthy.size, fallback, fallbackHealthy, test: t.test === true, legacy };
    for (const h of t.hosts) {
      if (h.startsWith('*.')) {
        const suffix = h.slice(2);
        if (!this.wildcard.has(suffix)) this.wildcard.set(suffix, route);
      } else if (!this.exact.has(h)) this.exact.set(h, route);
    }
    if (t.header) {
      let m = this.byHeader.get(t.header.name);
      if (!m) {
        m = new Map();
        this.byHeader.set(t.header.name, m);
        this.headerNames.push(t.header.name);
      }
      if (!m.has(t.header.value)) m.set(t.header.value, route);
    }
  }

  /** Pass 1: which tenant a request belongs to (host, then wildcard host, then header). */
  matchTenant(input: RouteInput): TenantRoute<E> | undefined {
    const host = input.host;
    if (host !== undefined && host !== '') {
      const t = this.exact.get(host);
      if (t) return t;
      const dot = host.indexOf('.');
      if (dot > 0) {
        const w = this.wildcard.get(host.slice(dot + 1));
        if (w) return w;
      }
    }
    for (let i = 0; i < this.headerNames.length; i++) {
      const name = this.headerNames[i]!;
      const v = input.header(name);
      if (v !== undefined) {
        const t = this.byHeader.get(name)?.get(v);
        if (t) return t;
      }
    }
    return undefined;
  }

  /**
   * Pass 2: the endpoint for a request. `affinity` is the client key's hash (undefined: no affinity),
   * `r` a uniform random number in [0, 1), `exclude` an endpoint already tried (for the retry).
   * Undefined: nothing may serve this request under the plan's fail mode.
   */
  pick(tenant: TenantRoute<E> | undefined, affinity: number | undefined, r: number, exclude?: E): Pick<E> | undefined {
    if (exclude !== undefined && exclude.cluster !== undefined) {
      // A retry goes to another cluster when one can serve, else to another Prod of the same cluster.
      const cluster = exclude.cluster;
      const other = this.pickWith(tenant, affinity, r, (e) => e === exclude || e.cluster === cluster);
      if (other) return other;
    }
    return this.pickWith(tenant, affinity, r, exclude === undefined ? undefined : (e) => e === exclude);
  }

  /** The legacy side covering a request of this tenant (undefined: none), for the affinity key it needs. */
  legacyFor(tenant: TenantRoute<E> | undefined): LegacySplit<E> | undefined {
    return tenant ? tenant.legacy : this.defaultFleet?.legacy;
  }

  private pickWith(tenant: TenantRoute<E> | undefined, affinity: number | undefined, r: number, exclude: ((e: E) => boolean) | undefined): Pick<E> | undefined {
    const fleet = tenant?.fleet ?? this.defaultFleet;
    if (!fleet) return undefined;
    const split = tenant ? tenant.legacy : fleet.legacy;
    if (split === undefined) return this.pickFleet(fleet, tenant, affinity, r, exclude);
    const legacySide = onLegacySide(split, affinity, r);
    if (legacySide) {
      const e = pickLegacy(split, affinity, r, exclude);
      if (e) return { endpoint: e, reason: 'legacy' };
    }
    const f = this.pickFleet(fleet, tenant, affinity, r, exclude);
    if (f || legacySide) return f;
    // The fleet cannot serve this fleet-side user: the legacy side still can.
    const e = pickLegacy(split, affinity, r, exclude);
    return e ? { endpoint: e, reason: 'legacy' } : undefined;
  }

  private pickFleet(fleet: FleetRoute<E>, tenant: TenantRoute<E> | undefined, affinity: number | undefined, r: number, exclude: ((e: E) => boolean) | undefined): Pick<E> | undefined {
    if (tenant && tenant.assigned.length > 0) {
      if (tenant.healthyCount > 0) {
        const e = pickAmong(tenant.assigned, tenant.healthy, affinity, r, exclude);
        if (e) return { endpoint: e, reason: 'tenant' };
      }
      if (tenant.fallbackHealthy.size > 0) {
        const e = pickAmong(tenant.fallback, tenant.fallbackHealthy, affinity, r, exclude);
        if (e) return { endpoint: e, reason: 'fallback' };
      }
      const pool = tenant.test ? fleet.testPool : fleet.failover;
      const f = exclude ? pool.pickExcluding(exclude, r) : pool.pick(r);
      if (f) return { endpoint: f, reason: 'failover' };
      return failOpen(fleet, r, exclude, tenant);
    }
    // A test tenant without a Prod of its own: any healthy test Prod of the fleet, never a normal one.
    if (tenant?.test) {
      const f = exclude ? fleet.testPool.pickExcluding(exclude, r) : fleet.testPool.pick(r);
      return f ? { endpoint: f, reason: 'failover' } : undefined;
    }
    const g = exclude ? fleet.groups.pickExcluding(exclude, r) : fleet.groups.pick(r);
    if (g) return { endpoint: g, reason: 'group' };
    // An unservable share (null), no endpoints, or nothing else left to retry on.
    if (exclude) {
      const f = fleet.failover.pickExcluding(exclude, r);
      if (f) return { endpoint: f, reason: 'failover' };
    }
    return failOpen(fleet, r, exclude, undefined);
  }
}

function failOpen<E extends EndpointRef>(fleet: FleetRoute<E>, r: number, exclude: ((e: E) => boolean) | undefined, tenant: TenantRoute<E> | undefined): Pick<E> | undefined {
  if (fleet.plan.failMode !== 'failOpen') return undefined;
  if (tenant && tenant.assigned.length > 0) {
    const n = tenant.assigned.length;
    const start = Math.floor(r * n);
    for (let i = 0; i < n; i++) {
      const e = tenant.assigned[(start + i) % n]!;
      if (!exclude?.(e)) return { endpoint: e, reason: 'failOpen' };
    }
  }
  if (tenant?.test) return undefined;
  const e = exclude ? fleet.failOpen.pickExcluding(exclude, r) : fleet.failOpen.pick(r);
  return e ? { endpoint: e, reason: 'failOpen' } : undefined;
}

/** Client-affine over all of `list` (healthy or not, so clients stay put), skipping the unhealthy. */
function pickAmong<E extends EndpointRef>(list: readonly E[], healthy: ReadonlySet<E>, affinity: number | undefined, r: number, exclude: ((e: E) => boolean) | undefined): E | undefined {
  const n = list.length;
  const start = affinity === undefined ? Math.floor(r * n) : affinity % n;
  for (let i = 0; i < n; i++) {
    const e = list[(start + i) % n]!;
    if (!exclude?.(e) && healthy.has(e)) return e;
  }
  return undefined;
}

function buildFleet<E extends EndpointRef>(plan: TrafficPlanSpec, endpoints: ReadonlyMap<string, E>, isHealthy: (e: E) => boolean, legacy: LegacySplit<E> | undefined): FleetRoute<E> {
  const info = new Map<string, PlanEndpoint>(plan.endpoints.map((e) => [e.prod, e] as const));
  const usable = (name: string): E | undefined => {
    const pe = info.get(name);
    const e = endpoints.get(name);
    return pe && e && pe.state === 'active' && isHealthy(e) ? e : undefined;
  };

  // Failover pool: by weight over every group, ignoring dials.
  const pool = new Map<E, number>();
  const drainingPool = new Map<E, number>();
  const open = new Map<E, number>();
  for (const g of plan.groups) {
    for (const m of g.endpoints) {
      const pe = info.get(m.prod);
      const e = endpoints.get(m.prod);
      if (!pe || !e || m.weight <= 0) continue;
      if (pe.state === 'active' && pe.failoverTarget) open.set(e, (open.get(e) ?? 0) + m.weight);
      if (!isHealthy(e)) continue;
      if (pe.state === 'active' && pe.failoverTarget) pool.set(e, (pool.get(e) ?? 0) + m.weight);
      else drainingPool.set(e, (drainingPool.get(e) ?? 0) + m.weight);
    }
  }
  if (plan.failoverToDraining) {
    // Endpoints in no group (e.g. drained ones) may take failover traffic too, at a nominal weight.
    for (const pe of plan.endpoints) {
      const e = endpoints.get(pe.prod);
      if (e && isHealthy(e) && !pool.has(e) && !drainingPool.has(e)) drainingPool.set(e, 1);
    }
  }
  const failoverEntries = pool.size > 0 || !plan.failoverToDraining ? pool : drainingPool;
  const failoverTotal = sum(failoverEntries.values());

  // Groups: dial share each, failed groups' shares into the pool.
  const entries: [E | null, number][] = [];
  let failedShare = 0;
  let dialTotal = 0;
  for (const g of plan.groups) dialTotal += g.trafficDial;
  for (const g of plan.groups) {
    if (g.trafficDial <= 0 && dialTotal > 0) continue;
    const dial = dialTotal > 0 ? g.trafficDial : 1;
    const healthy: [E, number][] = [];
    for (const m of g.endpoints) {
      const e = m.weight > 0 ? usable(m.prod) : undefined;
      if (e) healthy.push([e, m.weight]);
    }
    const hw = sum(healthy.map(([, w]) => w));
    if (hw <= 0) {
      failedShare += dial;
      continue;
    }
    for (const [e, w] of healthy) entries.push([e, (dial * w) / hw]);
  }
  if (failedShare > 0) {
    if (failoverTotal > 0) for (const [e, w] of failoverEntries) entries.push([e, (failedShare * w) / failoverTotal]);
    else entries.push([null, failedShare]);
  }
  const testPool: [E, number][] = [];
  for (const pe of plan.endpoints) {
    const e = pe.role === 'test' ? usable(pe.prod) : undefined;
    if (e) testPool.push([e, 1]);
  }
  return {
    name: plan.fleet,
    plan,
    testPool: new WeightedPicker(testPool),
    groups: new WeightedPicker(entries),
    failover: new WeightedPicker([...failoverEntries]),
    failOpen: new WeightedPicker([...open]),
    legacy,
  };
}

function sum(xs: Iterable<number>): number {
  let s = 0;
  for (const x of xs) s += x;
  return s;
}

/** Affinity key hash for a client (undefined when the plan has no affinity). */
export function affinityHash(key: string | undefined): number | undefined {
  return key === undefined ? undefined : fnv1a(key);
}
