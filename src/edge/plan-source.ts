/**
 * Where the edge's traffic plans come from. `StorePlanSource` follows TrafficPlans and TrafficRoutes
 * through Informers over a Store (a RemoteStore in production: the API's watch stream) and keeps the last
 * plans when the control plane is unreachable (static stability), reconnecting with backoff; `FilePlanSource` reads a file
 * (tests, benchmarks, running without a control plane); `StaticPlanSource` is set in code.
 */
import { readFile, stat } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { PlanTenant, TrafficPlanSpec, TrafficRouteSpec } from '../api/kinds/traffic-plan.js';
import type { TrafficPlan, TrafficRoute } from '../api/kinds/traffic-plan.js';
import { parseWith } from '../api/validate.js';
import { isDroverError } from '../errors.js';
import { Informer } from '../runtime/informer.js';
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
  /** First and largest reconnect delays (the informers' capped exponential backoff, with jitter). */
  backoffMs?: { min: number; max: number };
  /** Route changes within this long are handed to the listener together (default 20 ms). */
  coalesceMs?: number;
  log?: (msg: string) => void;
}

/**
 * Follows TrafficPlans (fleet level) and TrafficRoutes (one per tenant) through two Informers, and hands
 * the listener the plans with their routes put back (`assemblePlan`): the same plans as when one object
 * held every tenant, but a tenant change costs one small watch event. The informers re-list on a 410 and
 * reconnect with backoff; their caches, and so the last plans handed out, stay meanwhile (static
 * stability: the edge serves its last plan while the control plane is away).
 */
export class StorePlanSource implements PlanSource {
  private readonly planInformer: Informer<TrafficPlan>;
  private readonly routeInformer: Informer<TrafficRoute>;
  private readonly plans = new Map<string, TrafficPlanSpec>();
  /** Fleet → tenant → route. */
  private readonly routes = new Map<string, Map<string, PlanTenant>>();
  /** Where each route is filed (a tenant may change fleets). */
  private readonly routeFleet = new Map<string, string>();
  /** Assembled plans, per fleet, until that fleet's plan or routes change. */
  private readonly assembled = new Map<string, TrafficPlanSpec>();
  private listener: PlanListener | undefined;
  private lastError: string | undefined;
  private lastChange: string | undefined;
  private emitTimer: NodeJS.Timeout | undefined;
  private emitQueued = false;
  /** Nothing is handed out until both kinds are listed: plans without their routes would misroute tenants. */
  private ready = false;
  private readonly removers: (() => void)[] = [];

  constructor(
    store: Store,
    private readonly opts: StorePlanSourceOptions = {},
  ) {
    const { min, max } = opts.backoffMs ?? { min: 200, max: 5000 };
    const informerOpts = { minBackoffMs: min, maxBackoffMs: max, onError: (e: unknown, next: { retryInMs: number }) => this.failed(e, next.retryInMs) };
    this.planInformer = new Informer<TrafficPlan>(store, 'TrafficPlan', informerOpts);
    this.routeInformer = new Informer<TrafficRoute>(store, 'TrafficRoute', informerOpts);
  }

  private wanted(name: string): boolean {
    const f = this.opts.fleets;
    return !f || f.length === 0 || f.includes(name);
  }

  async start(listener: PlanListener): Promise<void> {
    this.listener = listener;
    this.removers.push(
      this.planInformer.addHandler({
        onAdd: (p) => this.setPlan(p),
        onUpdate: (_old, p) => this.setPlan(p),
        onDelete: (p) => this.dropPlan(p.metadata.name),
      }),
      this.routeInformer.addHandler({
        onAdd: (r) => this.routeChanged(this.setRoute(r)),
        onUpdate: (_old, r) => this.routeChanged(this.setRoute(r)),
        onDelete: (r) => this.routeChanged(this.dropRoute(r.metadata.name)),
      }),
    );
    // Resolves once the first full set is known, or the first attempt failed (the edge starts anyway,
    // answering 503 until plans arrive).
    const firstDone = new Promise<void>((resolve) => {
      this.firstFailure = resolve;
      void Promise.all([this.planInformer.waitForSync(), this.routeInformer.waitForSync()]).then(() => {
        this.ready = true;
        if (this.plans.size > 0 || this.routeFleet.size > 0) this.emit();
        resolve();
      }, resolve);
    });
    this.planInformer.start();
    this.routeInformer.start();
    await firstDone;
  }

  private firstFailure: () => void = () => {};

  private failed(e: unknown, retryInMs: number): void {
    const msg = e instanceof Error ? e.message : String(e);
    this.lastError = msg;
    this.firstFailure();
    if (!isDroverError(e, 'DROVER_E_GONE') && !isDroverError(e, 'DROVER_E_RESOURCE_VERSION_TOO_LARGE')) {
      this.opts.log?.(`plan watch failed (${msg}); keeping the last plans, retrying in ${retryInMs} ms`);
    }
  }

  private emit(): void {
    if (this.emitTimer) clearTimeout(this.emitTimer);
    this.emitTimer = undefined;
    this.emitQueued = false;
    if (!this.ready || !this.listener) return;
    this.lastChange = new Date().toISOString();
    const out = new Map<string, TrafficPlanSpec>();
    for (const [fleet, plan] of this.plans) {
      let a = this.assembled.get(fleet);
      if (!a) {
        a = assemblePlan(plan, this.routes.get(fleet)?.values() ?? []);
        this.assembled.set(fleet, a);
      }
      out.set(fleet, a);
    }
    this.listener(ordered(out, this.opts.fleets));
  }

  /**
   * A fleet-level change (a Prod died, a dial moved) is applied at once; the changes of one re-list
   * (delivered together, synchronously) make one emit.
   */
  private emitNow(): void {
    if (this.emitQueued) return;
    this.emitQueued = true;
    queueMicrotask(() => {
      if (this.emitQueued) this.emit();
    });
  }

  /** A burst of route changes (a tenant import) makes one routing-table rebuild, not one per tenant. */
  private routeChanged(changed: boolean): void {
    if (!changed || this.emitTimer || this.emitQueued) return;
    this.emitTimer = setTimeout(() => this.emit(), this.opts.coalesceMs ?? 20);
  }

  private setPlan(p: TrafficPlan): void {
    const name = p.metadata.name;
    if (!this.wanted(name)) return;
    const prev = this.plans.get(name);
    if (prev && prev.revision === p.spec.revision && JSON.stringify(prev) === JSON.stringify(p.spec)) return;
    this.plans.set(name, p.spec);
    this.assembled.delete(name);
    this.emitNow();
  }

  private dropPlan(name: string): void {
    this.assembled.delete(name);
    if (this.plans.delete(name)) this.emitNow();
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

  async stop(): Promise<void> {
    for (const remove of this.removers.splice(0)) remove();
    this.listener = undefined;
    if (this.emitTimer) clearTimeout(this.emitTimer);
    this.emitQueued = false;
    await Promise.all([this.planInformer.stop(), this.routeInformer.stop()]);
  }

  status(): PlanSourceStatus {
    const connected = this.planInformer.status().connected && this.routeInformer.status().connected;
    return {
      connected,
      ...(!connected && this.lastError !== undefined ? { lastError: this.lastError } : {}),
      ...(this.lastChange !== undefined ? { lastChange: this.lastChange } : {}),
    };
  }
}

/** A stored route as a plan's tenant entry. */
function routeOf(r: TrafficRoute): PlanTenant {
  const { fleet: _fleet, ...tenant } = r.spec;
  return tenant;
}
