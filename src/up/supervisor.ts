/**
 * `drover up` as a library: one process tree with the control plane in-process, one `drover agent` child
 * per local cluster of the file, and the edge as a child once it exists. The supervisor restarts an
 * agent when `drover chaos restore` asks (a restore annotation on the Cluster), never on its own: a
 * killed cluster stays lost until someone restores it, as a real one would. `stop()` stops the edge,
 * the agents (which stop their workloads), then the control plane, and makes sure nothing remains.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Cluster } from '../api/kinds/cluster.js';
import type { Fleet } from '../api/kinds/fleet.js';
import type { Prod } from '../api/kinds/prod.js';
import { applyDocument } from '../cli/apply-document.js';
import { startControlPlane, type RunningControlPlane } from '../server/control-plane.js';
import { freePort } from '../drivers/local/net.js';
import { AgentProcess, droverBin } from './agent-process.js';
import { restoreRequestAnnotation } from './chaos.js';
import { loadUpFile, type UpFile } from './up-file.js';

export interface UpOptions {
  file: string;
  dataDir: string;
  /** API port; 0 picks a free one. */
  port: number;
  /** Edge port; 0 picks a free one. */
  edgePort: number;
  out: (line: string) => void;
  /** Admin token to use instead of a generated one (DROVER_TOKEN). */
  envToken?: string;
  /** Prometheus base URL for the release controller's PromQL gates. */
  prometheusUrl?: string;
}

export interface ProdCounts {
  wanted: number;
  ready: number;
  byPhase: Record<string, number>;
}

export class UpSupervisor {
  private cp: RunningControlPlane | undefined;
  private file: UpFile | undefined;
  private readonly agents = new Map<string, AgentProcess>();
  private readonly restoreSeen = new Map<string, string>();
  private edge: ChildProcess | undefined;
  private edgeUrlValue: string | undefined;
  /** The edge's admin address (/stats, /metrics), chosen before the control plane starts so that the
   * release controller can be given it as its gate source. */
  private edgeAdminPort: number | undefined;
  private restoreTimer: NodeJS.Timeout | undefined;
  private stopping: Promise<void> | undefined;

  constructor(private readonly opts: UpOptions) {}

  get apiUrl(): string {
    return this.cp?.url ?? '';
  }

  get token(): string | undefined {
    return this.cp?.tokens.adminToken;
  }

  get edgeUrl(): string | undefined {
    return this.edgeUrlValue;
  }

  get edgeAdminUrl(): string | undefined {
    return this.edgeUrlValue && this.edgeAdminPort !== undefined ? `http://127.0.0.1:${this.edgeAdminPort}` : undefined;
  }

  get upFile(): UpFile | undefined {
    return this.file;
  }

  async start(): Promise<void> {
    const dataDir = resolve(this.opts.dataDir);
    this.file = loadUpFile(this.opts.file);
    if (await edgeAvailable()) this.edgeAdminPort = await freePort();
    this.cp = await startControlPlane({
      dataDir,
      listen: `127.0.0.1:${this.opts.port}`,
      ...(this.edgeAdminPort !== undefined ? { edgeStatsUrls: [`http://127.0.0.1:${this.edgeAdminPort}`] } : {}),
      ...(this.opts.prometheusUrl ? { prometheusUrl: this.opts.prometheusUrl } : {}),
      ...(this.opts.envToken ? { envToken: this.opts.envToken } : {}),
    });
    this.opts.out(`control plane: ${this.cp.url} (data in ${dataDir})`);
    // Where the tokens are, never the tokens: a terminal's scrollback is not a secret store.
    const t = this.cp.tokens;
    if (t.file) this.opts.out(`tokens: ${t.generatedFile ? 'generated ' : ''}admin and readonly tokens in ${t.file} (mode 0600)`);
    else if (this.opts.envToken) this.opts.out('tokens: the admin token is DROVER_TOKEN');
    // The edge right away: its ports were picked free but are not held, and the agents pick their
    // Prods' ports the same way — started after the Prods, the edge lost its admin port to a Prod now and
    // then (EADDRINUSE; the release gates then read the Prod instead of /stats). It waits for a plan.
    await this.startEdge();
    // Clusters first, and the rest once their agents heartbeat: Prods placed while only some clusters
    // are Ready would all land on those, and never spread over the failure domains.
    const isCluster = (d: unknown) => (d as { kind?: unknown }).kind === 'Cluster';
    await this.apply(this.file.documents.filter(isCluster));
    // A restore requested before this run is history, not a request to this supervisor.
    for (const c of (await this.cp.store.list<Cluster>('Cluster')).items) {
      const v = c.metadata.annotations[restoreRequestAnnotation];
      if (v) this.restoreSeen.set(c.metadata.name, v);
    }
    for (const c of this.file.localClusters) this.startAgent(c.metadata.name);
    await this.waitForClusters(15_000);
    await this.apply(this.file.documents.filter((d) => !isCluster(d)));
    this.restoreTimer = setInterval(() => void this.checkRestores(), 300);
  }

