/**
 * One Prod's workload on a local cluster: a child process in a process group of its own, supervised.
 * It is started, health-checked over HTTP, restarted with exponential backoff when it exits, and stopped
 * with SIGTERM then SIGKILL after a grace period. A workload can also be *adopted*: a process an earlier
 * agent started, known only by pid, which we watch by polling because it is not our child.
 *
 * Output goes to log files rather than pipes, so a workload outlives an agent crash without dying of
 * EPIPE, and the tail of stderr is still there to explain a failed start.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { fileSize, readSince } from './log-file.js';
import { join } from 'node:path';
import type { WorkloadObservation, WorkloadState } from '../driver.js';
import { backoffDelay, type BackoffPolicy } from './backoff.js';
import { freePort, probe } from './net.js';
import { stderrTail } from './stderr-tail.js';
import { groupMembers, isSameProcess, processStartTicks, signalGroup } from './process-table.js';
import type { WorkloadRecord } from './state-file.js';
import { workloadEnv } from './workload-env.js';

export interface WorkloadSpec {
  prod: string;
  fleet: string;
  version: string;
  command: string;
  args: string[];
  /** The declared environment (Fleet app env, then the Prod's); see workload-env.ts for the rest. */
  env: Record<string, string>;
  healthPath: string;
  specHash: string;
}

export interface WorkloadOptions {
  logDir: string;
  cwd: string | undefined;
  backoff: BackoffPolicy;
  healthIntervalMs: number;
  healthTimeoutMs: number;
  stopGraceMs: number;
  /** Called whenever what the state file must hold changed (a start, an exit, a stop). */
  onChange: () => void;
}

/** Consecutive failed checks that take a healthy workload back to not-serving. */
const UNHEALTHY_AFTER = 3;

export class Workload {
  private state: WorkloadState = 'Absent';
  private child: ChildProcess | undefined;
  private pid: number | undefined;
  private startTicks: number | undefined;
  private port: number | undefined;
  private startedAt = 0;
  private restarts = 0;
  private attempt = 0;
  private message: string | undefined;
  private healthFailures = 0;
  private healthy = false;
  private stopping = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private healthTimer: NodeJS.Timeout | undefined;
  private stderrOffset = 0;
  /** Settles after the first health check of an adopted workload, so its first observation is real. */
  firstCheck: Promise<void> = Promise.resolve();

  constructor(
    readonly spec: WorkloadSpec,
    private readonly opts: WorkloadOptions,
  ) {}

  /** Takes over a process an earlier agent started; it is watched by polling its pid. */
  static adopt(spec: WorkloadSpec, rec: WorkloadRecord, opts: WorkloadOptions): Workload {
    const w = new Workload(spec, opts);
    w.pid = rec.pid;
    w.startTicks = rec.startTicks;
    w.port = rec.port;
    w.startedAt = Date.parse(rec.startedAt);
    w.restarts = rec.restarts;
    w.state = 'Starting';
    w.firstCheck = w.startHealthLoop();
    return w;
  }

  start(): void {
    void this.spawnNow();
  }

  observe(): WorkloadObservation {
    const o: WorkloadObservation = { state: this.state, version: this.spec.version, restarts: this.restarts };
    if (this.port !== undefined && (this.state === 'Starting' || this.state === 'Running')) o.endpoint = `http://127.0.0.1:${this.port}`;
    if (this.message !== undefined) o.message = this.message;
    return o;
  }

  /** What the state file holds for this workload; nothing while no process runs. */
  record(): WorkloadRecord | undefined {
    if (this.pid === undefined || this.port === undefined) return undefined;
    const rec: WorkloadRecord = {
      prod: this.spec.prod,
      fleet: this.spec.fleet,
      version: this.spec.version,
      pid: this.pid,
      pgid: this.pid,
      port: this.port,
      healthPath: this.spec.healthPath,
      startedAt: new Date(this.startedAt).toISOString(),
      restarts: this.restarts,
      specHash: this.spec.specHash,
    };
    if (this.startTicks !== undefined) rec.startTicks = this.startTicks;
    return rec;
  }

  /** Stops supervising and leaves the process running (the agent is going away and may re-adopt it). */
  detach(): void {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    clearInterval(this.healthTimer);
    this.child?.removeAllListeners();
  }

