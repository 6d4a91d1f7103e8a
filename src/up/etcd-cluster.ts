/**
 * A local etcd cluster of N members on loopback, for `drover up --ha` (and the HA tests and benchmark): the
 * Debian `etcd` binary, each member's data and log under `<dir>/<name>/`. Ports are picked free on the first
 * start and kept in `<dir>/cluster.json`, because a member's peer URL is part of the cluster's own state: a
 * second start reuses them (and etcd its data), or fails saying which port is taken.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { DroverError } from '../errors.js';
import { canListen } from './ports.js';

export interface EtcdMember {
  name: string;
  clientUrl: string;
  peerUrl: string;
  /** Undefined while stopped. */
  process: ChildProcess | undefined;
}

export interface EtcdClusterOptions {
  /** Parent directory of the members' data; created 0700. */
  dir: string;
  /** Default 3. */
  members?: number;
  /** Default `etcd` from PATH. */
  binary?: string;
}

interface Layout {
  members: { name: string; client: number; peer: number }[];
}

const READY_TIMEOUT_MS = 30_000;

export function etcdBinary(binary = 'etcd'): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${binary}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

export class EtcdCluster {
  readonly members: EtcdMember[];

  private constructor(
    private readonly dir: string,
    private readonly binary: string,
    layout: Layout,
  ) {
    this.members = layout.members.map((m) => ({ name: m.name, clientUrl: `http://127.0.0.1:${m.client}`, peerUrl: `http://127.0.0.1:${m.peer}`, process: undefined }));
  }

  /** Client URLs, comma-separated, as `--etcd-endpoints` takes them. */
  get endpoints(): string {
    return this.members.map((m) => m.clientUrl).join(',');
  }

  /** Starts every member (reusing the directory's layout and data when there are some) and waits until each is healthy. */
  static async start(opts: EtcdClusterOptions): Promise<EtcdCluster> {
    const binary = etcdBinary(opts.binary);
    if (!binary) {
      throw new DroverError('DROVER_E_UNAVAILABLE', `the etcd binary (${opts.binary ?? 'etcd'}) is not installed`, { fix: 'apt-get install etcd-server (Debian), or pass the path of an etcd 3.4+ binary' });
    }
    mkdirSync(opts.dir, { recursive: true, mode: 0o700 });
    const file = join(opts.dir, 'cluster.json');
    let layout: Layout;
    if (existsSync(file)) {
      layout = JSON.parse(readFileSync(file, 'utf8')) as Layout;
      for (const m of layout.members) {
        for (const [port, what] of [[m.client, 'client'], [m.peer, 'peer']] as const) {
          if (!(await canListen(port))) {
            throw new DroverError('DROVER_E_PORT_IN_USE', `port ${port} (etcd member ${m.name}'s ${what} port, kept in ${file}) is taken`, {
              fix: `stop what holds it, or remove ${opts.dir} to start a new etcd cluster (its data is lost)`,
            });
          }
        }
      }
    } else {
      const n = opts.members ?? 3;
      layout = { members: [] };
      for (let i = 1; i <= n; i++) layout.members.push({ name: `etcd${i}`, client: await freePort(), peer: await freePort() });
      writeFileSync(file, JSON.stringify(layout, null, 2), { mode: 0o600 });
    }
    const cluster = new EtcdCluster(opts.dir, binary, layout);
    for (const m of cluster.members) cluster.startMember(m);
    await Promise.all(cluster.members.map((m) => cluster.waitHealthy(m)));
    return cluster;
  }

  /** Starts a stopped member again (same data, same ports). */
  startMember(m: EtcdMember): void {
    const cluster = this.members.map((x) => `${x.name}=${x.peerUrl}`).join(',');
    const dir = join(this.dir, m.name);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const log = openSync(join(dir, 'etcd.log'), 'a', 0o600);
    const child = spawn(
      this.binary,
      [
        '--name', m.name,
        '--data-dir', join(dir, 'data'),
        '--listen-client-urls', m.clientUrl,
        '--advertise-client-urls', m.clientUrl,
        '--listen-peer-urls', m.peerUrl,
        '--initial-advertise-peer-urls', m.peerUrl,
        '--initial-cluster', cluster,
        '--initial-cluster-state', 'new',
        '--initial-cluster-token', 'drover-up-ha',
        // A 3-member cluster on one machine: snapshots rarely, so a busy test does not spend its disk there.
        '--snapshot-count', '100000',
      ],
      { stdio: ['ignore', log, log] },
    );
    closeSync(log);
    m.process = child;
    child.once('exit', () => {
      if (m.process === child) m.process = undefined;
    });
  }

  /** Waits until `GET /health` on the member answers healthy (a quorum is up and it has a leader). */
  async waitHealthy(m: EtcdMember, timeoutMs = READY_TIMEOUT_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const res = await fetch(`${m.clientUrl}/health`, { signal: AbortSignal.timeout(1000) });
        const body = (await res.json()) as { health?: string };
        if (body.health === 'true') return;
      } catch {
        /* not up yet */
      }
      if (m.process === undefined || Date.now() > deadline) {
        throw new DroverError('DROVER_E_UNAVAILABLE', `etcd member ${m.name} did not become healthy${m.process ? ` within ${timeoutMs} ms` : ' (it exited)'}`, {
          fix: `see ${join(this.dir, m.name, 'etcd.log')}`,
        });
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Signals one member (SIGKILL to kill it, SIGSTOP/SIGCONT to pause it). */
  kill(m: EtcdMember, signal: NodeJS.Signals = 'SIGKILL'): void {
    m.process?.kill(signal);
  }

  /** Stops every member (SIGTERM, SIGKILL after `graceMs`). */
  async stop(graceMs = 5000): Promise<void> {
    await Promise.all(
      this.members.map(async (m) => {
        const p = m.process;
        if (!p || p.exitCode !== null || p.signalCode !== null) return;
        const gone = new Promise((r) => p.once('exit', r));
        p.kill('SIGCONT');
        p.kill('SIGTERM');
        const t = setTimeout(() => p.kill('SIGKILL'), graceMs);
        await gone;
        clearTimeout(t);
      }),
    );
  }
}
