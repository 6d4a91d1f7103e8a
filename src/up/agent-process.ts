/**
 * A `drover agent` process as `drover up` runs it: in a process group of its own (so that chaos can kill it
 * as a lost cluster without touching the rest), logging to a file (so that it outlives `up` without dying
 * of EPIPE), with the admin token in its environment rather than on its command line. If `up` dies
 * uncleanly the agent keeps running with its workloads; the next `up` adopts it (`AgentProcess.adopt`).
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Cluster } from '../api/kinds/cluster.js';
import { clusterDomain } from '../api/kinds/cluster.js';
import { groupMembers, isSameProcess, signalGroup } from '../drivers/local/process-table.js';
import { readState } from '../drivers/local/state-file.js';
import { ensurePrivateDir } from '../store/private-files.js';
import { ProcessHandle, type Exit } from './process-handle.js';
import { isOurDroverProcess } from './process-identity.js';

export type { Exit } from './process-handle.js';

/** bin/drover.js of this checkout (from src/up under tsx, or dist/up). */
export function droverBin(): string {
  return fileURLToPath(new URL('../../bin/drover.js', import.meta.url));
}

export interface AgentProcessOptions {
  cluster: Cluster;
  serverUrl: string;
  token: string | undefined;
  stateDir: string;
  logFile: string;
  /** Working directory: relative workload paths resolve against it. */
  cwd: string;
}

export class AgentProcess {
  private constructor(
    private readonly handle: ProcessHandle,
    readonly opts: Pick<AgentProcessOptions, 'stateDir' | 'logFile'>,
  ) {}

  get pid(): number {
    return this.handle.pid;
  }

  get startTicks(): number | undefined {
    return this.handle.startTicks;
  }

  get adopted(): boolean {
    return this.handle.adopted;
  }

  get exited(): Promise<Exit> {
    return this.handle.exited;
  }

  static spawn(opts: AgentProcessOptions): AgentProcess {
    const c = opts.cluster;
    ensurePrivateDir(dirname(opts.logFile));
    ensurePrivateDir(opts.stateDir);
    const log = openSync(opts.logFile, 'a', 0o600);
    const args = [
      droverBin(),
      'agent',
      '--cluster', c.metadata.name,
      '--server', opts.serverUrl,
      '--region', c.spec.region,
      '--domain', clusterDomain(c),
      '--capacity', String(c.spec.capacity.prods),
      '--state-dir', opts.stateDir,
      '--parent-pid', String(process.pid),
    ];
    const env = { ...process.env, ...(opts.token ? { DROVER_TOKEN: opts.token } : {}) };
    try {
      const child = spawn(process.execPath, args, { cwd: opts.cwd, env, stdio: ['ignore', log, log], detached: true });
      return new AgentProcess(ProcessHandle.ofChild(child), opts);
    } finally {
      closeSync(log);
    }
  }

  /**
   * The agent of `cluster` that an earlier `drover up` on this data dir started, if it is still running
   * (same pid, start time, command line, state dir and log file); undefined otherwise.
   */
  static adopt(cluster: string, rec: { pid: number; startTicks?: number | undefined }, opts: Pick<AgentProcessOptions, 'stateDir' | 'logFile'>): AgentProcess | undefined {
    const ours = isOurDroverProcess(rec.pid, {
      command: 'agent',
      flags: { '--cluster': cluster, '--state-dir': opts.stateDir },
      logFile: opts.logFile,
      ...(rec.startTicks !== undefined ? { startTicks: rec.startTicks } : {}),
    });
    return ours ? new AgentProcess(ProcessHandle.adopt(rec.pid, rec.startTicks), opts) : undefined;
  }

  get running(): boolean {
    return this.handle.running;
  }

  /** SIGTERM (the agent stops its workloads), SIGKILL after the grace, then make sure no workload is left. */
  async stop(graceMs = 10_000): Promise<void> {
    await this.handle.stop(graceMs);
    killWorkloads(this.opts.stateDir);
  }

  /**
   * Ends the agent process alone, leaving its workloads running for the agent that replaces it (which
   * re-adopts them from the state file): for an agent that was told an API URL or token no longer valid.
   */
  async replaceKeepingWorkloads(): Promise<void> {
    signalGroup(this.pid, 'SIGKILL');
    await this.handle.exited;
  }
}

/** SIGKILLs every workload group a local agent's state file lists that is still the process it started. */
export function killWorkloads(stateDir: string): number {
  let n = 0;
  for (const rec of readState(stateDir)) {
    if (isSameProcess(rec.pid, rec.startTicks) || groupMembers(rec.pgid).length > 0) {
      signalGroup(rec.pgid, 'SIGKILL');
      n++;
    }
  }
  return n;
}
