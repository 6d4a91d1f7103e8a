/**
 * `drover up` as a library: one process tree with the control plane in-process, one `drover agent` child
 * per local cluster of the file, and the edge as a child once it exists. The supervisor restarts an
 * agent when `drover chaos restore` asks (a restore annotation on the Cluster), never on its own: a
 * killed cluster stays lost until someone restores it, as a real one would. `stop()` stops the edge,
 * the agents (which stop their workloads), then the control plane, and makes sure nothing remains.
 *
 * A crash of `up` is not an outage. Its agents and edge run in sessions of their own and log to files, so
 * an unclean death of `up` (SIGKILL, OOM) leaves them running: the agents keep their workloads, the edge
 * keeps serving its last plans. `<data>/up.json` lists what this `up` owns; the next `up` on the same data
 * dir adopts what is still alive and verifiably ours (pid, kernel start time, command line, log file):
 * it listens on the same API port, so the adopted agents and edge reconnect by themselves, and it starts
 * the controllers only once the adopted agents have heartbeated to it, so that no cluster is judged on
 * heartbeats from before the crash. What it cannot adopt (told another API URL or token, or a cluster no
 * longer in the file) it ends — an agent alone, its workloads left for the new agent to re-adopt.
 */
import { join, resolve } from 'node:path';
import type { Cluster } from '../api/kinds/cluster.js';
import { startControllers, type RunningControllers } from '../controllers/index.js';
import { freePort } from '../drivers/local/net.js';
import { processStartTicks } from '../drivers/local/process-table.js';
import { DroverError } from '../errors.js';
import { startControlPlane, type RunningControlPlane } from '../server/control-plane.js';
import { ensurePrivateDir } from '../store/private-files.js';
import { AgentProcess } from './agent-process.js';
import { ANNOTATION_RESTORE_REQUESTED_AT } from '../api/labels.js';
import { EdgeProcess } from './edge-process.js';
import { adoptLegacyBackend, pickLegacyPort, startOrAdoptLegacy, type LegacyBackend } from './legacy-backend.js';
import { canListen, portHolder, portInUse } from './ports.js';
import { ProcessHandle } from './process-handle.js';
import { waitForProds } from './prod-progress.js';
import { isOurDroverProcess } from './process-identity.js';
import { applyUpDocuments, loadUpFile, type UpFile } from './up-file.js';
import { readUpState, removeUpState, tokenDigest, writeUpState, type UpState } from './up-state.js';

export interface UpOptions {
  file: string;
  dataDir: string;
  /** API port; 0 picks a free one (the previous run's, when something of it is to be adopted). */
  port: number;
  /** Edge port; 0 picks a free one (the previous run's edge's, when it is adopted). */
  edgePort: number;
  out: (line: string) => void;
  /** Admin token to use instead of a generated one (DROVER_TOKEN). */
  envToken?: string;
  /** Prometheus base URL for the release controller's PromQL gates. */
  prometheusUrl?: string;
  /** How long to wait for adopted agents to heartbeat before the controllers start anyway. */
  adoptionHeartbeatTimeoutMs?: number;
  /** Start the example legacy backend on this port (0: a free one); undefined: not at all. */
  legacyPort?: number;
}

/** What an earlier `drover up` on this data dir left running and is verifiably ours. */
interface Leftovers {
  agents: Map<string, AgentProcess>;
  edge: EdgeProcess | undefined;
  legacy: LegacyBackend | undefined;
}

export class UpSupervisor {
  private cp: RunningControlPlane | undefined;
  private controllers: RunningControllers | undefined;
  private file: UpFile | undefined;
  private readonly dataDir: string;
  private readonly agents = new Map<string, AgentProcess>();
  private readonly restoreSeen = new Map<string, string>();
  private edge: EdgeProcess | undefined;
  private legacy: LegacyBackend | undefined;
  /** Set once this supervisor wrote up.json: then it is the owner, and removes it after a clean stop. */
  private ownsState = false;
  private restoreTimer: NodeJS.Timeout | undefined;
  private stopping: Promise<void> | undefined;

  constructor(private readonly opts: UpOptions) {
    this.dataDir = resolve(opts.dataDir);
  }

  get apiUrl(): string {
    return this.cp?.url ?? '';
  }

  get token(): string | undefined {
    return this.cp?.tokens.adminToken;
  }

  get edgeUrl(): string | undefined {
    return this.edge?.url;
  }

  /** The example legacy backend's URL, when started. */
  get legacyUrl(): string | undefined {
    return this.legacy?.url;
  }

  get edgeAdminUrl(): string | undefined {
    return this.edge?.adminUrl;
  }

