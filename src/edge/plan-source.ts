/**
 * Where the edge's traffic plans come from. `StorePlanSource` follows TrafficPlans through a Store
 * watch (a RemoteStore in production: the API's watch stream) and keeps the last plans when the control
 * plane is unreachable (static stability), reconnecting with backoff; `FilePlanSource` reads a file
 * (tests, benchmarks, running without a control plane); `StaticPlanSource` is set in code.
 */
import { readFile, stat } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { PlanTenant, TrafficPlanSpec, TrafficRouteSpec } from '../api/kinds/traffic-plan.js';
import type { TrafficPlan, TrafficRoute } from '../api/kinds/traffic-plan.js';
import { parseWith } from '../api/validate.js';
import { isDroverError } from '../errors.js';
import type { Store } from '../store/store.js';
import { assemblePlan } from '../traffic/compile-plan.js';

export type PlanListener = (plans: readonly TrafficPlanSpec[]) => void;

export interface PlanSourceStatus {
  /** Whether the source is currently in touch with where plans come from. */
  connected: boolean;
  lastError?: string;
  /** ISO time of the last plan change applied. */
  lastChange?: string;
}

export interface PlanSource {
  /** Starts following plans; `listener` gets every full set of plans. Resolves once the first set (possibly empty) is known or the first attempt failed. */
  start(listener: PlanListener): Promise<void>;
  stop(): Promise<void>;
  status(): PlanSourceStatus;
}

/** Orders plans as the fleets were asked for (the first is the default for unmatched requests). */
function ordered(plans: Map<string, TrafficPlanSpec>, fleets: readonly string[] | undefined): TrafficPlanSpec[] {
  if (fleets && fleets.length > 0) return fleets.flatMap((f) => (plans.has(f) ? [plans.get(f)!] : []));
  return [...plans.values()].sort((a, b) => (a.fleet < b.fleet ? -1 : a.fleet > b.fleet ? 1 : 0));
}

export class StaticPlanSource implements PlanSource {
  private listener: PlanListener | undefined;
  constructor(private plans: TrafficPlanSpec[] = []) {}

  async start(listener: PlanListener): Promise<void> {
    this.listener = listener;
    listener(this.plans);
  }

  set(plans: TrafficPlanSpec[]): void {
    this.plans = plans;
    this.listener?.(plans);
  }

  async stop(): Promise<void> {
    this.listener = undefined;
  }

  status(): PlanSourceStatus {
    return { connected: true };
  }
}

/**
 * Parses a plan document: a TrafficPlan resource, a bare spec, a List of TrafficPlans, or an array. A List
 * or array may also hold TrafficRoute resources (what `drover get trafficplans,trafficroutes` stores): they
 * are put into their fleet's plan, as the store source does.
 */
export function parsePlanDocument(doc: unknown): TrafficPlanSpec[] {
  const routes: { fleet: string; tenant: PlanTenant }[] = [];
  const one = (d: unknown, i: number): TrafficPlanSpec | undefined => {
    const o = d as { kind?: unknown; spec?: unknown };
    if (o && typeof o === 'object' && o.kind === 'TrafficRoute') {
      const { fleet, ...tenant } = parseWith(TrafficRouteSpec, o.spec, ['items', i, 'spec']);
      routes.push({ fleet, tenant });
      return undefined;
    }
    if (o && typeof o === 'object' && o.kind === 'TrafficPlan') return parseWith(TrafficPlanSpec, o.spec, ['items', i, 'spec']);
    return parseWith(TrafficPlanSpec, d, ['items', i]);
  };
  const o = doc as { kind?: unknown; items?: unknown };
  const items: unknown[] = Array.isArray(doc) ? doc : o && typeof o === 'object' && o.kind === 'List' && Array.isArray(o.items) ? o.items : [doc];
  const plans = items.map(one).filter((p): p is TrafficPlanSpec => p !== undefined);
  if (routes.length === 0) return plans;
  return plans.map((p) =>
    assemblePlan(
      p,
      routes.filter((r) => r.fleet === p.fleet).map((r) => r.tenant),
    ),
  );
}

/** Reads plans from a YAML or JSON file and re-reads it when it changes (polled every `pollMs`). */
export class FilePlanSource implements PlanSource {
  private timer: NodeJS.Timeout | undefined;
  private mtime = 0;
  private st: PlanSourceStatus = { connected: false };

  constructor(
    private readonly path: string,
    private readonly opts: { fleets?: readonly string[]; pollMs?: number } = {},
  ) {}

