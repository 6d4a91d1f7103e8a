/**
 * The controller manager: runs reconcilers while this instance leads.
 *
 * Reconcilers are built afresh for every leadership term (from factories; an instance given as such is
 * reused): whatever a reconciler keeps in memory — the cluster controller's heartbeat arrivals and startup
 * grace, memos, dirty sets — describes the world as this replica last saw it while leading, and a replica
 * that leads again after another one did must not judge by it.
 *
 * Per reconciler: a work queue, `workers` loops taking keys from it, the keys of `listKeys` at start and
 * every `resyncMs`, and the keys its `watches` map changes to. Reads are shared per kind: one Informer per
 * watched kind (runtime/informer.ts), made when leadership starts, its handlers fanned out to every
 * reconciler that watches the kind, its cache the reconcilers' `ctx.cache` (listed before the first pass).
 *
 * `settle` is the one place where a pass's outcome becomes a queue action, a log line and metrics:
 *   success       → forget the key's backoff
 *   requeue_after → forget the backoff, add the key again after the delay
 *   error         → log at error (conflicts at warn), add again with per-key exponential backoff
 *   terminal      → log at error, forget; the key comes back only when its object changes
 */
import { setMaxListeners } from 'node:events';
import type { AnyResource } from '../api/resource.js';
import type { Store, WatchEventType } from '../store/store.js';
import { recordEvent, type EventType } from './events.js';
import { AlwaysLeader, type LeaderElector, type Leadership } from './leader-election.js';
import { errorText, stderrLogger, type Logger } from './logger.js';
import { reconcileDuration, reconcileTotal, workqueueDepth } from './metrics.js';
import { InformerCache } from './object-cache.js';
import { isConflict, outcomeOf, reconcileResults, type Outcome, type Settled } from './outcome.js';
import type { RateLimiter } from './rate-limiter.js';
import type { ReconcileContext, Reconciler, WatchSpec } from './reconciler.js';
import { sleep } from './sleep.js';
import { WorkQueue } from './work-queue.js';

/** Builds one reconciler; called once per leadership term. */
export type ReconcilerFactory = () => Reconciler;

export interface ManagerOptions {
  store: Store;
  /**
   * What to run while leading. A factory is called at the start of every term, so each term starts with
   * fresh in-memory state (what a control plane should run); an instance is reused across terms (tests
   * that never lose the lead, or reconcilers that keep no state).
   */
  reconcilers: readonly (Reconciler | ReconcilerFactory)[];
  leaderElector?: LeaderElector;
  logger?: Logger;
  /** Concurrent keys per reconciler (a key is never processed concurrently with itself). Default 2. */
  workers?: number;
  /** Per-queue retry limiter; default: exponential 5 ms … 60 s, and 10 retries/s overall. */
  rateLimiter?: () => RateLimiter;
  /** Reconnect backoff of the informers after a failed list/watch: baseMs·2^n capped at maxMs, with jitter. */
  watch?: { backoff?: { baseMs: number; maxMs: number } };
}

interface Running {
  reconciler: Reconciler;
  queue: WorkQueue;
  ctx: ReconcileContext;
}

/** Conflicts requeued this many times in a row before one is logged. */
const QUIET_CONFLICT_RETRIES = 3;