  get upFile(): UpFile | undefined {
    return this.file;
  }

  private logFile(name: string): string {
    return join(this.dataDir, 'logs', `${name}.log`);
  }

  private stateDirOf(cluster: string): string {
    return join(this.dataDir, 'agents', cluster);
  }

  async start(): Promise<void> {
    const dataDir = this.dataDir;
    ensurePrivateDir(dataDir);
    ensurePrivateDir(join(dataDir, 'logs'));
    this.file = loadUpFile(this.opts.file);
    const prev = readUpState(dataDir);
    if (prev && prev.up.pid !== process.pid && isOurDroverProcess(prev.up.pid, { command: 'up', ...(prev.up.startTicks !== undefined ? { startTicks: prev.up.startTicks } : {}) })) {
      throw new DroverError('DROVER_E_UNAVAILABLE', `drover up (pid ${prev.up.pid}) is already running on ${dataDir}`, {
        fix: `use that one, stop it (Ctrl-C in its terminal, or kill ${prev.up.pid}), or pass another --data`,
      });
    }
    const left = this.leftovers(prev);
    const withEdge = EdgeProcess.available();
    // Every port is decided and checked before anything starts or is ended: a port held by a stranger
    // fails here, and leaves whatever a crashed run left serving as it was.
    const apiPort = await this.pickApiPort(prev, left);
    let edgePorts: { port: number; adminPort: number } | undefined;
    if (withEdge) {
      if (left.edge && (this.opts.edgePort === 0 || this.opts.edgePort === left.edge.port)) {
        edgePorts = { port: left.edge.port, adminPort: left.edge.adminPort };
      } else {
        const port = this.opts.edgePort === 0 ? await freePort() : this.opts.edgePort;
        await this.claimEdgePort(port);
        edgePorts = { port, adminPort: await freePort() };
      }
    }
    const legacyPort = await pickLegacyPort(this.opts.legacyPort, left.legacy, this.logFile('legacy'), this.opts.out);
    this.cp = await startControlPlane({
      dataDir,
      listen: `127.0.0.1:${apiPort}`,
      // Started below, once adopted agents have reported in.
      controllers: false,
      ...(this.opts.envToken ? { envToken: this.opts.envToken } : {}),
    });
    const cpStartedAt = Date.now();
    this.ownsState = true;
    this.saveState();
    this.opts.out(`control plane: ${this.cp.url} (data in ${dataDir})`);
    // Where the tokens are, never the tokens: a terminal's scrollback is not a secret store.
    const t = this.cp.tokens;
    if (t.file) this.opts.out(`tokens: ${t.generatedFile ? 'generated ' : ''}admin and readonly tokens in ${t.file} (mode 0600)`);
    else if (this.opts.envToken) this.opts.out('tokens: the admin token is DROVER_TOKEN');
    // Survivors reconnect by themselves only if they were told this very API and token.
    const reusable = prev !== undefined && prev.apiUrl === this.cp.url && prev.tokenDigest === tokenDigest(this.cp.tokens.adminToken);
    const adopted = await this.adoptAgents(left, reusable);
    // The edge right away: its ports were picked free but are not held, and the agents pick their
    // Prods' ports the same way — started after the Prods, the edge lost its admin port to a Prod now and
    // then (EADDRINUSE; the release gates then read the Prod instead of /stats). It waits for a plan.
    if (edgePorts) await this.startEdge(edgePorts, left.edge, reusable);
    else this.opts.out('edge: not available in this build (no `drover edge` command); Prods answer on their endpoints directly');
    this.legacy = await startOrAdoptLegacy(legacyPort, left.legacy, this.logFile('legacy'), this.opts.out);
    this.saveState();
    // Judge no cluster on heartbeats from before the crash: the controllers start once every adopted
    // agent has heartbeated to this control plane (bounded; a silent one is then judged as usual).
    if (adopted.length > 0) await this.waitForHeartbeats(adopted, cpStartedAt, this.opts.adoptionHeartbeatTimeoutMs ?? 15_000);
    this.controllers = await startControllers({
      store: this.cp.store,
      apiUrl: this.cp.url,
      ...(this.edge ? { edgeStatsUrls: [this.edge.adminUrl] } : {}),
      ...(this.opts.prometheusUrl ? { prometheusUrl: this.opts.prometheusUrl } : {}),
    });
    // Clusters first, and the rest once their agents heartbeat: Prods placed while only some clusters
    // are Ready would all land on those, and never spread over the failure domains.
    const isCluster = (d: unknown) => (d as { kind?: unknown }).kind === 'Cluster';
    await applyUpDocuments(this.cp.store, this.file.documents.filter(isCluster), this.opts.out);
    // A restore requested before this run is history, not a request to this supervisor.
    for (const c of (await this.cp.store.list('Cluster')).items) {
      const v = c.metadata.annotations[ANNOTATION_RESTORE_REQUESTED_AT];
      if (v) this.restoreSeen.set(c.metadata.name, v);
    }
    for (const c of this.file.localClusters) if (!this.agents.has(c.metadata.name)) this.startAgent(c.metadata.name);
    await this.waitForClusters(15_000);
    await applyUpDocuments(this.cp.store, this.file.documents.filter((d) => !isCluster(d)), this.opts.out);
    this.restoreTimer = setInterval(() => void this.checkRestores(), 300);
  }

