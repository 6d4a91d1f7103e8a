/**
 * What the scheduler controller keeps between passes: per fleet, the load and demand the last passes left
 * (so that a few changed tenants are placed without the others), and the Tenant changes seen since (the
 * dirty sets, fed by the watch), so that a burst of tenant changes costs work in proportion to the change.
 */
import type { Tenant } from '../api/index.js';
import type { AnyResource } from '../api/resource.js';
import type { WatchEventType } from '../store/store.js';
import { assignTenants } from '../scheduler/assign-tenants.js';
import type { AssignResult } from '../scheduler/model.js';
import { buildSnapshot, type FleetObjects, type FleetSnapshot } from '../scheduler/snapshot.js';

/** Loops over a whole fleet give the event loop a turn this often. */
export const YIELD_EVERY = 2_000;

export function yieldToLoop(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}

/** What the last pass left, per fleet: enough to place a few more tenants without the others. */
export interface FleetState {
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

export interface TenantEntry {
  users: number;
  redundancy: number;
  role: 0 | 1;
  prods: string[];
  /** The Tenant's resourceVersion as this controller last saw or wrote it. */
  rv: string | undefined;
}

function entryOf(t: Tenant, prods: string[]): TenantEntry {
  return { users: t.spec.users, redundancy: t.spec.redundancy, role: t.spec.test ? 1 : 0, prods, rv: t.metadata.resourceVersion };
}

function prodsOf(snap: FleetSnapshot, result: AssignResult, i: number): string[] {
  const prods: string[] = [];
  for (const p of [result.slot0[i] ?? -1, result.slot1[i] ?? -1]) if (p >= 0) prods.push(snap.prodInfo[p]?.name ?? '');
  return prods;
}

/** The fleet's load and demand after a full pass, per tenant so that a changed one can be taken out. */
export async function stateAfterFullPass(sig: string, tenants: readonly Tenant[], snap: FleetSnapshot, result: AssignResult): Promise<FleetState> {
  const byName = new Map(tenants.map((t) => [t.metadata.name, t]));
  const state: FleetState = { sig, fullAt: Date.now(), load: new Map(), demand1: [0, 0], demand2: [0, 0], tenants: new Map() };
  snap.prodInfo.forEach((p, i) => state.load.set(p.name, result.load[i] ?? 0));
  for (let i = 0; i < snap.tenantNames.length; i++) {
    if (i > 0 && i % YIELD_EVERY === 0) await yieldToLoop();
    const name = snap.tenantNames[i] ?? '';
    const t = byName.get(name);
    if (!t) continue;
    const entry = entryOf(t, prodsOf(snap, result, i));
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
export function incremental(state: FleetState, objs: FleetObjects, changed: ReadonlySet<string>, epsilon: number | undefined): { snap: FleetSnapshot; result: AssignResult } {
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
    const entry = entryOf(t, prodsOf(snap, result, i));
    for (const pn of entry.prods) state.load.set(pn, (state.load.get(pn) ?? 0) + t.spec.users);
    state.tenants.set(name, entry);
    (entry.redundancy === 2 ? state.demand2 : state.demand1)[entry.role] += entry.users;
  }
  return { snap, result };
}

/**
 * The Tenant changes since each fleet's last pass, from the watch (`onChange` is the watch's mapping):
 * a pass then reads those tenants alone instead of comparing every tenant of the fleet. Also which fleets
 * have tenants (for the resync's keys, without listing every Tenant).
 *
 * `fed` turns true with the first change: from then on every change passes through here (the manager's
 * informer delivers each object once as an add when it starts, before any pass). A reconciler called
 * without a watch (unit tests, one-shot commands) finds changes by comparing resourceVersions instead.
 */
export class TenantFeed {
  fed = false;
  private readonly dirty = new Map<string, Set<string>>();
  private readonly fleetOfTenant = new Map<string, string>();
  private readonly tenantsPerFleet = new Map<string, number>();

  /**
   * Records a Tenant change; returns the fleets whose pass it concerns (its fleet, and the one it left).
   * `settled(t)`: the last pass already placed the tenant as it now is (this controller's own status
   * write coming back): no pass for it.
   */
  onChange(obj: AnyResource, type: WatchEventType, settled: (t: Tenant) => boolean): string[] {
    this.fed = true;
    const name = obj.metadata.name;
    const f = (obj.spec as { fleet?: unknown } | undefined)?.fleet;
    const fleet = typeof f === 'string' ? f : undefined;
    const before = this.fleetOfTenant.get(name);
    if (before !== undefined && (type === 'DELETED' || before !== fleet)) {
      this.fleetOfTenant.delete(name);
      this.count(before, -1);
    }
    if (type !== 'DELETED' && fleet !== undefined && this.fleetOfTenant.get(name) !== fleet) {
      this.fleetOfTenant.set(name, fleet);
      this.count(fleet, 1);
    }
    if (type === 'MODIFIED' && (before === undefined || before === fleet) && settled(obj as Tenant)) return [];
    const keys: string[] = [];
    for (const k of [fleet, before]) {
      if (k === undefined || keys.includes(k)) continue;
      keys.push(k);
      let set = this.dirty.get(k);
      if (!set) this.dirty.set(k, (set = new Set()));
      set.add(name);
    }
    return keys;
  }

  /** The fleet's changed tenants since the last take (a pass about to read them covers them). */
  take(fleet: string): Set<string> {
    const set = this.dirty.get(fleet) ?? new Set<string>();
    this.dirty.delete(fleet);
    return set;
  }

  /** Fleets that have tenants. */
  fleets(): string[] {
    return [...this.tenantsPerFleet.keys()];
  }

  private count(fleet: string, d: number): void {
    const n = (this.tenantsPerFleet.get(fleet) ?? 0) + d;
    if (n > 0) this.tenantsPerFleet.set(fleet, n);
    else this.tenantsPerFleet.delete(fleet);
  }
}

/**
 * Whether the state already holds the tenant as it now is: its spec observed by its status, the users,
 * redundancy and role it counts with, and the Prods its status names. A Tenant change that passes this
 * (a status write of the pass that placed it) cannot change any placement.
 */
export function placedAsIs(state: FleetState | undefined, t: Tenant): boolean {
  const e = state?.tenants.get(t.metadata.name);
  const s = t.status;
  if (!e || !s || s.observedGeneration !== t.metadata.generation) return false;
  if (e.users !== t.spec.users || e.redundancy !== t.spec.redundancy || e.role !== (t.spec.test ? 1 : 0)) return false;
  return e.prods.length === s.prods.length && e.prods.every((p, i) => p === s.prods[i]);
}
