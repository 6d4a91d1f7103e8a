/**
 * Runs `drover up` (from dist, as users do) in a temp directory for end-to-end tests and benchmarks, with
 * the helpers they need: the CLI against it, its store, and the processes it owns.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { readConfig } from '../../src/cli/config.js';
import { RemoteStore } from '../../src/client/remote-store.js';
import { exampleAppPath } from './fixtures.js';
import { waitFor } from './wait-for.js';

const run = promisify(execFile);
export const droverBin = fileURLToPath(new URL('../../bin/drover.js', import.meta.url));

/** Three local clusters in three domains and a fleet of `prods` Prods of the example app. */
export function clustersFile(prods: number, capacity = 4, heartbeatGraceMs: Record<string, number> = {}, evictionTimeoutMs: Record<string, number> = {}): string {
  const grace = (name: string) =>
    (heartbeatGraceMs[name] !== undefined ? `, heartbeatGraceMs: ${heartbeatGraceMs[name]}` : '') +
    (evictionTimeoutMs[name] !== undefined ? `, evictionTimeoutMs: ${evictionTimeoutMs[name]}` : '');
  const cluster = (name: string, region: string) => `apiVersion: drover.dev/v1alpha1
kind: Cluster
metadata: { name: ${name} }
spec: { provider: local, region: ${region}, domain: ${name}, capacity: { prods: ${capacity} }${grace(name)} }
---
`;
  return `${cluster('tokyo', 'ap-northeast-1')}${cluster('osaka', 'ap-northeast-3')}${cluster('onprem', 'onprem')}apiVersion: drover.dev/v1alpha1
kind: Fleet
metadata: { name: web }
spec:
  prods: ${prods}
  version: v1
  app: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(exampleAppPath)}], healthPath: /healthz }
  warmup: { requests: 2 }
`;
}

/**
 * Tenants of the fleet `web` for `clustersFile`: redundancy 1 and 2 in turn, each on the host
 * `<name>.web.localhost` (see `tenantHosts`), `users(i)` users.
 */
export function tenantsFile(names: readonly string[], users: (i: number) => number): string {
  return names
    .map(
      (t, i) => `---
apiVersion: drover.dev/v1alpha1
kind: Tenant
metadata: { name: ${t} }
spec: { fleet: web, users: ${users(i)}, redundancy: ${i % 2 === 0 ? 1 : 2}, match: { hosts: [${t}.web.localhost] } }
`,
    )
    .join('');
}

/** The hosts `tenantsFile` gives its tenants. */
export function tenantHosts(names: readonly string[]): string[] {
  return names.map((t) => `${t}.web.localhost`);
}

class UpExited extends Error {}

export class UpRun {
  readonly dir: string;
  readonly config: string;
  readonly child: ChildProcess;
  output = '';
  store: RemoteStore | undefined;
  readonly exited: Promise<number | null>;

  /** `opts.dir`: run in the directory (and on the data dir) of an earlier run, as a second `drover up` would. */
  constructor(fileText: string, opts: { dir?: string; port?: number; edgePort?: number; args?: string[] } = {}) {
    this.dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'drover-up-'));
    this.config = join(this.dir, 'config.yaml');
    const file = join(this.dir, 'clusters.yaml');
    writeFileSync(file, fileText);
    this.child = spawn(process.execPath, [droverBin, 'up', file, '--data', join(this.dir, 'data'), '--port', String(opts.port ?? 0), '--edge-port', String(opts.edgePort ?? 0), ...(opts.args ?? [])], {
      cwd: this.dir,
      env: this.env(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout?.on('data', (b: Buffer) => (this.output += b.toString()));
    this.child.stderr?.on('data', (b: Buffer) => (this.output += b.toString()));
    this.exited = new Promise((res) => this.child.once('exit', (code) => res(code)));
  }

  /** The environment of every process of the run: its own CLI config, no token or server from outside. */
  private env(): NodeJS.ProcessEnv {
    const { DROVER_TOKEN: _t, DROVER_SERVER: _s, ...rest } = process.env;
    return { ...rest, DROVER_CONFIG: this.config };
  }

  /** Resolves once `drover up` printed its summary (every Prod Ready, or its ready timeout). */
  async running(timeoutMs = 90_000): Promise<RemoteStore> {
    // An up that exits instead fails the wait at once, with what it printed.
    await waitFor('drover up to be running', () => {
      if (this.child.exitCode !== null || this.child.signalCode !== null) throw new UpExited(`drover up exited (${this.child.exitCode ?? this.child.signalCode}) before running:\n${this.output}`);
      return this.output.includes('drover up is running');
    }, { timeoutMs, intervalMs: 100, retryIf: (e) => !(e instanceof UpExited) });
    const cfg = readConfig(this.config);
    this.store = new RemoteStore({ server: cfg.server!, ...(cfg.token ? { token: cfg.token } : {}) });
    return this.store;
  }

  async drover(...args: string[]): Promise<{ stdout: string; stderr: string }> {
    return run(process.execPath, [droverBin, ...args], { env: this.env() });
  }

  /** Processes whose working directory is this run's directory: the agents and every workload. */
  processes(): number[] {
    return processesIn(this.dir);
  }

  async stop(): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    const code = await this.exited;
    await this.store?.close();
    return code;
  }

  /** Last resort after a failed test: nothing of the run may survive it. */
  cleanup(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    for (const pid of this.processes()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export function processesIn(dir: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readlinkSync(`/proc/${name}/cwd`) === dir) out.push(Number(name));
    } catch {
      /* exited meanwhile, or not ours to read */
    }
  }
  return out;
}
