/**
 * The cluster agent: makes one cluster run the Prods the control plane bound to it, and says so.
 *
 * Each pass is level-based: it reads the desired Prods (spec.cluster = this cluster) and the Fleets from
 * two Informers' caches, applies each to the driver, observes it, and writes the Prod's status; workloads
 * for Prods that are gone or moved are stopped. Passes run on every informer change, after warm-up
 * progress, and on a resync timer, so a missed event costs at most one resync. No pass runs before both
 * kinds are listed once (an empty cache must not read as "stop everything"), nor while the informers are
 * cut off from the control plane: then the agent keeps its workloads as they are (static stability) and
 * acts on what changed meanwhile once the informers are back (a re-list, or the watch from the last
 * revision).
 */
import type { Fleet } from '../api/kinds/fleet.js';
import type { Prod, ProdStatus } from '../api/kinds/prod.js';
import { isTransientDriverError, type ClusterDriver, type ClusterHealth } from '../drivers/driver.js';
import { isDroverError } from '../errors.js';
import { Informer, newerOf } from '../runtime/informer.js';
import { canonicalJson } from '../store/object-semantics.js';
import type { Store } from '../store/store.js';
import { registerCluster, writeHeartbeat, type ClusterIdentity } from './cluster-registration.js';
import { failedStatus, keptStatus, retiringStatus, runningStatus } from './prod-status.js';
import { Warmups } from './warmup.js';

export interface AgentOptions {
  store: Store;
  driver: ClusterDriver;
  cluster: Omit<ClusterIdentity, 'provider'>;
  heartbeatMs?: number;
  resyncMs?: number;
  /** How long a retiring Prod stays up after it is marked Draining, so in-flight requests finish. */
  drainMs?: number;
  warmupIntervalMs?: number;
  /** How often the cluster itself is probed (driver.health: API server, nodes). Default 2 s. */
  healthMs?: number;
  /**
   * How long the cluster's API may stay unreachable before the agent stops heartbeating (so that the cluster
   * turns NotReady and traffic moves). Short outages (an API server restart) pass unnoticed. Default 10 s.
   */
  clusterApiGraceMs?: number;
  log?: (line: string) => void;
}

export interface AgentStopOptions {
  /** Stop every workload (shutdown); false leaves them for the next agent to re-adopt. Default true. */
  stopWorkloads?: boolean;
}

export class Agent {
  private readonly id: ClusterIdentity;
  private readonly heartbeatMs: number;
  private readonly resyncMs: number;
  private readonly drainMs: number;
  private readonly log: (line: string) => void;
  private readonly warmups: Warmups;
  private readonly abort = new AbortController();
  private readonly startedAt = new Date().toISOString();
  private timers: NodeJS.Timeout[] = [];
  private passRunning: Promise<void> | undefined;
  private passAgain = false;
  /** When each retiring Prod started draining. */
  private readonly drainingSince = new Map<string, number>();
  /** Workloads being stopped in the background, so a pass does not wait for grace periods. */
  private readonly stopping = new Map<string, Promise<void>>();
  private heartbeatBusy = false;
  private stopped = false;
  private health: ClusterHealth | undefined;
  /** Since when the cluster's API has failed every probe (undefined while it answers). */
  private unreachableSince: number | undefined;
  private healthBusy = false;
  private readonly prods: Informer<Prod>;
  private readonly fleets: Informer<Fleet>;
  /** This agent's status writes the Prod cache does not show yet (it lags by the watch's delivery). */
  private readonly written = new Map<string, Prod>();
  /** Prods whose status write found them deleted: skipped until the cache shows the delete (or a newer copy). */
  private readonly gone = new Map<string, string | undefined>();

  constructor(private readonly opts: AgentOptions) {
    this.id = { ...opts.cluster, provider: opts.driver.provider };
    this.heartbeatMs = opts.heartbeatMs ?? 500;
    this.resyncMs = opts.resyncMs ?? 1000;
    this.drainMs = opts.drainMs ?? 1000;
    this.log = opts.log ?? ((l) => console.error(l));
    this.warmups = new Warmups({ intervalMs: opts.warmupIntervalMs ?? 50, timeoutMs: 1000, onProgress: () => this.trigger() });
    const watchFailed = (kind: string) => (e: unknown, next: { retryInMs: number }) =>
      this.log(`agent ${this.id.name}: ${kind} watch ended (${errorText(e)}); resuming in ${next.retryInMs} ms`);
    const backoff = { minBackoffMs: 200, maxBackoffMs: 2000 };
    this.prods = new Informer<Prod>(opts.store, 'Prod', { ...backoff, onError: watchFailed('Prod') });
    this.fleets = new Informer<Fleet>(opts.store, 'Fleet', { ...backoff, onError: watchFailed('Fleet') });
    const trigger = () => this.trigger();
    this.prods.addHandler({
      onAdd: trigger,
      onUpdate: trigger,
      onDelete: (p) => {
        this.written.delete(p.metadata.name);
        this.gone.delete(p.metadata.name);
        this.trigger();
      },
    });
    this.fleets.addHandler({ onAdd: trigger, onUpdate: trigger, onDelete: trigger });
  }

