/**
 * Simulated local clusters for journey tests on a store: the real Agent (heartbeats, Prod status,
 * warm-up, drain, retire — src/agent/agent.ts) driving a `SimDriver` instead of child processes.
 *
 * The driver renders each Prod with the local driver's own `workloadSpec`, so it runs what a real local
 * cluster would run; a workload whose rendered spec changes is restarted in place and journalled (the
 * "Prods run immutable snapshots" rule says that never happens). A workload "starts" after `startMs`
 * and then answers on a shared loopback HTTP server (warm-up probes are real requests); a spec for which
 * `cannotStart` says so reports Failed instead, as a template whose app does not start.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from '../../src/agent/agent.js';
import { Cluster } from '../../src/api/kinds/cluster.js';
import type { Fleet } from '../../src/api/kinds/fleet.js';
import type { Prod } from '../../src/api/kinds/prod.js';
import type { ClusterDriver, ClusterHealth, WorkloadObservation } from '../../src/drivers/driver.js';
import { workloadSpec } from '../../src/drivers/local/local-driver.js';
import { isDroverError } from '../../src/errors.js';
import type { Store } from '../../src/store/store.js';

type Spec = ReturnType<typeof workloadSpec>;

export interface DriverJournalEntry {
  at: number;
  cluster: string;
  prod: string;
  what: 'start' | 'restart-in-place' | 'stop';
  /** For restarts: what changed in the rendered spec. */
  detail?: string;
}

export interface SimOptions {
  /** How long a workload stays Starting. Default 20 ms. */
  startMs?: number;
  /** Why a workload of this spec cannot run, or undefined when it can. Default: never. */
  cannotStart?: (spec: Spec) => string | undefined;
  heartbeatMs?: number;
  heartbeatGraceMs?: number;
}

interface Workload {
  spec: Spec;
  since: number;
  restarts: number;
  crashed?: string;
}

export class SimDriver implements ClusterDriver {
  readonly provider = 'local' as const;
  private readonly workloads = new Map<string, Workload>();

  constructor(
    private readonly cluster: string,
    private readonly endpointBase: string,
    private readonly opts: Required<Pick<SimOptions, 'startMs' | 'cannotStart'>>,
    private readonly journal: DriverJournalEntry[],
  ) {}

  async apply(prod: Prod, fleet: Fleet): Promise<void> {
    const spec = workloadSpec(prod, fleet);
    const name = prod.metadata.name;
    const cur = this.workloads.get(name);
    if (cur && cur.spec.specHash === spec.specHash) return;
    this.journal.push({ at: Date.now(), cluster: this.cluster, prod: name, what: cur ? 'restart-in-place' : 'start', ...(cur ? { detail: diff(cur.spec, spec) } : {}) });
    this.workloads.set(name, { spec, since: Date.now(), restarts: cur ? cur.restarts + 1 : 0 });
  }

  async observe(name: string): Promise<WorkloadObservation> {
    const w = this.workloads.get(name);
    if (!w) return { state: 'Absent', restarts: 0 };
    const why = w.crashed ?? this.opts.cannotStart(w.spec);
    if (Date.now() - w.since < this.opts.startMs) return { state: 'Starting', restarts: w.restarts, version: w.spec.version };
    if (why !== undefined) return { state: 'Failed', restarts: w.restarts, version: w.spec.version, message: why };
    return { state: 'Running', endpoint: `${this.endpointBase}/${name}`, version: w.spec.version, restarts: w.restarts };
  }

  /** The workload dies and stays dead (the agent reports Failed): positive evidence that a Prod is gone. */
  crash(name: string, why = 'crashed (simulated)'): boolean {
    const w = this.workloads.get(name);
    if (w) w.crashed = why;
    return w !== undefined;
  }

  async retire(name: string): Promise<void> {
    if (this.workloads.delete(name)) this.journal.push({ at: Date.now(), cluster: this.cluster, prod: name, what: 'stop' });
  }

  async list(): Promise<string[]> {
    return [...this.workloads.keys()];
  }

  async health(): Promise<ClusterHealth> {
    return { reachable: true };
  }

  async close(): Promise<void> {}
}

