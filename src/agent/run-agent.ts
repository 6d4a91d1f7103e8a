/**
 * `drover agent` as a process: connect to the control plane, open the driver on the state directory
 * (re-adopting live workloads), run the Agent until SIGTERM/SIGINT, then stop every workload and exit.
 *
 * The death of the process that started it (`drover up`, SIGKILLed or crashed) is not a reason to stop:
 * that is the control plane going away, and the agent keeps its workloads serving as it does whenever the
 * control plane is unreachable (static stability). It logs the fact and waits for the next `drover up` on
 * the same data directory to adopt it; only a deliberate SIGTERM/SIGINT stops workloads.
 */
import { resolve } from 'node:path';
import { ANNOTATION_AGENT_STATE_DIR } from '../api/labels.js';
import type { Store } from '../store/store.js';
import { isAlive } from '../drivers/local/process-table.js';
import { Agent } from './agent.js';
import { driverFactories, driverProviders } from './drivers.js';

/** Kept for importers elsewhere (src/up/chaos.ts); the key lives in src/api/labels.ts. */
export { ANNOTATION_AGENT_STATE_DIR as agentStateDirAnnotation } from '../api/labels.js';

export interface RunAgentOptions {
  store: Store;
  cluster: string;
  /** Driver to run; default: the stored Cluster's provider (eks runs the kubernetes driver), else local. */
  provider?: string;
  region?: string;
  domain?: string;
  capacity?: number;
  stateDir: string;
  /** The process that started the agent (drover up passes its own pid): its death is logged, not obeyed. */
  parentPid?: number;
  settings?: Record<string, string>;
  log: (line: string) => void;
}

export async function runAgent(opts: RunAgentOptions): Promise<number> {
  // The stored Cluster, if the control plane answers now; drivers that need it say so in their settings.
  const clusterObject = await opts.store.get('Cluster', opts.cluster).catch(() => undefined);
  // `drover cluster add` then `drover agent --cluster NAME` must run that cluster's driver, not local.
  const stored = clusterObject?.spec.provider;
  const provider = opts.provider ?? (stored === 'eks' ? 'kubernetes' : stored) ?? 'local';
  const factory = driverFactories.get(provider);
  if (!factory) {
    opts.log(`drover agent: unknown provider "${provider}"; use one of: ${driverProviders().join(', ')}`);
    return 2;
  }
  const stateDir = resolve(opts.stateDir);
  const driver = await factory({ cluster: opts.cluster, stateDir, settings: opts.settings ?? {}, ...(clusterObject ? { clusterObject } : {}) });
  const agent = new Agent({
    store: opts.store,
    driver,
    cluster: {
      name: opts.cluster,
      ...(opts.region !== undefined ? { region: opts.region } : {}),
      ...(opts.domain !== undefined ? { domain: opts.domain } : {}),
      ...(opts.capacity !== undefined ? { capacity: opts.capacity } : {}),
      annotations: driver.provider === 'local' ? { [ANNOTATION_AGENT_STATE_DIR]: stateDir } : {},
    },
    log: opts.log,
  });
  const done = new Promise<string>((res) => {
    process.once('SIGTERM', () => res('SIGTERM'));
    process.once('SIGINT', () => res('SIGINT'));
  });
  if (opts.parentPid !== undefined) {
    const parent = opts.parentPid;
    const t = setInterval(() => {
      if (isAlive(parent)) return;
      clearInterval(t);
      opts.log(`drover agent: parent process ${parent} is gone; keeping every workload running until a new \`drover up\` adopts this agent (SIGTERM stops it)`);
    }, 500);
    t.unref();
  }
  opts.log(`drover agent: cluster ${opts.cluster} (${driver.provider}), state in ${stateDir}, pid ${process.pid}`);
  void agent.start();
  const why = await done;
  opts.log(`drover agent: ${why}: stopping workloads`);
  await agent.stop({ stopWorkloads: true });
  await opts.store.close();
  opts.log('drover agent: stopped');
  return 0;
}
