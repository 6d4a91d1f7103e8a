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
import type { RemoteStore } from '../client/remote-store.js';
import { ANNOTATION_AGENT_STATE_DIR, ANNOTATION_CHAOS_KILLED_AT, ANNOTATION_RESTORE_REQUESTED_AT } from '../api/labels.js';
import { readProcStat, signalGroup, isAlive } from '../drivers/local/process-table.js';
import { DroverError, errors, isDroverError } from '../errors.js';
import { mutate } from '../store/mutate.js';
import type { Store } from '../store/store.js';
import { killWorkloads } from './agent-process.js';

export interface KillReport {
  agentPid?: number;
  workloadsKilled: number;
}

export async function killCluster(store: Store, name: string): Promise<KillReport> {
  const c = await store.get('Cluster', name);
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
  const stateDir = c.metadata.annotations[ANNOTATION_AGENT_STATE_DIR];
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

/**
 * Records the kill on the Cluster (who broke it and when) before any signal is sent: signals come from
 * this process, which the API cannot authorise, so an authorised API write goes first and a read-only
 * token (or none) stops here.
 */
export async function recordKill(store: Pick<RemoteStore, 'patch'>, name: string, now = new Date()): Promise<void> {
  try {
    await store.patch<Cluster>('Cluster', name, { metadata: { annotations: { [ANNOTATION_CHAOS_KILLED_AT]: now.toISOString() } } });
  } catch (e) {
    if (isDroverError(e, 'DROVER_E_NOT_FOUND')) throw errors.notFound('Cluster', name);
    if (isDroverError(e, 'DROVER_E_FORBIDDEN') || isDroverError(e, 'DROVER_E_UNAUTHORIZED')) {
      throw new DroverError(e.code, `chaos kill-cluster needs an admin token (${e.message})`, {
        field: '--token',
        fix: 'use the admin token of the tokens file `drover up`/`drover server` printed: --token TOKEN or DROVER_TOKEN',
      });
    }
    throw e;
  }
}

/** Stamps the restore request; returns its value (the up supervisor restarts the agent when it changes). */
export async function requestRestore(store: Store, name: string, now = new Date()): Promise<string> {
  const value = now.toISOString();
  const c = await mutate<Cluster>(store, 'Cluster', name, (cl) => {
    cl.metadata.annotations = { ...cl.metadata.annotations, [ANNOTATION_RESTORE_REQUESTED_AT]: value };
  });
  if (!c) throw errors.notFound('Cluster', name);
  return value;
}

/**
 * Waits until the cluster's agent has started again after `before` (its previous start time): the new
 * agent heartbeats with its own start time. Returns its pid, or undefined after `timeoutMs`.
 */
export async function waitForAgentRestart(store: Store, name: string, before: string | undefined, timeoutMs: number, pollMs = 200): Promise<{ pid: number | undefined } | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const agent = (await store.get('Cluster', name))?.status?.agent;
    if (agent?.startedAt && agent.startedAt !== before) return { pid: agent.pid };
    await new Promise((r) => setTimeout(r, pollMs));
  }
  return undefined;
}