function diff(a: Spec, b: Spec): string {
  const keys = (['version', 'command', 'args', 'env', 'healthPath'] as const).filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));
  return keys.map((k) => `${k}: ${JSON.stringify(a[k])} → ${JSON.stringify(b[k])}`).join('; ');
}

interface SimCluster {
  name: string;
  domain: string;
  capacity: number;
  agent: Agent | undefined;
  driver: SimDriver | undefined;
}

/** The simulated clusters of one test: add, kill (agent and workloads die), restore, crash a workload. */
export class SimClusters {
  readonly journal: DriverJournalEntry[] = [];
  private readonly clusters = new Map<string, SimCluster>();
  private server: Server | undefined;
  private base = '';
  private readonly opts: Required<SimOptions>;

  constructor(
    private readonly store: Store,
    opts: SimOptions = {},
  ) {
    this.opts = { startMs: 20, cannotStart: () => undefined, heartbeatMs: 100, heartbeatGraceMs: 1000, ...opts };
  }

  /** Starts the loopback server every simulated workload answers on (port 0). */
  async start(): Promise<void> {
    this.server = createServer((_req, res) => res.end('ok'));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Creates the Cluster (with this test's heartbeat grace) and starts its agent. */
  async add(name: string, domain: string, capacity: number): Promise<void> {
    const doc = Cluster.parse({
      apiVersion: 'drover.dev/v1alpha1',
      kind: 'Cluster',
      metadata: { name },
      spec: { provider: 'local', region: domain, domain, capacity: { prods: capacity }, heartbeatGraceMs: this.opts.heartbeatGraceMs },
    });
    try {
      await this.store.create(doc);
    } catch (e) {
      if (!isDroverError(e, 'DROVER_E_ALREADY_EXISTS')) throw e;
    }
    this.clusters.set(name, { name, domain, capacity, agent: undefined, driver: undefined });
    await this.restore(name);
  }

  isAlive(name: string): boolean {
    return this.clusters.get(name)?.agent !== undefined;
  }

  /** As `drover chaos kill-cluster`: the agent and every workload die at once. */
  async kill(name: string): Promise<void> {
    const c = this.clusters.get(name);
    if (!c?.agent) return;
    const { agent, driver } = c;
    c.agent = undefined;
    c.driver = undefined;
    for (const w of (await driver?.list()) ?? []) this.journal.push({ at: Date.now(), cluster: name, prod: w, what: 'stop' });
    await agent.stop({ stopWorkloads: false });
  }

  /**
   * The agent stops answering for `ms` while its workloads keep running (SIGSTOP/SIGCONT, a network
   * blip), then comes back and re-adopts them: unreachable, not gone.
   */
  async pause(name: string, ms: number): Promise<void> {
    const c = this.clusters.get(name);
    if (!c?.agent || !c.driver) return;
    const { agent, driver } = c;
    c.agent = undefined;
    await agent.stop({ stopWorkloads: false });
    await new Promise((r) => setTimeout(r, ms));
    await this.restore(name, driver);
  }

  /** A new agent with no workloads, as after `drover chaos restore` (or with `driver`'s, after a pause). */
  async restore(name: string, keep?: SimDriver): Promise<void> {
    const c = this.clusters.get(name);
    if (!c || c.agent) return;
    const driver = keep ?? new SimDriver(name, this.base, { startMs: this.opts.startMs, cannotStart: this.opts.cannotStart }, this.journal);
    const agent = new Agent({
      store: this.store,
      driver,
      cluster: { name, region: c.domain, domain: c.domain, capacity: c.capacity },
      heartbeatMs: this.opts.heartbeatMs,
      resyncMs: 50,
      drainMs: 20,
      warmupIntervalMs: 5,
      log: () => {},
    });
    c.agent = agent;
    c.driver = driver;
    await agent.start();
  }

  /** The workload of a Prod dies for good on its cluster (the agent reports Failed). */
  crash(cluster: string, prod: string): boolean {
    return this.clusters.get(cluster)?.driver?.crash(prod) ?? false;
  }

  async stop(): Promise<void> {
    await Promise.all([...this.clusters.values()].map((c) => (c.agent ? c.agent.stop({ stopWorkloads: false }) : Promise.resolve())));
    for (const c of this.clusters.values()) c.agent = undefined;
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}
