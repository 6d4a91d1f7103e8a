/**
 * The local ClusterDriver: each Prod runs as a supervised child process group on this machine (see
 * workload.ts). The driver keeps a state file so that a new driver on the same state directory — an agent
 * that restarted — re-adopts the workloads still alive instead of starting duplicates, and the agent can
 * retire those it no longer wants. `close()` detaches and leaves workloads running (for a restart); the
 * agent retires them first when it is asked to shut down.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Fleet } from '../../api/kinds/fleet.js';
import type { Prod } from '../../api/kinds/prod.js';
import { prodApp } from '../../api/template.js';
import { ensurePrivateDir } from '../../store/private-files.js';
import type { ClusterDriver, ClusterHealth, WorkloadObservation } from '../driver.js';
import { defaultBackoff, type BackoffPolicy } from './backoff.js';
import { groupMembers, isAlive, isSameProcess, signalGroup } from './process-table.js';
import { readState, writeState, type WorkloadRecord } from './state-file.js';
import { Workload, type WorkloadOptions, type WorkloadSpec } from './workload.js';

export interface LocalDriverOptions {
  /** Holds the state file and the workloads' logs. */
  stateDir: string;
  /** Working directory of workloads (relative commands and args resolve against it); the agent's when absent. */
  cwd?: string;
  backoff?: Partial<BackoffPolicy>;
  healthIntervalMs?: number;
  healthTimeoutMs?: number;
  /** Time between SIGTERM and SIGKILL when a workload stops. */
  stopGraceMs?: number;
}

export class LocalDriver implements ClusterDriver {
  readonly provider = 'local' as const;
  private readonly workloads = new Map<string, Workload>();
  /** One operation at a time per Prod, so apply and retire never race on the same process. */
  private readonly ops = new Map<string, Promise<void>>();
  private readonly wopts: WorkloadOptions;
  private closed = false;

  private constructor(private readonly opts: LocalDriverOptions) {
    const logDir = join(opts.stateDir, 'logs');
    // Private to the agent's user: workload logs and the state file are nobody else's to read.
    ensurePrivateDir(opts.stateDir);
    ensurePrivateDir(logDir);
    this.wopts = {
      logDir,
      cwd: opts.cwd,
      backoff: { ...defaultBackoff, ...opts.backoff },
      healthIntervalMs: opts.healthIntervalMs ?? 250,
      healthTimeoutMs: opts.healthTimeoutMs ?? 1000,
      stopGraceMs: opts.stopGraceMs ?? 5000,
      onChange: () => this.persist(),
    };
  }

  /** Opens the state directory and re-adopts every workload recorded there that is still alive and ours. */
  static async open(opts: LocalDriverOptions): Promise<LocalDriver> {
    const d = new LocalDriver(opts);
    for (const rec of readState(opts.stateDir)) d.readopt(rec);
    d.persist();
    // Report adopted workloads as they are (Running, most likely), not as Starting until the first check.
    await Promise.all([...d.workloads.values()].map((w) => w.firstCheck));
    return d;
  }

  private readopt(rec: WorkloadRecord): void {
    if (isSameProcess(rec.pid, rec.startTicks)) {
      const spec: WorkloadSpec = { prod: rec.prod, fleet: rec.fleet, version: rec.version, command: '', args: [], env: {}, healthPath: rec.healthPath, specHash: rec.specHash };
      this.workloads.set(rec.prod, Workload.adopt(spec, rec, this.wopts));
      return;
    }
    // The leader is gone (or its pid now belongs to someone else): kill what is left of its group, if
    // the group still exists under a leader that is not alive — those are our workload's children.
    if (!isAlive(rec.pgid) && groupMembers(rec.pgid).length > 0) signalGroup(rec.pgid, 'SIGKILL');
  }

  async apply(prod: Prod, fleet: Fleet): Promise<void> {
    const spec = workloadSpec(prod, fleet);
    await this.serial(prod.metadata.name, async () => {
      const cur = this.workloads.get(spec.prod);
      if (cur && cur.spec.specHash === spec.specHash) {
        // An adopted workload learns its full spec (health path…) now that the Prod is known again.
        if (cur.spec.command === '') Object.assign(cur.spec, spec);
        return;
      }
      if (cur) await cur.stop();
      if (this.closed) return;
      const w = new Workload(spec, this.wopts);
      this.workloads.set(spec.prod, w);
      w.start();
    });
  }

  async observe(prodName: string): Promise<WorkloadObservation> {
    return this.workloads.get(prodName)?.observe() ?? { state: 'Absent', restarts: 0 };
  }

  async retire(prodName: string): Promise<void> {
    await this.serial(prodName, async () => {
      const w = this.workloads.get(prodName);
      if (!w) return;
      await w.stop();
      this.workloads.delete(prodName);
      this.persist();
    });
  }

  async list(): Promise<string[]> {
    return [...this.workloads.keys()];
  }

  async health(): Promise<ClusterHealth> {
    return { reachable: true, nodes: { ready: 1, total: 1 } };
  }

  /** Stops supervising; the processes keep running and the state file lets the next driver adopt them. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.ops.values()]);
    for (const w of this.workloads.values()) w.detach();
    this.persist();
  }

  private persist(): void {
    const recs: WorkloadRecord[] = [];
    for (const w of this.workloads.values()) {
      const r = w.record();
      if (r) recs.push(r);
    }
    writeState(this.opts.stateDir, recs);
  }

  private serial(name: string, fn: () => Promise<void>): Promise<void> {
    const prev = this.ops.get(name) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    this.ops.set(name, next);
    void next.finally(() => {
      if (this.ops.get(name) === next) this.ops.delete(name);
    }).catch(() => {});
    return next;
  }
}

/** What to run for a Prod: its template's app (never the live Fleet's) with the Prod's own environment on top. */
export function workloadSpec(prod: Prod, fleet: Fleet): WorkloadSpec {
  const app = prodApp(prod, fleet);
  if (app.command === undefined) {
    throw new Error(`fleet ${fleet.metadata.name} has no spec.app.command: local clusters run commands, not images`);
  }
  const env = { ...app.env, ...prod.spec.env };
  const base = {
    prod: prod.metadata.name,
    fleet: prod.spec.fleet,
    version: prod.spec.version,
    command: app.command,
    args: app.args,
    env,
    healthPath: app.healthPath,
  };
  const specHash = createHash('sha256').update(JSON.stringify(base)).digest('hex').slice(0, 16);
  return { ...base, specHash };
}