  async start(listener: PlanListener): Promise<void> {
    await this.load(listener);
    this.timer = setInterval(() => void this.load(listener), this.opts.pollMs ?? 500);
    this.timer.unref();
  }

  private async load(listener: PlanListener): Promise<void> {
    try {
      const s = await stat(this.path);
      if (s.mtimeMs === this.mtime) return;
      const text = await readFile(this.path, 'utf8');
      const plans = parsePlanDocument(parseYaml(text));
      this.mtime = s.mtimeMs;
      this.st = { connected: true, lastChange: new Date().toISOString() };
      listener(ordered(new Map(plans.map((p) => [p.fleet, p] as const)), this.opts.fleets));
    } catch (e) {
      // Keep the last good plans.
      this.st = { ...this.st, connected: false, lastError: e instanceof Error ? e.message : String(e) };
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
  }

  status(): PlanSourceStatus {
    return this.st;
  }
}

export interface StorePlanSourceOptions {
  /** Fleets to follow; all when empty. The first is the default fleet for unmatched requests. */
  fleets?: readonly string[];
  /** First and largest reconnect delays. */
  backoffMs?: { min: number; max: number };
  /** Route changes within this long are handed to the listener together (default 20 ms). */
  coalesceMs?: number;
  log?: (msg: string) => void;
}

/**
 * Follows TrafficPlans (fleet level) and TrafficRoutes (one per tenant) through list + watch, and hands
 * the listener the plans with their routes put back (`assemblePlan`): the same plans as when one object
 * held every tenant, but a tenant change costs one small watch event. Re-lists on a 410 and reconnects
 * with backoff, keeping the last plans meanwhile (static stability).
 */
export class StorePlanSource implements PlanSource {
  private readonly abort = new AbortController();
  private readonly plans = new Map<string, TrafficPlanSpec>();
  /** Fleet → tenant → route. */
  private readonly routes = new Map<string, Map<string, PlanTenant>>();
  /** Where each route is filed (a tenant may change fleets). */
  private readonly routeFleet = new Map<string, string>();
  /** Assembled plans, per fleet, until that fleet's plan or routes change. */
  private readonly assembled = new Map<string, TrafficPlanSpec>();
  private st: PlanSourceStatus = { connected: false };
  private loop: Promise<void> | undefined;
  private emitTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: Store,
    private readonly opts: StorePlanSourceOptions = {},
  ) {}

  private wanted(name: string): boolean {
    const f = this.opts.fleets;
    return !f || f.length === 0 || f.includes(name);
  }

  async start(listener: PlanListener): Promise<void> {
    let first: () => void = () => {};
    const firstDone = new Promise<void>((r) => (first = r));
    this.loop = this.run(listener, () => first());
    await firstDone;
  }

  private emit(listener: PlanListener): void {
    if (this.emitTimer) clearTimeout(this.emitTimer);
    this.emitTimer = undefined;
    this.st = { ...this.st, lastChange: new Date().toISOString() };
    const out = new Map<string, TrafficPlanSpec>();
    for (const [fleet, plan] of this.plans) {
      let a = this.assembled.get(fleet);
      if (!a) {
        a = assemblePlan(plan, this.routes.get(fleet)?.values() ?? []);
        this.assembled.set(fleet, a);
      }
      out.set(fleet, a);
    }
    listener(ordered(out, this.opts.fleets));
  }

  /** A burst of route changes (a tenant import) makes one routing-table rebuild, not one per tenant. */
  private emitSoon(listener: PlanListener): void {
    if (this.emitTimer) return;
    this.emitTimer = setTimeout(() => this.emit(listener), this.opts.coalesceMs ?? 20);
  }

  private setRoute(r: TrafficRoute): boolean {
    const name = r.metadata.name;
    const was = this.routeFleet.get(name);
    const route = routeOf(r);
    const prev = was === undefined ? undefined : this.routes.get(was)?.get(name);
    if (was === r.spec.fleet && prev && JSON.stringify(prev) === JSON.stringify(route)) return false;
    if (was !== undefined) this.dropRoute(name);
    if (!this.wanted(r.spec.fleet)) return was !== undefined;
    let m = this.routes.get(r.spec.fleet);
    if (!m) this.routes.set(r.spec.fleet, (m = new Map<string, PlanTenant>()));
    m.set(name, route);
    this.routeFleet.set(name, r.spec.fleet);
    this.assembled.delete(r.spec.fleet);
    return true;
  }

