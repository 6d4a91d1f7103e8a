/**
 * Chaos for local clusters.
 *
 * kill-cluster: SIGKILL the cluster's agent (its whole process group) and every workload its state file
 * lists — the cluster is lost at once, with no goodbye to the control plane, as when a machine or region
 * dies. The agent's pid comes from Cluster.status.agent.pid and its state directory from an annotation
 * the agent keeps on its Cluster; the pid is checked to really be a `drover agent` for that cluster.
 *
 * restore: `drover up` owns the agent processes (so Ctrl-C still stops everything), so restore does not
 * start an agent itself: it stamps a restore request annotation on the Cluster, and the up supervisor,
 * which watches its clusters, starts the agent again. Any terminal with API access can ask for it.
 */
import { readFileSync } from 'node:fs';
import type { Cluster } from '../api/kinds/cluster.js';
import { agentStateDirAnnotation } from '../agent/run-agent.js';
import { readProcStat, signalGroup, isAlive } from '../drivers/local/process-table.js';
import { errors } from '../errors.js';
import type { Store } from '../store/store.js';
import { killWorkloads } from './agent-process.js';

export const restoreRequestAnnotation = 'drover.dev/restore-requested-at';

export interface KillReport {
  agentPid?: number;
  workloadsKilled: number;
}

export async function killCluster(store: Store, name: string): Promise<KillReport> {
  const c = await store.get<Cluster>('Cluster', name);
  if (!c) throw errors.notFound('Cluster', name);
  const report: KillReport = { workloadsKilled: 0 };
  const pid = c.status?.agent?.pid;
  if (pid !== undefined && isAgentOf(pid, name)) {
    // The agent first, so that it cannot restart the workloads we are about to kill.
    const st = readProcStat(pid);
    if (st?.pgid === pid) signalGroup(pid, 'SIGKILL');
    else process.kill(pid, 'SIGKILL');
    report.agentPid = pid;
  }
  const stateDir = c.metadata.annotations[agentStateDirAnnotation];
  if (stateDir) report.workloadsKilled = killWorkloads(stateDir);
  return report;
}

/** True when `pid` is a live `drover agent --cluster NAME` process. */
export function isAgentOf(pid: number, name: string): boolean {
  if (!isAlive(pid)) return false;
  let argv: string[];
  try {
    argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return false;
  }
  const i = argv.indexOf('--cluster');
  return argv.includes('agent') && i >= 0 && argv[i + 1] === name;
}

/** Stamps the restore request; returns its value (the up supervisor restarts the agent when it changes). */
export async function requestRestore(store: Store, name: string, now = new Date()): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    const c = await store.get<Cluster>('Cluster', name);
    if (!c) throw errors.notFound('Cluster', name);
    const value = now.toISOString();
    try {
      await store.update<Cluster>({ ...c, metadata: { ...c.metadata, annotations: { ...c.metadata.annotations, [restoreRequestAnnotation]: value } } });
      return value;
    } catch (e) {
      if (attempt >= 3) throw e;
    }
  }
}