  /** The agents and edge of the previous run that still run and are ours (checked by identity, not pid). */
  private leftovers(prev: UpState | undefined): Leftovers {
    const out: Leftovers = { agents: new Map(), edge: undefined, legacy: undefined };
    if (!prev) return out;
    if (prev.legacy) out.legacy = adoptLegacyBackend(prev.legacy, this.logFile('legacy'));
    for (const [name, rec] of Object.entries(prev.agents)) {
      const a = AgentProcess.adopt(name, rec, { stateDir: this.stateDirOf(name), logFile: this.logFile(`agent-${name}`) });
      if (a) out.agents.set(name, a);
    }
    if (prev.edge) out.edge = EdgeProcess.adopt(prev.edge, this.logFile('edge'));
    return out;
  }

  /** The API port: the one asked for, else the previous run's when survivors are to reconnect to it. */
  private async pickApiPort(prev: UpState | undefined, left: Leftovers): Promise<number> {
    if (this.opts.port !== 0) {
      if (!(await canListen(this.opts.port))) throw portInUse(this.opts.port, '--port', portHolder(this.opts.port));
      return this.opts.port;
    }
    const survivors = left.agents.size > 0 || left.edge !== undefined;
    if (prev && survivors && (await canListen(prev.apiPort))) return prev.apiPort;
    return 0;
  }

  /** Free, or held by an edge of this data dir that no up.json lists (an orphan): end it and take over. */
  private async claimEdgePort(port: number): Promise<void> {
    if (await canListen(port)) return;
    const holder = portHolder(port);
    if (holder !== undefined && EdgeProcess.isOrphanOf(holder, this.logFile('edge'))) {
      this.opts.out(`edge: an orphaned edge of an earlier drover up (pid ${holder}) holds port ${port}; stopping it to take over`);
      await ProcessHandle.adopt(holder, processStartTicks(holder)).stop(5000);
      if (await canListen(port)) return;
    }
    throw portInUse(port, '--edge-port', portHolder(port));
  }

  /** Adopts the agents that can reconnect; ends the others. Returns the names of the adopted clusters. */
  private async adoptAgents(left: Leftovers, reusable: boolean): Promise<string[]> {
    const adopted: string[] = [];
    for (const [name, a] of left.agents) {
      const inFile = this.file?.localClusters.some((c) => c.metadata.name === name) ?? false;
      if (inFile && reusable) {
        this.agents.set(name, a);
        this.watchAgent(name, a);
        adopted.push(name);
        this.opts.out(`cluster ${name}: agent adopted from the previous drover up (pid ${a.pid}), with its workloads`);
      } else if (inFile) {
        await a.replaceKeepingWorkloads();
        this.opts.out(`cluster ${name}: the previous agent (pid ${a.pid}) knew another API or token; ended, its workloads are re-adopted by a new agent`);
      } else {
        await a.stop();
        this.opts.out(`cluster ${name}: not in ${this.opts.file} any more; the previous run's agent (pid ${a.pid}) and its workloads stopped`);
      }
    }
    return adopted;
  }

  private async startEdge(ports: { port: number; adminPort: number }, left: EdgeProcess | undefined, reusable: boolean): Promise<void> {
    if (left && reusable && left.port === ports.port) {
      this.edge = left;
      this.opts.out(`edge: adopted from the previous drover up (pid ${left.pid}) on ${left.url}, admin on ${left.adminUrl}`);
      return;
    }
    if (left) {
      await left.stop();
      this.opts.out(`edge: the previous edge (pid ${left.pid}) stopped${left.port === ports.port ? ' (it knew another API or token)' : ` (it listened on port ${left.port})`}`);
    }
    this.edge = await EdgeProcess.start({ serverUrl: this.cp!.url, token: this.cp!.tokens.adminToken, port: ports.port, adminPort: ports.adminPort, logFile: this.logFile('edge') });
    this.opts.out(`edge: started (pid ${this.edge.pid}) on ${this.edge.url}, admin on ${this.edge.adminUrl}`);
  }

