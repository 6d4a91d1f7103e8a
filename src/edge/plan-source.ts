/**
 * Where the edge's traffic plans come from. `StorePlanSource` follows TrafficPlans through a Store
 * watch (a RemoteStore in production: the API's watch stream) and keeps the last plans when the control
 * plane is unreachable (static stability), reconnecting with backoff; `FilePlanSource` reads a file
 * (tests, benchmarks, running without a control plane); `StaticPlanSource` is set in code.
 */
import { readFile, stat } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { TrafficPlanSpec } from '../api/kinds/traffic-plan.js';
import type { TrafficPlan } from '../api/kinds/traffic-plan.js';
import { parseWith } from '../api/validate.js';
import { isDroverError } from '../errors.js';
import type { Store } from '../store/store.js';

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

/** Parses a plan document: a TrafficPlan resource, a bare spec, a List of TrafficPlans, or an array. */
export function parsePlanDocument(doc: unknown): TrafficPlanSpec[] {
  const one = (d: unknown, i: number): TrafficPlanSpec => {
    const o = d as { kind?: unknown; spec?: unknown };
    if (o && typeof o === 'object' && o.kind === 'TrafficPlan') return parseWith(TrafficPlanSpec, o.spec, ['items', i, 'spec']);
    return parseWith(TrafficPlanSpec, d, ['items', i]);
  };
  if (Array.isArray(doc)) return doc.map(one);
  const o = doc as { kind?: unknown; items?: unknown };
  if (o && typeof o === 'object' && o.kind === 'List' && Array.isArray(o.items)) return o.items.map(one);
  return [one(doc, 0)];
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
  log?: (msg: string) => void;
}

/** Follows TrafficPlans through list + watch, re-listing on a 410 and reconnecting with backoff. */
export class StorePlanSource implements PlanSource {
  private readonly abort = new AbortController();
  private readonly plans = new Map<string, TrafficPlanSpec>();
  private st: PlanSourceStatus = { connected: false };
  private loop: Promise<void> | undefined;

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
    this.st = { ...this.st, lastChange: new Date().toISOString() };
    listener(ordered(this.plans, this.opts.fleets));
  }

  private async run(listener: PlanListener, firstDone: () => void): Promise<void> {
    const { min, max } = this.opts.backoffMs ?? { min: 200, max: 5000 };
    let delay = min;
    const signal = this.abort.signal;
    while (!signal.aborted) {
      try {
        const list = await this.store.list<TrafficPlan>('TrafficPlan');
        const next = new Map<string, TrafficPlanSpec>();
        for (const p of list.items) if (this.wanted(p.metadata.name)) next.set(p.metadata.name, p.spec);
        this.replaceAll(next, listener);
        this.st = { ...this.st, connected: true, lastError: undefined };
        firstDone();
        delay = min;
        for await (const ev of this.store.watch({ kind: 'TrafficPlan', resourceVersion: list.resourceVersion, signal })) {
          const obj = ev.object as TrafficPlan;
          const name = obj.metadata.name;
          if (!this.wanted(name)) continue;
          if (ev.type === 'DELETED') {
            if (this.plans.delete(name)) this.emit(listener);
            continue;
          }
          const prev = this.plans.get(name);
          if (prev && prev.revision === obj.spec.revision && JSON.stringify(prev) === JSON.stringify(obj.spec)) continue;
          this.plans.set(name, obj.spec);
          this.emit(listener);
        }
        if (signal.aborted) break;
        throw new Error('watch ended');
      } catch (e) {
        if (signal.aborted) break;
        const msg = e instanceof Error ? e.message : String(e);
        this.st = { ...this.st, connected: false, lastError: msg };
        firstDone();
        if (!isDroverError(e, 'DROVER_E_GONE')) {
          this.opts.log?.(`plan watch failed (${msg}); keeping the last plans, retrying in ${delay} ms`);
          await sleep(delay, signal);
          delay = Math.min(max, delay * 2);
        }
      }
    }
  }

  private replaceAll(next: Map<string, TrafficPlanSpec>, listener: PlanListener): void {
    let changed = next.size !== this.plans.size;
    for (const [k, v] of next) {
      const prev = this.plans.get(k);
      if (!prev || JSON.stringify(prev) !== JSON.stringify(v)) changed = true;
    }
    if (!changed) return;
    this.plans.clear();
    for (const [k, v] of next) this.plans.set(k, v);
    this.emit(listener);
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
  }

  status(): PlanSourceStatus {
    return this.st;
  }
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