function aborted(signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

export class Manager {
  private readonly store: Store;
  private readonly sources: readonly (Reconciler | ReconcilerFactory)[];
  /** The reconcilers of the next term, when already built (the first term's, built to check the names). */
  private prebuilt: Reconciler[] | undefined;
  private readonly names: readonly string[];
  private readonly elector: LeaderElector;
  private readonly logger: Logger;
  private readonly workers: number;
  private readonly stopper = new AbortController();
  private loop: Promise<void> | undefined;
  private leading = false;

  constructor(private readonly opts: ManagerOptions) {
    this.store = opts.store;
    this.sources = opts.reconcilers;
    this.elector = opts.leaderElector ?? new AlwaysLeader();
    this.logger = opts.logger ?? stderrLogger;
    this.workers = Math.max(1, opts.workers ?? 2);
    // Built now so that a duplicate name fails the constructor, not a term; the first term runs these.
    this.prebuilt = this.build();
    const names = new Set<string>();
    for (const r of this.prebuilt) {
      if (names.has(r.name)) throw new Error(`two reconcilers are named "${r.name}"`);
      names.add(r.name);
    }
    this.names = [...names];
  }

  /** One term's reconcilers: factories called afresh, instances as given. */
  private build(): Reconciler[] {
    return this.sources.map((s) => (typeof s === 'function' ? s() : s));
  }

  /** The first term's reconcilers are those the constructor built; every later term builds its own. */
  private reconcilersForTerm(): Reconciler[] {
    const built = this.prebuilt ?? this.build();
    this.prebuilt = undefined;
    const names = built.map((r) => r.name);
    // Names key the metrics and logs: a factory must build the same reconciler every term.
    if (names.join('\0') !== this.names.join('\0')) throw new Error(`reconciler factories built [${names.join(', ')}], not [${this.names.join(', ')}]`);
    return built;
  }

  /** True while this instance leads and its reconcilers run. */
  get isLeading(): boolean {
    return this.leading;
  }

  /** Starts campaigning for leadership and, once leading, the reconcilers. Returns at once. */
  start(): void {
    if (this.loop) throw new Error('manager already started');
    this.loop = this.campaign(this.stopper.signal);
  }

  /** Stops: no new keys are taken, in-flight passes finish, watches end. */
  async stop(): Promise<void> {
    this.stopper.abort();
    await this.loop;
  }

  private async campaign(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      let leadership: Leadership;
      try {
        leadership = await this.elector.acquire(signal);
      } catch (e) {
        if (signal.aborted) return;
        this.logger.log('error', 'leader election failed', { error: errorText(e) });
        await sleep(1000, signal);
        continue;
      }
      let reconcilers: Reconciler[];
      try {
        reconcilers = this.reconcilersForTerm();
      } catch (e) {
        // A term without its controllers is worse than no term: another replica may build them.
        this.logger.log('error', 'building the reconcilers failed: giving the lead up', { error: errorText(e) });
        await leadership.release().catch((err: unknown) => this.logger.log('error', 'releasing leadership failed', { error: errorText(err) }));
        await sleep(1000, signal);
        continue;
      }
      this.leading = true;
      this.logger.log('info', 'leading: starting controllers', { controllers: this.names });
      try {
        const term = AbortSignal.any([signal, leadership.lost]);
        // Every reconciler, informer and worker of the term listens on it: more than the default 10 is normal.
        setMaxListeners(0, term);
        await this.runControllers(reconcilers, term);
      } finally {
        this.leading = false;
        await leadership.release().catch((e: unknown) => this.logger.log('error', 'releasing leadership failed', { error: errorText(e) }));
      }
      if (!signal.aborted) this.logger.log('warn', 'lost leadership: controllers stopped');
    }
  }

  private async runControllers(reconcilers: readonly Reconciler[], signal: AbortSignal): Promise<void> {
    const backoff = this.opts.watch?.backoff;
    const cache = new InformerCache(this.store, { logger: this.logger, ...(backoff ? { minBackoffMs: backoff.baseMs, maxBackoffMs: backoff.maxMs } : {}) });
    const running = reconcilers.map((r) => this.prepare(r, signal, cache));
    for (const run of running) {
      for (const spec of run.reconciler.watches) {
        cache.informer(spec.kind).addHandler({
          onAdd: (obj) => this.enqueueChange(run, spec, obj, 'ADDED'),
          onUpdate: (_old, obj) => this.enqueueChange(run, spec, obj, 'MODIFIED'),
          onDelete: (obj) => this.enqueueChange(run, spec, obj, 'DELETED'),
        });
      }
    }
    cache.start();
    const tasks: Promise<void>[] = [];
    // Reconcilers read their caches: no pass before every watched kind has been listed once.
    await Promise.race([cache.waitForSync({ signal }).catch(() => undefined), aborted(signal)]);
    const timers: NodeJS.Timeout[] = [];
    for (const run of running) {
      if (signal.aborted) break;
      void this.resync(run);
      const every = run.reconciler.resyncMs;
      if (every !== undefined && every > 0) timers.push(setInterval(() => void this.resync(run), every));
      for (let i = 0; i < this.workers; i++) tasks.push(this.work(run));
    }
    await aborted(signal);
    for (const t of timers) clearInterval(t);
    for (const run of running) run.queue.shutdown();
    await Promise.all([...tasks, cache.stop()]);
    for (const run of running) workqueueDepth.set({ controller: run.reconciler.name }, 0);
  }

  private prepare(reconciler: Reconciler, signal: AbortSignal, cache: InformerCache): Running {
    const controller = reconciler.name;
    for (const result of reconcileResults) reconcileTotal.inc({ controller, result }, 0);
    workqueueDepth.set({ controller }, 0);
    const queue = new WorkQueue({
      ...(this.opts.rateLimiter ? { rateLimiter: this.opts.rateLimiter() } : {}),
      onDepth: (depth) => workqueueDepth.set({ controller }, depth),
    });
    const ctx: ReconcileContext = {
      store: this.store,
      cache: cache.scopedTo(`reconciler "${controller}"`, reconciler.watches.map((w) => w.kind)),
      signal,
      recordEvent: async (obj: AnyResource, type: EventType, reason: string, message: string) => {
        try {
          await recordEvent(this.store, obj, type, reason, message, { source: controller });
        } catch (e) {
          this.logger.log('error', 'recording an event failed', { controller, object: `${obj.kind}/${obj.metadata.name}`, reason, error: errorText(e) });
        }
      },
    };
    return { reconciler, queue, ctx };
  }

  private enqueueChange(run: Running, spec: WatchSpec, obj: AnyResource, type: WatchEventType): void {
    const { mapToKeys, delayMs = 0 } = spec;
    // addAfter keeps the earliest pending time, so a burst joins the wait its first change started.
    const add = (k: string) => (delayMs > 0 ? run.queue.addAfter(k, delayMs) : run.queue.add(k));
    if (!mapToKeys) {
      add(obj.metadata.name);
      return;
    }
    const failed = (e: unknown) =>
      this.logger.log('error', 'mapping a change to keys failed', { controller: run.reconciler.name, object: `${obj.kind}/${obj.metadata.name}`, error: errorText(e) });
    try {
      const keys = mapToKeys(obj, { type, store: this.store });
      if (Array.isArray(keys)) keys.forEach(add);
      else keys.then((ks) => ks.forEach(add), failed);
    } catch (e) {
      failed(e);
    }
  }

  private async resync(run: Running): Promise<void> {
    try {
      for (const k of await run.reconciler.listKeys(run.ctx)) run.queue.add(k);
    } catch (e) {
      this.logger.log('error', 'listing keys failed', { controller: run.reconciler.name, error: errorText(e) });
    }
  }

  private async work(run: Running): Promise<void> {
    for (;;) {
      const key = await run.queue.get();
      if (key === undefined) return;
      const started = performance.now();
      let settled: Settled;
      try {
        settled = { ok: true, value: await run.reconciler.reconcile(run.ctx, key) };
      } catch (error) {
        settled = { ok: false, error };
      }
      try {
        this.settle(run, key, outcomeOf(settled), (performance.now() - started) / 1000);
      } finally {
        run.queue.done(key);
      }
    }
  }

  /** The one place that maps an outcome to a queue action, a log line and metrics. */
  private settle(run: Running, key: string, outcome: Outcome, seconds: number): void {
    const controller = run.reconciler.name;
    reconcileTotal.inc({ controller, result: outcome.result });
    reconcileDuration.observe({ controller }, seconds);
    const { queue } = run;
    switch (outcome.result) {
      case 'success':
        queue.forget(key);
        return;
      case 'requeue_after':
        queue.forget(key);
        queue.addAfter(key, outcome.afterMs);
        return;
      case 'error': {
        const retries = queue.retries(key);
        // A conflict is expected now and then: a pass decided on a cached copy another writer had just
        // changed. The requeue reads again; only a conflict that keeps coming back is worth an operator's eye.
        const conflict = isConflict(outcome.error);
        if (!conflict || retries >= QUIET_CONFLICT_RETRIES) {
          this.logger.log(conflict ? 'warn' : 'error', 'reconcile failed; retrying with backoff', { controller, key, retries, error: errorText(outcome.error) });
        }
        queue.addRateLimited(key);
        return;
      }
      case 'terminal':
        this.logger.log('error', 'reconcile failed terminally; not retrying until the object changes', { controller, key, error: errorText(outcome.error) });
        queue.forget(key);
        return;
    }
  }
}
