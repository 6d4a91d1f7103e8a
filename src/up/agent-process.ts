/**
 * A `drover agent` child process as `drover up` runs it: in a process group of its own (so that chaos can
 * kill it as a lost cluster without touching the rest), logging to a file, with the admin token in its
 * environment rather than on its command line, and told to exit when `drover up` disappears.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Cluster } from '../api/kinds/cluster.js';
import { clusterDomain } from '../api/kinds/cluster.js';
import { groupMembers, isSameProcess, signalGroup } from '../drivers/local/process-table.js';
import { readState } from '../drivers/local/state-file.js';

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

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class AgentProcess {
  readonly pid: number;
  readonly exited: Promise<Exit>;
  private exit: Exit | undefined;

  private constructor(
    private readonly child: ChildProcess,
    readonly opts: AgentProcessOptions,
  ) {
    this.pid = child.pid ?? -1;
    this.exited = new Promise((res) => {
      child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        res(this.exit);
      });
    });
  }

  static spawn(opts: AgentProcessOptions): AgentProcess {
    const c = opts.cluster;
    mkdirSync(dirname(opts.logFile), { recursive: true });
    mkdirSync(opts.stateDir, { recursive: true });
    const log = openSync(opts.logFile, 'a');
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
      return new AgentProcess(child, opts);
    } finally {
      closeSync(log);
    }
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  /** SIGTERM (the agent stops its workloads), SIGKILL after the grace, then make sure no workload is left. */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.running) {
      this.child.kill('SIGTERM');
      const t = setTimeout(() => signalGroup(this.pid, 'SIGKILL'), graceMs);
      await this.exited;
      clearTimeout(t);
    }
    signalGroup(this.pid, 'SIGKILL');
    killWorkloads(this.opts.stateDir);
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
