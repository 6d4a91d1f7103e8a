/**
 * Which ClusterDriver an agent runs, by provider. The local driver is built in; the Kubernetes driver
 * registers itself here, so `drover agent --provider kubernetes` needs no change to the agent.
 */
import type { Cluster } from '../api/kinds/cluster.js';
import type { ClusterDriver } from '../drivers/driver.js';
import { LocalDriver } from '../drivers/local/local-driver.js';

export interface DriverContext {
  cluster: string;
  /** The agent's state directory (local: state file and workload logs). */
  stateDir: string;
  /** Provider-specific settings from flags (e.g. a kube context). */
  settings: Record<string, string>;
  /** The Cluster as stored, when the control plane already has it (its spec.kubernetes wins over settings). */
  clusterObject?: Cluster;
}

export type DriverFactory = (ctx: DriverContext) => Promise<ClusterDriver>;

export const driverFactories = new Map<string, DriverFactory>([
  ['local', (ctx) => LocalDriver.open({ stateDir: ctx.stateDir })],
  // Loaded on demand: the Kubernetes client is heavy, and local agents start often (drover up, tests).
  [
    'kubernetes',
    async (ctx) => (await import('../drivers/kubernetes/index.js')).kubernetesDriverFromSettings(ctx.cluster, ctx.settings, ctx.clusterObject),
  ],
]);

export function driverProviders(): string[] {
  return [...driverFactories.keys()];
}
