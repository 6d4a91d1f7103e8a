/**
 * `drover up --ha`: the whole system with a highly available control plane on this machine, to see a
 * hand-over happen. A 3-member etcd (etcd-cluster.ts), 3 `drover server --backend etcd` replicas as child
 * processes (one elected to run the controllers), one agent per local cluster of the file, and the edge.
 * Kill the leader (`kill -9 <pid>` of the one `drover get leader` names): another replica takes the
 * controllers over within about the lease TTL, and this supervisor starts the killed replica again on its
 * port, as systemd would, where it rejoins as a follower. Each hand-over is printed.
 *
 * What the single-process `up` does after a crash of `up` itself (adopting agents and edge) is not done here:
 * `up --ha` is a demonstration of the control plane's hand-over; a crashed `up --ha` leaves its children to
 * end with their parent's death or by hand.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { RemoteStore } from '../client/remote-store.js';
import { freePort } from '../drivers/local/net.js';
import { resolveTokens } from '../server/auth.js';
import { ensurePrivateDir } from '../store/private-files.js';
import { AgentProcess, droverBin } from './agent-process.js';
import { EdgeProcess } from './edge-process.js';
import { EtcdCluster } from './etcd-cluster.js';
import { canListen, portHolder, portInUse } from './ports.js';
import { waitForProds } from './prod-progress.js';
import { applyUpDocuments, loadUpFile, type UpFile } from './up-file.js';

export interface HaUpOptions {
  file: string;
  dataDir: string;
  /** Port of the first replica (0: free); the others take free ports. */
  port: number;
  edgePort: number;
  out: (line: string) => void;
  envToken?: string;
  replicas?: number;
  /** `--lease-ttl` of the replicas, ms (default theirs, 3 s). */
  leaseTtlMs?: number;
}

interface ServerReplica {
  name: string;
  port: number;
  child: ChildProcess | undefined;
  restarts: number;
}

const RESTART_DELAY_MS = 1000;

export class HaUp {
  private etcd: EtcdCluster | undefined;
  private readonly replicas: ServerReplica[] = [];
  private readonly agents = new Map<string, AgentProcess>();
  private edge: EdgeProcess | undefined;
  private store: RemoteStore | undefined;
  private file: UpFile | undefined;
  private adminToken: string | undefined;
  private tokenFile: string | undefined;
  private readonly dataDir: string;
  private leaderTimer: NodeJS.Timeout | undefined;
  private lastLeader: string | undefined;
  private stopping: Promise<void> | undefined;

  constructor(private readonly opts: HaUpOptions) {
    this.dataDir = resolve(opts.dataDir);
  }

  /** Every replica's URL. */
  get apiUrls(): string[] {
    return this.replicas.map((r) => `http://127.0.0.1:${r.port}`);
  }

  /** What the CLI config, the agents and the edge get: every replica, so that they fail over. */
  get apiUrl(): string {
    return this.apiUrls.join(',');
  }

  get token(): string | undefined {
    return this.adminToken;
  }

  get edgeUrl(): string | undefined {
    return this.edge?.url;
  }

  get edgeAdminUrl(): string | undefined {
    return this.edge?.adminUrl;
  }

  private logFile(name: string): string {
    return join(this.dataDir, 'logs', `${name}.log`);
  }

  async start(): Promise<void> {
    ensurePrivateDir(this.dataDir);
    ensurePrivateDir(join(this.dataDir, 'logs'));
    this.file = loadUpFile(this.opts.file);
    if (this.opts.port !== 0 && !(await canListen(this.opts.port))) throw portInUse(this.opts.port, '--port', portHolder(this.opts.port));
    const tokens = resolveTokens({ dataDir: this.dataDir, ...(this.opts.envToken ? { envToken: this.opts.envToken } : {}) });
    this.adminToken = tokens.adminToken;
    this.tokenFile = tokens.file;
    if (tokens.file) this.opts.out(`tokens: ${tokens.generatedFile ? 'generated ' : ''}admin and readonly tokens in ${tokens.file} (mode 0600)`);

    this.etcd = await EtcdCluster.start({ dir: join(this.dataDir, 'etcd') });
    this.opts.out(`etcd: ${this.etcd.members.length} members ${this.etcd.endpoints} (data and logs in ${join(this.dataDir, 'etcd')})`);
    const n = this.opts.replicas ?? 3;
    for (let i = 1; i <= n; i++) {
      const port = i === 1 && this.opts.port !== 0 ? this.opts.port : await freePort();
      const r: ServerReplica = { name: `server${i}`, port, child: undefined, restarts: 0 };
      this.replicas.push(r);
      this.spawnReplica(r);
    }
    this.store = new RemoteStore({ server: this.apiUrl, ...(this.adminToken ? { token: this.adminToken } : {}) });
    await Promise.all(this.replicas.map((r) => this.waitReady(r)));
    for (const r of this.replicas) this.opts.out(`control plane: ${r.name} on http://127.0.0.1:${r.port} (pid ${r.child?.pid}, log ${this.logFile(r.name)})`);
    await this.reportLeader(60_000);
    this.leaderTimer = setInterval(() => void this.reportLeader(0), 500);

    const server = this.apiUrl;
    if (EdgeProcess.available()) {
      const port = this.opts.edgePort === 0 ? await freePort() : this.opts.edgePort;
      if (!(await canListen(port))) throw portInUse(port, '--edge-port', portHolder(port));
      this.edge = await EdgeProcess.start({ serverUrl: server, token: this.adminToken, port, adminPort: await freePort(), logFile: this.logFile('edge') });
      this.opts.out(`edge: started (pid ${this.edge.pid}) on ${this.edge.url}, admin on ${this.edge.adminUrl}`);
    }
    const isCluster = (d: unknown) => (d as { kind?: unknown }).kind === 'Cluster';
    await applyUpDocuments(this.store, this.file.documents.filter(isCluster), this.opts.out);
    for (const c of this.file.localClusters) {
      const name = c.metadata.name;
      const logFile = this.logFile(`agent-${name}`);
      const a = AgentProcess.spawn({ cluster: c, serverUrl: server, token: this.adminToken, stateDir: join(this.dataDir, 'agents', name), logFile, cwd: this.file.dir });
      this.agents.set(name, a);
      this.opts.out(`cluster ${name}: agent started (pid ${a.pid}, log ${logFile})`);
    }
    await this.waitForClusters(30_000);
    await applyUpDocuments(this.store, this.file.documents.filter((d) => !isCluster(d)), this.opts.out);
  }