  /** SIGTERM to the whole group, SIGKILL to whatever is left after the grace period. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    clearInterval(this.healthTimer);
    const pid = this.pid;
    if (pid !== undefined && isSameProcess(pid, this.startTicks)) {
      this.state = 'Stopping';
      signalGroup(pid, 'SIGTERM');
      const graceful = await waitUntil(() => groupMembers(pid).length === 0, this.opts.stopGraceMs);
      if (!graceful) {
        signalGroup(pid, 'SIGKILL');
        await waitUntil(() => groupMembers(pid).length === 0, 2000);
      }
    }
    this.pid = undefined;
    this.child = undefined;
    this.state = 'Absent';
    this.opts.onChange();
  }

  private async spawnNow(): Promise<void> {
    if (this.stopping) return;
    this.state = 'Starting';
    this.healthy = false;
    this.healthFailures = 0;
    const port = await freePort();
    if (this.stopping) return;
    this.port = port;
    const base = join(this.opts.logDir, this.spec.prod);
    const out = openSync(`${base}.out.log`, 'a');
    const errPath = `${base}.err.log`;
    const err = openSync(errPath, 'a');
    this.stderrOffset = fileSize(errPath);
    const env = workloadEnv(this.spec.env, { prod: this.spec.prod, fleet: this.spec.fleet, version: this.spec.version, port });
    this.startedAt = Date.now();
    let child: ChildProcess;
    try {
      // detached: a new session and process group, so one signal reaches the app and anything it forks.
      child = spawn(this.spec.command, this.spec.args, { cwd: this.opts.cwd, env, stdio: ['ignore', out, err], detached: true });
    } finally {
      closeSync(out);
      closeSync(err);
    }
    this.child = child;
    child.unref();
    child.once('error', (e) => {
      // Spawn failures ("spawn nosuchcmd ENOENT") come here, with no exit event when no process started.
      if (child.pid === undefined) this.exited(e.message);
    });
    child.once('exit', (code, signal) => {
      const ran = Date.now() - this.startedAt;
      const how = signal ? `killed by ${signal}` : `exited with code ${code}`;
      const last = lastLine(errPath, this.stderrOffset);
      this.exited(`${how} after ${ran}ms${last ? `: ${last}` : ''}`);
    });
    if (child.pid !== undefined) {
      this.pid = child.pid;
      this.startTicks = processStartTicks(child.pid);
      this.opts.onChange();
      void this.startHealthLoop();
    }
  }

  /** The process is gone without being asked to stop: report why, and try again after a backoff. */
  private exited(reason: string): void {
    clearInterval(this.healthTimer);
    if (this.stopping) return;
    const ranMs = Date.now() - this.startedAt;
    if (ranMs >= this.opts.backoff.resetAfterMs) this.attempt = 0;
    const delay = backoffDelay(this.attempt, this.opts.backoff);
    this.attempt++;
    this.pid = undefined;
    this.child = undefined;
    this.healthy = false;
    this.state = 'Failed';
    this.message = `${reason} (restart ${this.restarts + 1} in ${delay}ms)`;
    this.opts.onChange();
    this.restartTimer = setTimeout(() => {
      this.restarts++;
      void this.spawnNow();
    }, delay);
    this.restartTimer.unref();
  }

  private startHealthLoop(): Promise<void> {
    clearInterval(this.healthTimer);
    const check = async () => {
      const pid = this.pid;
      if (pid === undefined || this.stopping) return;
      // Our own children report their exit; adopted ones we can only see disappear.
      if (!this.child && !isSameProcess(pid, this.startTicks)) {
        this.exited(`process ${pid} exited (adopted from an earlier agent; exit code unknown)`);
        return;
      }
      const r = await probe(`http://127.0.0.1:${this.port}${this.spec.healthPath}`, this.opts.healthTimeoutMs);
      if (this.stopping || this.pid !== pid) return;
      if (r.ok) {
        this.healthy = true;
        this.healthFailures = 0;
        this.state = 'Running';
        this.message = undefined;
        if (Date.now() - this.startedAt >= this.opts.backoff.resetAfterMs) this.attempt = 0;
      } else {
        this.healthFailures++;
        if (!this.healthy || this.healthFailures >= UNHEALTHY_AFTER) {
          this.healthy = false;
          this.state = 'Starting';
          this.message = `health check ${this.spec.healthPath} failed: ${r.error}`;
        }
      }
    };
    this.healthTimer = setInterval(() => void check(), this.opts.healthIntervalMs);
    this.healthTimer.unref();
    return check();
  }
}


/** The useful tail (stderr-tail.ts) of what was written to `path` after `from`, for a status message. */
function lastLine(path: string, from: number): string | undefined {
  const text = readSince(path, from, 4096);
  return text === undefined ? undefined : stderrTail(text);
}

async function waitUntil(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 25));
  }
  return true;
}