  private async apply(docs: unknown[]): Promise<void> {
    for (const doc of docs) {
      const r = await applyDocument(this.cp!.store, doc);
      this.opts.out(`  ${r.object.kind.toLowerCase()}/${r.object.metadata.name} ${r.outcome}`);
    }
  }

  /** Waits (bounded) until every local cluster of the file is Ready. */
  private async waitForClusters(timeoutMs: number): Promise<void> {
    const names = new Set(this.file?.localClusters.map((c) => c.metadata.name));
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && !this.stopping) {
      const ready = (await this.cp!.store.list<Cluster>('Cluster')).items.filter((c) => names.has(c.metadata.name) && c.status?.phase === 'Ready');
      if (ready.length === names.size) {
        this.opts.out(`clusters: ${[...names].join(', ')} Ready`);
        return;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    this.opts.out('clusters: not all Ready yet; applying the rest anyway');
  }

  private startAgent(name: string): void {
    const cluster = this.file?.localClusters.find((c) => c.metadata.name === name);
    if (!cluster || !this.cp) return;
    const dataDir = resolve(this.opts.dataDir);
    const a = AgentProcess.spawn({
      cluster,
      serverUrl: this.cp.url,
      token: this.cp.tokens.adminToken,
      stateDir: join(dataDir, 'agents', name),
      logFile: join(dataDir, 'logs', `agent-${name}.log`),
      cwd: this.file?.dir ?? process.cwd(),
    });
    this.agents.set(name, a);
    this.opts.out(`cluster ${name}: agent started (pid ${a.pid}, log ${join(dataDir, 'logs', `agent-${name}.log`)})`);
    void a.exited.then((e) => {
      if (this.stopping || this.agents.get(name) !== a) return;
      const how = e.signal ? `killed by ${e.signal}` : `exited with code ${e.code}`;
      this.opts.out(`cluster ${name}: agent ${how}; the cluster is lost until \`drover chaos restore ${name}\``);
    });
  }

  /** Restarts the agent of a cluster whose restore annotation changed, if its agent is not running. */
  private async checkRestores(): Promise<void> {
    if (this.stopping || !this.cp) return;
    let clusters: Cluster[];
    try {
      clusters = (await this.cp.store.list<Cluster>('Cluster')).items;
    } catch {
      return;
    }
    for (const c of clusters) {
      const name = c.metadata.name;
      const v = c.metadata.annotations[restoreRequestAnnotation];
      if (!v || this.restoreSeen.get(name) === v) continue;
      this.restoreSeen.set(name, v);
      const cur = this.agents.get(name);
      if (cur?.running) {
        this.opts.out(`cluster ${name}: restore requested, but its agent is running`);
        continue;
      }
      if (!this.file?.localClusters.some((x) => x.metadata.name === name)) continue;
      this.opts.out(`cluster ${name}: restore requested`);
      // The old agent is gone; its workloads, if they survived it, are the new agent's to re-adopt, so
      // they are not stopped here (AgentProcess.stop would kill them: that is for shutdown).
      this.startAgent(name);
    }
  }

  /** The edge joins `drover up` when the `drover edge` command exists (the edge work); until then, none. */
  private async startEdge(): Promise<void> {
    if (this.edgeAdminPort === undefined || !this.cp) {
      this.opts.out('edge: not available in this build (no `drover edge` command); Prods answer on their endpoints directly');
      return;
    }
    const dataDir = resolve(this.opts.dataDir);
    // The edge's URL is printed before it listens, so a free port is picked here rather than by the edge.
    const port = this.opts.edgePort === 0 ? await freePort() : this.opts.edgePort;
    mkdirSync(join(dataDir, 'logs'), { recursive: true });
    const log = openSync(join(dataDir, 'logs', 'edge.log'), 'a');
    try {
      const env = { ...process.env, ...(this.cp.tokens.adminToken ? { DROVER_TOKEN: this.cp.tokens.adminToken } : {}) };
      const args = [droverBin(), 'edge', '--server', this.cp.url, '--listen', `127.0.0.1:${port}`, '--admin-listen', `127.0.0.1:${this.edgeAdminPort}`];
      this.edge = spawn(process.execPath, args, {
        env,
        stdio: ['ignore', log, log],
        detached: true,
      });
    } finally {
      closeSync(log);
    }
    this.edgeUrlValue = `http://127.0.0.1:${port}`;
    this.opts.out(`edge: started (pid ${this.edge.pid ?? '?'}) on ${this.edgeUrlValue}, admin on http://127.0.0.1:${this.edgeAdminPort}`);
  }

  /** Counts of the fleets' Prods by phase, for progress and for "all Ready". */
  async prodCounts(): Promise<ProdCounts> {
    const store = this.cp?.store;
    if (!store) return { wanted: 0, ready: 0, byPhase: {} };
    const [fleets, prods] = await Promise.all([store.list<Fleet>('Fleet'), store.list<Prod>('Prod')]);
    const wanted = fleets.items.reduce((n, f) => n + f.spec.prods, 0);
    const byPhase: Record<string, number> = {};
    let ready = 0;
    for (const p of prods.items) {
      if (p.spec.retire) continue;
      const phase = p.status?.phase ?? 'Pending';
      byPhase[phase] = (byPhase[phase] ?? 0) + 1;
      if (phase === 'Ready') ready++;
    }
    return { wanted, ready, byPhase };
  }

  /** Waits until every wanted Prod is Ready, printing a line whenever the counts change. */
  async waitForProds(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    for (;;) {
      const c = await this.prodCounts();
      const line = `prods: ${c.ready}/${c.wanted} Ready (${Object.entries(c.byPhase).map(([k, v]) => `${v} ${k}`).join(', ') || 'none yet'})`;
      if (line !== last) this.opts.out(line);
      last = line;
      if (c.wanted > 0 && c.ready >= c.wanted) return true;
      if (Date.now() > deadline || this.stopping) return false;
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      clearInterval(this.restoreTimer);
      if (this.edge && this.edge.exitCode === null && this.edge.signalCode === null) {
        const edge = this.edge;
        const gone = new Promise((r) => edge.once('exit', r));
        edge.kill('SIGTERM');
        const t = setTimeout(() => edge.pid !== undefined && process.kill(-edge.pid, 'SIGKILL'), 5000);
        await gone;
        clearTimeout(t);
      }
      await Promise.all([...this.agents.values()].map((a) => a.stop()));
      await this.cp?.stop();
    })();
    return this.stopping;
  }
}

/** The edge joins `drover up` when this build has the `drover edge` command. */
async function edgeAvailable(): Promise<boolean> {
  const { buildProgram } = await import('../cli/main.js');
  return buildProgram().commands.some((c) => c.name() === 'edge');
}
