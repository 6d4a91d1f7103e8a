/**
 * One HAProxy in master-worker mode, driven by rendered configs: `start` validates (`haproxy -c`) and
 * runs `haproxy -W -db -S <master socket> -f <cfg>`; `reload` validates the new config, saves the servers'
 * health into the state file the config loads (so a reload does not forget which Prods are down), swaps
 * the file and sends SIGUSR2 to the master. The new worker takes the listening sockets over from the
 * master, the old one finishes what it has in flight: no connection is refused and no request dropped.
 * The master CLI (`@1 <command>` reaches the current worker) gives the servers' state.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { DroverError } from '../../errors.js';

export interface HaproxyProcessOptions {
  /** Path of the haproxy binary; default: `haproxy` on PATH, else /usr/sbin/haproxy. */
  binary?: string;
  /** Working directory for the config, state file and master socket; default: a new temp dir (removed on stop). */
  dir?: string;
  /** HAProxy's own stderr lines (alerts, server state changes). */
  log?: (line: string) => void;
  /** How long start/reload wait for the new worker (default 10 s). */
  readyTimeoutMs?: number;
}

/** A server's health as HAProxy reports it (`show stat`). */
export interface ServerState {
  backend: string;
  server: string;
  /** `UP`, `DOWN`, `UP 1/2` (going down), `DOWN 1/2` (coming up), `MAINT`, `DRAIN`, `no check`. */
  status: string;
  /** Whether HAProxy would send it new requests now. */
  up: boolean;
}

/** A server going up or down, as HAProxy logs it (time of the log line as read). */
export interface ServerEvent {
  backend: string;
  server: string;
  up: boolean;
  at: number;
  reason: string;
}

interface Proc {
  pid: number;
  type: 'master' | 'worker';
  reloads: number;
  failed?: number;
  old: boolean;
}

const INSTALL_FIX = 'install HAProxy (Debian/Ubuntu: apt-get install haproxy) or pass its path as `binary`';

/** The haproxy binary to use, or undefined when there is none. */
export function findHaproxy(binary?: string): string | undefined {
  const candidates = binary !== undefined ? [binary] : ['haproxy', '/usr/sbin/haproxy', '/usr/local/sbin/haproxy'];
  for (const c of candidates) {
    const r = spawnSync(c, ['-v'], { stdio: 'ignore' });
    if (r.status === 0) return c;
  }
  return undefined;
}

export class HaproxyProcess {
  readonly dir: string;
  readonly configFile: string;
  /** Where the config must point `server-state-file` (see `renderHaproxyConfig`'s `stateFile`). */
  readonly stateFile: string;
  readonly masterSocket: string;
  private readonly binary: string;
  private readonly ownsDir: boolean;
  private readonly log: (line: string) => void;
  private readonly readyTimeoutMs: number;
  private master: ChildProcess | undefined;
  private exited: Promise<void> | undefined;
  private stderrTail: string[] = [];
  private readonly listeners = new Set<(e: ServerEvent) => void>();
  private reloading: Promise<void> = Promise.resolve();