  get clusterName(): string {
    return this.id.name;
  }

  /** Registers the cluster (retrying until the control plane answers), then heartbeats and reconciles. */
  async start(): Promise<void> {
    for (let delay = 200; ; delay = Math.min(delay * 2, 2000)) {
      try {
        await registerCluster(this.opts.store, this.id);
        break;
      } catch (e) {
        if (this.abort.signal.aborted) return;
        this.log(`agent ${this.id.name}: cannot register the cluster yet (${errorText(e)}); retrying`);
        await sleep(delay);
      }
    }
    if (this.stopped) return;
    await this.probeHealth();
    void this.heartbeat();
    this.timers.push(setInterval(() => void this.heartbeat(), this.heartbeatMs));
    this.timers.push(setInterval(() => void this.probeHealth(), this.opts.healthMs ?? 2000));
    this.timers.push(setInterval(() => this.trigger(), this.resyncMs));
    this.prods.start();
    this.fleets.start();
    // The first pass waits for both lists (an empty store makes no event to trigger it).
    void Promise.all([this.prods.waitForSync(), this.fleets.waitForSync()]).then(() => this.trigger());
    this.trigger();
  }

  async stop(opts: AgentStopOptions = {}): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.abort.abort();
    for (const t of this.timers) clearInterval(t);
    this.warmups.close();
    await Promise.all([this.prods.stop(), this.fleets.stop()]);
    // Bounded: a pass may be stuck on an unreachable control plane, and shutdown must not wait for it.
    await Promise.race([this.passRunning, sleep(2000)]);
    await Promise.allSettled([...this.stopping.values()]);
    if (opts.stopWorkloads ?? true) {
      try {
        const names = await this.opts.driver.list();
        await Promise.allSettled(names.map((n) => this.opts.driver.retire(n)));
      } catch (e) {
        // The cluster may be unreachable right now: shutting the agent down must still finish.
        this.log(`agent ${this.id.name}: could not stop workloads at shutdown: ${errorText(e)}`);
      }
    }
    await this.opts.driver.close();
  }

  /** Runs a pass now, or right after the one in progress. */
  trigger(): void {
    if (this.stopped) return;
    if (this.passRunning) {
      this.passAgain = true;
      return;
    }
    this.passRunning = (async () => {
      do {
        this.passAgain = false;
        try {
          await this.pass();
        } catch (e) {
          this.log(`agent ${this.id.name}: reconcile pass failed: ${errorText(e)}`);
        }
      } while (this.passAgain && !this.stopped);
      this.passRunning = undefined;
    })();
  }

  /** Resolves once a full pass has run after this call (tests and `drover up` use it to wait). */
  async settled(): Promise<void> {
    // A pass before the first lists changes nothing: wait for them (or for stop).
    await Promise.all([this.prods.waitForSync({ signal: this.abort.signal }), this.fleets.waitForSync({ signal: this.abort.signal })]).catch(() => undefined);
    this.trigger();
    while (this.passRunning) await this.passRunning;
  }

  private async pass(): Promise<void> {
    if (!this.prods.hasSynced() || !this.fleets.hasSynced()) return;
    const prodSt = this.prods.status();
    const fleetSt = this.fleets.status();
    if (!prodSt.connected || !fleetSt.connected) {
      // Static stability: without the control plane, keep running what runs; change nothing.
      const why = prodSt.lastError ?? fleetSt.lastError ?? 'not connected';
      this.log(`agent ${this.id.name}: cannot read desired state (${why}); keeping workloads as they are`);
      return;
    }
    const mine = this.desiredProds();
    const fleets = new Map(this.fleets.list().map((f) => [f.metadata.name, f]));
    const wanted = new Set<string>();
    for (const prod of mine) {
      if (this.stopped) return;
      if (prod.metadata.deletionTimestamp) continue;
      wanted.add(prod.metadata.name);
      await this.reconcileProd(prod, fleets.get(prod.spec.fleet));
    }
    // Workloads whose Prod was deleted or moved to another cluster: stop them.
    for (const name of await this.opts.driver.list()) {
      if (!wanted.has(name)) this.stopInBackground(name, undefined);
    }
  }

  /** The Prods bound to this cluster: the cache's copy, or this agent's own newer write. */
  private desiredProds(): Prod[] {
    const out: Prod[] = [];
    for (const cached of this.prods.list()) {
      const name = cached.metadata.name;
      if (this.gone.has(name)) {
        if (this.gone.get(name) === cached.metadata.resourceVersion) continue;
        this.gone.delete(name);
      }
      const w = this.written.get(name);
      const p = newerOf(cached, w)!;
      if (w && p === cached) this.written.delete(name);
      if (p.spec.cluster === this.id.name) out.push(p);
    }
    return out;
  }

  private async reconcileProd(prod: Prod, fleet: Fleet | undefined): Promise<void> {
    const name = prod.metadata.name;
    if (prod.spec.retire) {
      await this.reconcileRetiring(prod);
      return;
    }
    this.drainingSince.delete(name);
    if (!fleet) {
      await this.writeStatus(prod, failedStatus(prod, `fleet "${prod.spec.fleet}" not found`));
      return;
    }
    if (this.stopping.has(name)) return;
    let obs;
    try {
      await this.opts.driver.apply(prod, fleet);
      obs = await this.opts.driver.observe(name);
    } catch (e) {
      if (isTransientDriverError(e)) {
        // Not the Prod's fault: keep its phase and say why nothing changes; look again shortly.
        await this.writeStatus(prod, keptStatus(prod, `cluster API unavailable, last observed state kept: ${errorText(e)}`));
        const t = setTimeout(() => this.trigger(), 2000);
        t.unref();
        return;
      }
      await this.writeStatus(prod, failedStatus(prod, errorText(e)));
      return;
    }
    const warm = this.warmups.progress(prod, obs, fleet);
    await this.writeStatus(prod, runningStatus(prod, obs, warm, new Date()));
  }

  /** Draining for `drainMs` (the edge drops the Prod from its plan meanwhile), then stop, then Retired. */
  private async reconcileRetiring(prod: Prod): Promise<void> {
    const name = prod.metadata.name;
    this.warmups.forget(name);
    const running = (await this.opts.driver.list()).includes(name);
    if (prod.status?.phase === 'Retired' && !running && !this.stopping.has(name)) return;
    if (!running && !this.stopping.has(name) && !this.drainingSince.has(name)) {
      await this.writeStatus(prod, retiringStatus(prod, 'Retired'));
      return;
    }
    const since = this.drainingSince.get(name) ?? Date.now();
    this.drainingSince.set(name, since);
    if (Date.now() - since < this.drainMs) {
      await this.writeStatus(prod, retiringStatus(prod, 'Draining', 'draining in-flight requests'));
      const t = setTimeout(() => this.trigger(), this.drainMs - (Date.now() - since) + 5);
      t.unref();
      return;
    }
    this.stopInBackground(name, prod);
  }

  private stopInBackground(name: string, retiring: Prod | undefined): void {
    if (this.stopping.has(name)) return;
    this.warmups.forget(name);
    const p = (async () => {
      try {
        await this.opts.driver.retire(name);
        if (retiring) {
          const cur = await this.opts.store.get('Prod', name);
          if (cur) await this.writeStatus(cur, retiringStatus(cur, 'Retired'));
        }
        this.drainingSince.delete(name);
      } catch (e) {
        this.log(`agent ${this.id.name}: stopping ${name} failed: ${errorText(e)}`);
      } finally {
        this.stopping.delete(name);
        this.trigger();
      }
    })();
    this.stopping.set(name, p);
  }

  private async writeStatus(prod: Prod, status: ProdStatus): Promise<void> {
    if (canonicalJson(prod.status ?? null) === canonicalJson(status)) return;
    const name = prod.metadata.name;
    try {
      this.written.set(name, await this.opts.store.updateStatus<Prod>({ ...prod, status }));
    } catch (e) {
      // A concurrent writer or a deleted Prod: the next pass reads it again and decides afresh. The
      // cache may not show the change yet, so the pass reads this one Prod from the store.
      if (isDroverError(e, 'DROVER_E_CONFLICT')) {
        this.passAgain = true;
        const fresh = await this.opts.store.get('Prod', name);
        if (fresh) this.written.set(name, fresh);
        else this.gone.set(name, this.prods.get(name)?.metadata.resourceVersion);
      } else if (isDroverError(e, 'DROVER_E_NOT_FOUND')) {
        this.written.delete(name);
        this.gone.set(name, this.prods.get(name)?.metadata.resourceVersion);
        this.passAgain = true;
      } else throw e;
    }
  }

  /** Probes the cluster (API server and nodes); the heartbeat carries the last answer. */
  private async probeHealth(): Promise<void> {
    if (this.healthBusy || this.stopped) return;
    this.healthBusy = true;
    try {
      const h = await this.opts.driver.health();
      this.health = h;
      if (h.reachable) this.unreachableSince = undefined;
      else this.unreachableSince ??= Date.now();
    } catch (e) {
      this.health = { reachable: false, failure: 'unreachable', message: errorText(e) };
      this.unreachableSince ??= Date.now();
    } finally {
      this.healthBusy = false;
    }
  }

  private async heartbeat(): Promise<void> {
    if (this.heartbeatBusy || this.stopped) return;
    this.heartbeatBusy = true;
    try {
      const lostFor = this.unreachableSince === undefined ? 0 : Date.now() - this.unreachableSince;
      const alive = lostFor < (this.opts.clusterApiGraceMs ?? 10_000);
      await writeHeartbeat(this.opts.store, this.id, { pid: process.pid, startedAt: this.startedAt, alive, ...(this.health ? { health: this.health } : {}) });
    } catch (e) {
      this.log(`agent ${this.id.name}: heartbeat failed: ${errorText(e)}`);
    } finally {
      this.heartbeatBusy = false;
    }
  }
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** A delay that does not keep the process alive on its own (shutdown must not wait for it). */
function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}