  private async waitForHeartbeats(names: string[], since: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const fresh = async () => {
      const cs = (await this.cp!.store.list('Cluster')).items;
      return names.every((n) => {
        const hb = cs.find((c) => c.metadata.name === n)?.status?.lastHeartbeat;
        return hb !== undefined && Date.parse(hb) >= since;
      });
    };
    while (!this.stopping) {
      if (await fresh()) {
        this.opts.out(`clusters: adopted agents of ${names.join(', ')} reported in; starting the controllers`);
        return;
      }
      if (Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    this.opts.out(`clusters: not every adopted agent reported in within ${timeoutMs} ms; starting the controllers anyway`);
  }

  private saveState(): void {
    if (!this.ownsState || !this.cp) return;
    const agents: UpState['agents'] = {};
    for (const [name, a] of this.agents) if (a.running) agents[name] = { pid: a.pid, ...(a.startTicks !== undefined ? { startTicks: a.startTicks } : {}) };
    const startTicks = processStartTicks(process.pid);
    const e = this.edge;
    writeUpState(this.dataDir, {
      version: 1,
      up: { pid: process.pid, ...(startTicks !== undefined ? { startTicks } : {}) },
      apiUrl: this.cp.url,
      apiPort: Number(new URL(this.cp.url).port),
      tokenDigest: tokenDigest(this.cp.tokens.adminToken),
      ...(e ? { edge: { pid: e.pid, ...(e.handle.startTicks !== undefined ? { startTicks: e.handle.startTicks } : {}), port: e.port, adminPort: e.adminPort } } : {}),
      agents,
      ...(this.legacy ? { legacy: { pid: this.legacy.pid, ...(this.legacy.startTicks !== undefined ? { startTicks: this.legacy.startTicks } : {}), port: this.legacy.port } } : {}),
    });
  }

  /** Waits (bounded) until every local cluster of the file is Ready. */
  private async waitForClusters(timeoutMs: number): Promise<void> {
    const names = new Set(this.file?.localClusters.map((c) => c.metadata.name));
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && !this.stopping) {
      const ready = (await this.cp!.store.list('Cluster')).items.filter((c) => names.has(c.metadata.name) && c.status?.phase === 'Ready');
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
    const logFile = this.logFile(`agent-${name}`);
    const a = AgentProcess.spawn({
      cluster,
      serverUrl: this.cp.url,
      token: this.cp.tokens.adminToken,
      stateDir: this.stateDirOf(name),
      logFile,
      cwd: this.file?.dir ?? process.cwd(),
    });
    this.agents.set(name, a);
    this.saveState();
    this.opts.out(`cluster ${name}: agent started (pid ${a.pid}, log ${logFile})`);
    this.watchAgent(name, a);
  }

  private watchAgent(name: string, a: AgentProcess): void {
    void a.exited.then((e) => {
      if (this.stopping || this.agents.get(name) !== a) return;
      const how = e.signal ? `killed by ${e.signal}` : e.code === null ? 'gone' : `exited with code ${e.code}`;
      this.opts.out(`cluster ${name}: agent ${how}; the cluster is lost until \`drover chaos restore ${name}\``);
    });
  }

  /** Restarts the agent of a cluster whose restore annotation changed, if its agent is not running. */
  private async checkRestores(): Promise<void> {
    if (this.stopping || !this.cp) return;
    let clusters: Cluster[];
    try {
      clusters = (await this.cp.store.list('Cluster')).items;
    } catch {
      return;
    }
    for (const c of clusters) {
      const name = c.metadata.name;
      const v = c.metadata.annotations[ANNOTATION_RESTORE_REQUESTED_AT];
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

  /** Waits until every wanted Prod is Ready, printing a line whenever the counts change. */
  async waitForProds(timeoutMs: number): Promise<boolean> {
    if (!this.cp) return false;
    return waitForProds(this.cp.store, timeoutMs, this.opts.out, () => this.stopping !== undefined);
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      clearInterval(this.restoreTimer);
      await this.edge?.stop();
      await this.legacy?.stop();
      await Promise.all([...this.agents.values()].map((a) => a.stop()));
      await this.controllers?.stop();
      await this.cp?.stop();
      // Everything it listed is gone: the next up has nothing to adopt.
      if (this.ownsState) removeUpState(this.dataDir);
    })();
    return this.stopping;
  }
}
