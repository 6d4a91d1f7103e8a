/**
 * A highly available control plane on real processes for tests and benchmarks: an N-member etcd
 * (src/up/etcd-cluster.ts) and M `drover server --backend etcd` replicas from dist, on loopback ports they
 * pick, with the probes the HA tests read (`/readyz`: who leads; `/metrics`: reconciles, fencing).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { RemoteStore } from '../../src/client/remote-store.js';
import { EtcdCluster } from '../../src/up/etcd-cluster.js';
import { droverBin } from './drover-up.js';
import { waitFor } from './wait-for.js';

export const haToken = 'ha-admin-token';

export interface Readiness {
  status: string;
  replica: string;
  leading: boolean;
  leader: { id: string; url?: string; since?: string; lease: string } | null;
}

export class Replica {
  output = '';
  url = '';
  readonly exited: Promise<number | null>;
  private store: RemoteStore | undefined;

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    child.stdout?.on('data', (b: Buffer) => (this.output = (this.output + b.toString()).slice(-20_000)));
    child.stderr?.on('data', (b: Buffer) => (this.output = (this.output + b.toString()).slice(-20_000)));
    this.exited = new Promise((res) => child.once('exit', (code) => res(code)));
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** A client of this replica alone. */
  client(): RemoteStore {
    this.store ??= new RemoteStore({ server: this.url, token: haToken });
    return this.store;
  }

  async readyz(timeoutMs = 2000): Promise<Readiness> {
    const res = await fetch(`${this.url}/readyz`, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) throw new Error(`${this.name} /readyz answered ${res.status}: ${await res.text()}`);
    return (await res.json()) as Readiness;
  }

  /** One sample of a metric from /metrics, summed over the series whose labels contain `labels`. */
  async metric(name: string, labels: Record<string, string> = {}): Promise<number> {
    const text = await (await fetch(`${this.url}/metrics`, { signal: AbortSignal.timeout(2000) })).text();
    let sum = 0;
    for (const line of text.split('\n')) {
      const m = /^(\w+)(?:\{([^}]*)\})? (\S+)$/.exec(line);
      if (!m || m[1] !== name) continue;
      const ls = m[2] ?? '';
      if (Object.entries(labels).every(([k, v]) => ls.includes(`${k}="${v}"`))) sum += Number(m[3]);
    }
    return sum;
  }

  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  async stop(): Promise<void> {
    await this.store?.close();
    if (this.running) {
      this.child.kill('SIGCONT');
      this.child.kill('SIGTERM');
      const t = setTimeout(() => this.child.kill('SIGKILL'), 5000);
      await this.exited;
      clearTimeout(t);
    }
  }
}

export interface HaOptions {
  dir: string;
  etcdMembers?: number;
  replicas?: number;
  /** `--lease-ttl` (default: the server's, 3 s). */
  leaseTtlMs?: number;
  /** Extra flags for every replica. */
  serverArgs?: string[];
}

export class HaControlPlane {
  private constructor(
    readonly dir: string,
    readonly etcd: EtcdCluster,
    readonly replicas: Replica[],
    private readonly opts: HaOptions,
  ) {}

  static async start(opts: HaOptions): Promise<HaControlPlane> {
    const etcd = await EtcdCluster.start({ dir: join(opts.dir, 'etcd'), members: opts.etcdMembers ?? 3 });
    const cp = new HaControlPlane(opts.dir, etcd, [], opts);
    try {
      const n = opts.replicas ?? 3;
      for (let i = 1; i <= n; i++) cp.replicas.push(cp.spawnReplica(`server${i}`));
      await Promise.all(cp.replicas.map((r) => cp.waitListening(r)));
      await cp.leader();
    } catch (e) {
      await cp.stop();
      throw e;
    }
    return cp;
  }

  private spawnReplica(name: string, extra: string[] = []): Replica {
    const data = join(this.dir, name);
    mkdirSync(data, { recursive: true });
    const { DROVER_SERVER: _s, ...env } = process.env;
    const args = [droverBin, 'server', '--backend', 'etcd', '--etcd-endpoints', this.etcd.endpoints, '--replica-name', name, '--data', data, '--listen', '127.0.0.1:0', '--no-write-config'];
    if (this.opts.leaseTtlMs !== undefined) args.push('--lease-ttl', String(this.opts.leaseTtlMs));
    args.push(...(this.opts.serverArgs ?? []), ...extra);
    return new Replica(name, spawn(process.execPath, args, { cwd: this.dir, env: { ...env, DROVER_TOKEN: haToken, DROVER_CONFIG: join(this.dir, 'config.yaml') }, stdio: ['ignore', 'pipe', 'pipe'] }));
  }

  private async waitListening(r: Replica): Promise<void> {
    r.url = await waitFor(`${r.name} to listen`, () => {
      if (!r.running) throw new Error(`${r.name} exited: ${r.output}`);
      return /listening on (http:\/\/\S+)/.exec(r.output)?.[1];
    }, { timeoutMs: 30_000, retryIf: (e) => !(e instanceof Error && e.message.includes('exited')) });
  }

  /** Starts one more replica; `args` e.g. `['--no-controllers']` for one that serves the API only. */
  async addReplica(name: string, args: string[] = []): Promise<Replica> {
    const r = this.spawnReplica(name, args);
    this.replicas.push(r);
    await this.waitListening(r);
    return r;
  }

  /** Starts a stopped or killed replica again under its name (on a new port), as a supervisor would. */
  async restart(r: Replica): Promise<Replica> {
    if (r.running) throw new Error(`${r.name} still runs`);
    const fresh = this.spawnReplica(r.name);
    this.replicas[this.replicas.indexOf(r)] = fresh;
    await this.waitListening(fresh);
    return fresh;
  }

  /** The replica that leads, once every running replica (but `exclude`) agrees on it and it says it leads. */
  async leader(opts: { timeoutMs?: number; exclude?: readonly Replica[] } = {}): Promise<Replica> {
    const { timeoutMs = 30_000, exclude = [] } = opts;
    return waitFor('one leader that every running replica agrees on', async () => {
      const live = this.replicas.filter((r) => r.running && !exclude.includes(r));
      const views = await Promise.all(live.map((r) => r.readyz()));
      const id = views[0]?.leader?.id;
      if (!id || views.some((v) => v.leader?.id !== id)) return undefined;
      const i = views.findIndex((v) => v.replica === id);
      return i >= 0 && views[i]!.leading ? live[i] : undefined;
    }, { timeoutMs, intervalMs: 25 });
  }

  async stop(): Promise<void> {
    await Promise.all(this.replicas.map((r) => r.stop()));
    await this.etcd.stop();
  }
}