  constructor(opts: HaproxyProcessOptions = {}) {
    const bin = findHaproxy(opts.binary);
    if (bin === undefined) {
      throw new DroverError('DROVER_E_UNAVAILABLE', `haproxy binary not found (${opts.binary !== undefined ? `tried ${opts.binary}` : 'tried haproxy on PATH, /usr/sbin/haproxy, /usr/local/sbin/haproxy'})`, { fix: INSTALL_FIX });
    }
    this.binary = bin;
    this.ownsDir = opts.dir === undefined;
    this.dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'drover-haproxy-'));
    this.configFile = join(this.dir, 'haproxy.cfg');
    this.stateFile = join(this.dir, 'server-state');
    this.masterSocket = join(this.dir, 'master.sock');
    this.log = opts.log ?? (() => {});
    this.readyTimeoutMs = opts.readyTimeoutMs ?? 10_000;
  }

  /** Pid of the master process while it runs. */
  get pid(): number | undefined {
    return this.master?.exitCode === null && this.master.signalCode === null ? this.master.pid : undefined;
  }

  /** Calls `fn` on every server up/down line HAProxy logs; returns the unsubscribe function. */
  onServerEvent(fn: (e: ServerEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Runs `haproxy -c`; throws DROVER_E_INVALID with HAProxy's alerts when it refuses the config. */
  validate(config: string): void {
    const file = join(this.dir, 'haproxy.check.cfg');
    writeFileSync(file, config);
    const r = spawnSync(this.binary, ['-c', '-f', file], { encoding: 'utf8' });
    if (r.status !== 0) {
      const alerts = `${r.stdout}\n${r.stderr}`.split('\n').filter((l) => l.includes('[ALERT]')).map((l) => l.replace(/^\[ALERT\]\s*\(\d+\)\s*:\s*(config\s*:\s*)?/, '').trim());
      throw new DroverError('DROVER_E_INVALID', `haproxy refused the configuration: ${alerts.join('; ') || `exit code ${r.status}`}`, { fix: `see ${file}` });
    }
  }

  async start(config: string): Promise<void> {
    if (this.master) throw new DroverError('DROVER_E_CONFLICT', 'this HAProxy is already started', { fix: 'use reload() to apply a new config' });
    this.validate(config);
    // A state file with only its version line: nothing to restore, and no warning about it.
    if (!existsSync(this.stateFile)) writeFileSync(this.stateFile, '1\n');
    writeFileSync(this.configFile, config);
    const child = spawn(this.binary, ['-W', '-db', '-S', this.masterSocket, '-f', this.configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.master = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    const rl = createInterface({ input: child.stderr });
    rl.on('line', (line) => this.onLine(line));
    try {
      await this.waitFor('the first worker', async () => {
        if (child.exitCode !== null || child.signalCode !== null) {
          throw new DroverError('DROVER_E_UNAVAILABLE', `haproxy exited at start (${child.exitCode ?? child.signalCode}): ${this.stderrTail.join(' | ')}`, { fix: `see ${this.configFile}` });
        }
        const procs = await this.procs().catch(() => undefined);
        return procs?.some((p) => p.type === 'worker' && !p.old) ?? false;
      });
    } catch (e) {
      await this.stop();
      throw e;
    }
  }

  /**
   * Applies `config` with a hitless reload. Resolves once the new worker serves new connections; open
   * client connections finish their next request on the old worker (see HAPROXY_LIMITS).
   */
  reload(config: string): Promise<void> {
    // One reload at a time: a SIGUSR2 during a reload would be judged against the wrong worker.
    const run = this.reloading.then(() => this.reloadNow(config));
    this.reloading = run.catch(() => {});
    return run;
  }

  private async reloadNow(config: string): Promise<void> {
    const pid = this.pid;
    if (pid === undefined) throw new DroverError('DROVER_E_CONFLICT', 'this HAProxy is not running', { fix: 'start() it first' });
    this.validate(config);
    const before = await this.procs();
    const master = before.find((p) => p.type === 'master');
    const worker = before.find((p) => p.type === 'worker' && !p.old);
    if (!master) throw new DroverError('DROVER_E_INTERNAL', 'haproxy master CLI did not list the master', { fix: 'see the HAProxy log' });
    // The servers' health, read from the current worker, for the next one to start from.
    const state = await this.cli('@1 show servers state');
    if (state.startsWith('1\n')) {
      writeFileSync(this.stateFile + '.next', state);
      renameSync(this.stateFile + '.next', this.stateFile);
    }
    writeFileSync(this.configFile + '.next', config);
    renameSync(this.configFile + '.next', this.configFile);
    process.kill(pid, 'SIGUSR2');
    await this.waitFor('the reloaded worker', async () => {
      const now = await this.procs().catch(() => undefined);
      const m = now?.find((p) => p.type === 'master');
      if (!m || m.reloads <= master.reloads) return false;
      if ((m.failed ?? 0) > (master.failed ?? 0)) {
        throw new DroverError('DROVER_E_INVALID', `haproxy failed to reload: ${this.stderrTail.join(' | ')}`, { fix: `the previous worker keeps serving; see ${this.configFile}` });
      }
      return now!.some((p) => p.type === 'worker' && !p.old && p.pid !== worker?.pid);
    });
  }

  /** Stops the master and its workers (SIGTERM, then SIGKILL after `graceMs`) and removes its temp dir. */
  async stop(graceMs = 5000): Promise<void> {
    const child = this.master;
    if (child && child.exitCode === null && child.signalCode === null) {
      const workers = (await this.procs().catch(() => [])).filter((p) => p.type === 'worker').map((p) => p.pid);
      child.kill('SIGTERM');
      // The master waits for its workers before it exits; if it hangs, neither may outlive us.
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        for (const w of workers) killQuietly(w);
      }, graceMs);
      await this.exited;
      clearTimeout(timer);
    }
    this.master = undefined;
    if (this.ownsDir) rmSync(this.dir, { recursive: true, force: true });
  }

  /** One master CLI command (`@1 …` goes to the current worker); resolves to its output. */
  cli(command: string, timeoutMs = 2000): Promise<string> {
    return new Promise((resolve, reject) => {
      const s = net.connect(this.masterSocket);
      let out = '';
      const timer = setTimeout(() => s.destroy(new Error(`haproxy master CLI did not answer "${command}" within ${timeoutMs} ms`)), timeoutMs);
      s.setEncoding('utf8');
      s.on('data', (d: string) => (out += d));
      s.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      s.on('end', () => {
        clearTimeout(timer);
        resolve(out);
      });
      // Half-closing tells the master CLI this is the only command.
      s.end(command + '\n');
    });
  }

  /** Every server of every backend, from the current worker. */
  async serverStates(): Promise<ServerState[]> {
    const csv = await this.cli('@1 show stat');
    const lines = csv.split('\n').filter((l) => l.length > 0);
    const header = (lines[0] ?? '').replace(/^# /, '').split(',');
    const col = (n: string) => header.indexOf(n);
    const [px, sv, st] = [col('pxname'), col('svname'), col('status')];
    const out: ServerState[] = [];
    for (const l of lines.slice(1)) {
      const f = l.split(',');
      const server = f[sv] ?? '';
      if (server === 'FRONTEND' || server === 'BACKEND') continue;
      const status = f[st] ?? '';
      out.push({ backend: f[px] ?? '', server, status, up: status.startsWith('UP') || status === 'DRAIN' || status === 'no check' });
    }
    return out;
  }

  /** Master and worker processes as the master lists them (`show proc`). */
  async procs(): Promise<Proc[]> {
    const text = await this.cli('show proc');
    const out: Proc[] = [];
    let section = '';
    for (const line of text.split('\n')) {
      if (line.startsWith('#')) {
        section = line;
        continue;
      }
      const m = /^(\d+)\s+(master|worker)\s+(\d+)(?:\s+\[failed: (\d+)\])?/.exec(line);
      if (!m) continue;
      out.push({ pid: Number(m[1]), type: m[2] as 'master' | 'worker', reloads: Number(m[3]), ...(m[4] !== undefined ? { failed: Number(m[4]) } : {}), old: section.includes('old') });
    }
    return out;
  }

  private onLine(line: string): void {
    this.stderrTail.push(line);
    if (this.stderrTail.length > 20) this.stderrTail.shift();
    this.log(line);
    const m = /(?:Backup )?Server ([^/\s]+)\/(\S+) is (UP|DOWN)\b,? ?(.*)$/.exec(line);
    if (!m) return;
    const e: ServerEvent = { backend: m[1]!, server: m[2]!, up: m[3] === 'UP', at: Date.now(), reason: m[4] ?? '' };
    for (const fn of this.listeners) fn(e);
  }

  private async waitFor(what: string, cond: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + this.readyTimeoutMs;
    for (;;) {
      if (await cond()) return;
      if (Date.now() > deadline) {
        throw new DroverError('DROVER_E_UNAVAILABLE', `haproxy: timed out after ${this.readyTimeoutMs} ms waiting for ${what}: ${this.stderrTail.join(' | ')}`, { fix: `see ${this.configFile}` });
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