  private dropRoute(name: string): boolean {
    const was = this.routeFleet.get(name);
    if (was === undefined) return false;
    this.routes.get(was)?.delete(name);
    this.routeFleet.delete(name);
    this.assembled.delete(was);
    return true;
  }

  private async run(listener: PlanListener, firstDone: () => void): Promise<void> {
    const { min, max } = this.opts.backoffMs ?? { min: 200, max: 5000 };
    let delay = min;
    const outer = this.abort.signal;
    while (!outer.aborted) {
      // One attempt: both watches end together when either fails.
      const attempt = new AbortController();
      const stopAttempt = () => attempt.abort();
      outer.addEventListener('abort', stopAttempt, { once: true });
      const signal = attempt.signal;
      try {
        const [plans, routes] = await Promise.all([this.store.list<TrafficPlan>('TrafficPlan'), this.store.list<TrafficRoute>('TrafficRoute')]);
        const next = new Map<string, TrafficPlanSpec>();
        for (const p of plans.items) if (this.wanted(p.metadata.name)) next.set(p.metadata.name, p.spec);
        this.replaceAll(next, routes.items, listener);
        this.st = { ...this.st, connected: true, lastError: undefined };
        firstDone();
        delay = min;
        const followPlans = async () => {
          for await (const ev of this.store.watch({ kind: 'TrafficPlan', resourceVersion: plans.resourceVersion, signal })) {
            const obj = ev.object as TrafficPlan;
            const name = obj.metadata.name;
            if (!this.wanted(name)) continue;
            if (ev.type === 'DELETED') {
              this.assembled.delete(name);
              if (this.plans.delete(name)) this.emit(listener);
              continue;
            }
            const prev = this.plans.get(name);
            if (prev && prev.revision === obj.spec.revision && JSON.stringify(prev) === JSON.stringify(obj.spec)) continue;
            this.plans.set(name, obj.spec);
            this.assembled.delete(name);
            // A fleet-level change (a Prod died, a dial moved) is applied at once.
            this.emit(listener);
          }
        };
        const followRoutes = async () => {
          for await (const ev of this.store.watch({ kind: 'TrafficRoute', resourceVersion: routes.resourceVersion, signal })) {
            const obj = ev.object as TrafficRoute;
            const changed = ev.type === 'DELETED' ? this.dropRoute(obj.metadata.name) : this.setRoute(obj);
            if (changed) this.emitSoon(listener);
          }
        };
        const ended = async (f: () => Promise<void>) => {
          try {
            await f();
            if (!signal.aborted) throw new Error('watch ended');
          } finally {
            attempt.abort();
          }
        };
        await Promise.all([ended(followPlans), ended(followRoutes)]);
        if (outer.aborted) break;
        throw new Error('watch ended');
      } catch (e) {
        if (outer.aborted) break;
        const msg = e instanceof Error ? e.message : String(e);
        this.st = { ...this.st, connected: false, lastError: msg };
        firstDone();
        if (!isDroverError(e, 'DROVER_E_GONE')) {
          this.opts.log?.(`plan watch failed (${msg}); keeping the last plans, retrying in ${delay} ms`);
          await sleep(delay, outer);
          delay = Math.min(max, delay * 2);
        }
      } finally {
        outer.removeEventListener('abort', stopAttempt);
      }
    }
  }

  private replaceAll(next: Map<string, TrafficPlanSpec>, routes: readonly TrafficRoute[], listener: PlanListener): void {
    let changed = next.size !== this.plans.size;
    for (const [k, v] of next) {
      const prev = this.plans.get(k);
      if (!prev || JSON.stringify(prev) !== JSON.stringify(v)) {
        changed = true;
        this.assembled.delete(k);
      }
    }
    for (const k of this.plans.keys()) if (!next.has(k)) this.assembled.delete(k);
    this.plans.clear();
    for (const [k, v] of next) this.plans.set(k, v);
    const seen = new Set<string>();
    for (const r of routes) {
      seen.add(r.metadata.name);
      if (this.setRoute(r)) changed = true;
    }
    for (const name of [...this.routeFleet.keys()]) if (!seen.has(name) && this.dropRoute(name)) changed = true;
    if (changed) this.emit(listener);
  }

  async stop(): Promise<void> {
    this.abort.abort();
    if (this.emitTimer) clearTimeout(this.emitTimer);
    await this.loop;
  }

  status(): PlanSourceStatus {
    return this.st;
  }
}

/** A stored route as a plan's tenant entry. */
function routeOf(r: TrafficRoute): PlanTenant {
  const { fleet: _fleet, ...tenant } = r.spec;
  return tenant;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