  private spawnReplica(r: ServerReplica): void {
    const args = [
      droverBin(), 'server', '--backend', 'etcd', '--etcd-endpoints', this.etcd!.endpoints,
      '--replica-name', r.name, '--listen', `127.0.0.1:${r.port}`, '--data', join(this.dataDir, r.name), '--no-write-config',
      ...(this.tokenFile ? ['--token-file', this.tokenFile] : []),
      ...(this.opts.leaseTtlMs !== undefined ? ['--lease-ttl', String(this.opts.leaseTtlMs)] : []),
    ];
    const log = openSync(this.logFile(r.name), 'a', 0o600);
    const env = { ...process.env, ...(this.opts.envToken ? { DROVER_TOKEN: this.opts.envToken } : {}) };
    try {
      r.child = spawn(process.execPath, args, { stdio: ['ignore', log, log], env });
    } finally {
      closeSync(log);
    }
    const child = r.child;
    child.once('exit', (code, signal) => {
      if (this.stopping || r.child !== child) return;
      r.child = undefined;
      r.restarts++;
      this.opts.out(`${r.name}: ${signal ? `killed by ${signal}` : `exited with code ${code}`}; starting it again in ${RESTART_DELAY_MS} ms (it rejoins as a follower)`);
      setTimeout(() => {
        if (!this.stopping) this.spawnReplica(r);
      }, RESTART_DELAY_MS);
    });
  }

  private async waitReady(r: ServerReplica, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const res = await fetch(`http://127.0.0.1:${r.port}/readyz`, { signal: AbortSignal.timeout(1000) });
        if (res.ok) return;
      } catch {
        /* starting */
      }
      if (Date.now() > deadline) throw new Error(`${r.name} did not become ready within ${timeoutMs} ms; see ${this.logFile(r.name)}`);
      await new Promise((res) => setTimeout(res, 100));
    }
  }

  /** Prints the leader when it changes (first call: waits up to `waitMs` for one). */
  private async reportLeader(waitMs: number): Promise<void> {
    const deadline = Date.now() + waitMs;
    do {
      for (const url of this.apiUrls) {
        try {
          const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(500) });
          const body = (await res.json()) as { leader?: { id: string; since?: string } | null };
          const l = body.leader;
          if (!l?.since) continue;
          if (l.id !== this.lastLeader) {
            const pid = this.replicas.find((r) => r.name === l.id)?.child?.pid;
            this.opts.out(`leader: ${l.id}${pid ? ` (pid ${pid})` : ''} runs the controllers since ${l.since}${this.lastLeader ? `, taking over from ${this.lastLeader}` : ''}`);
            this.lastLeader = l.id;
          }
          return;
        } catch {
          /* ask the next one */
        }
      }
      if (waitMs > 0) await new Promise((res) => setTimeout(res, 200));
    } while (Date.now() < deadline && !this.stopping);
  }

  private async waitForClusters(timeoutMs: number): Promise<void> {
    const names = new Set(this.file?.localClusters.map((c) => c.metadata.name));
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && !this.stopping) {
      const ready = (await this.store!.list('Cluster')).items.filter((c) => names.has(c.metadata.name) && c.status?.phase === 'Ready');
      if (ready.length === names.size) {
        this.opts.out(`clusters: ${[...names].join(', ')} Ready`);
        return;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    this.opts.out('clusters: not all Ready yet; applying the rest anyway');
  }

  async waitForProds(timeoutMs: number): Promise<boolean> {
    if (!this.store) return false;
    return waitForProds(this.store, timeoutMs, this.opts.out, () => this.stopping !== undefined);
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      clearInterval(this.leaderTimer);
      await this.edge?.stop();
      await Promise.all([...this.agents.values()].map((a) => a.stop()));
      await this.store?.close();
      await Promise.all(
        this.replicas.map(async (r) => {
          const c = r.child;
          if (!c || c.exitCode !== null || c.signalCode !== null) return;
          const gone = new Promise((res) => c.once('exit', res));
          c.kill('SIGTERM');
          const t = setTimeout(() => c.kill('SIGKILL'), 10_000);
          await gone;
          clearTimeout(t);
        }),
      );
      await this.etcd?.stop();
    })();
    return this.stopping;
  }
}
