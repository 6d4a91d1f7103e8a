/**
 * The control plane's controllers: `drover server` calls `startControllers` once its store is open.
 * Each area adds its reconcilers to `controllerFactories`; the runtime's manager runs them.
 */
import type { LeaderElector } from '../runtime/leader-election.js';
import type { Logger } from '../runtime/logger.js';
import { Manager } from '../runtime/manager.js';
import type { Reconciler } from '../runtime/reconciler.js';
import type { Store } from '../store/store.js';
import { cloudTrafficController } from './cloud-traffic-controller.js';
import { createClusterController } from './cluster-controller.js';
import { createEventGcController } from './event-gc-controller.js';
import { createFleetController } from './fleet-controller.js';
import { gitSourceControllerFactory } from './gitsource-controller.js';
import { createProdController } from './prod-controller.js';
import { createReferenceController } from './reference-controller.js';
import { trafficControllerFactory } from './traffic-controller.js';
import { releaseControllerFactory } from './release-controller.js';
import { schedulerController } from './scheduler-controller.js';

export interface ControlPlaneOptions {
  store: Store;
  /** Base URL of this control plane's API, for controllers that hand it to processes they start. */
  apiUrl?: string;
  /** Admin URLs of the edges whose `/stats` feed release gates (see src/traffic/stats.ts). */
  edgeStatsUrls?: string[];
  /** Prometheus base URL for PromQL gates, when configured. */
  prometheusUrl?: string;
  /** Only the leader runs reconcilers; default: this instance always leads (single control plane). */
  leaderElector?: LeaderElector;
  /** Where the runtime logs; default stderr. */
  logger?: Logger;
  /** NotReady this long before a cluster's Prods are evicted, for clusters without their own (default 5 min). */
  evictionTimeoutMs?: number;
}

export type ControllerFactory = (opts: ControlPlaneOptions) => Reconciler;

/** Filled in by each area (fleet, prod, cluster, scheduler, traffic, release, gitsource). */
export const controllerFactories: ControllerFactory[] = [
  () => createClusterController(),
  (opts) => createFleetController(opts.evictionTimeoutMs !== undefined ? { evictionTimeoutMs: opts.evictionTimeoutMs } : {}),
  () => createProdController(),
  () => createEventGcController(),
  trafficControllerFactory,
  releaseControllerFactory,
  gitSourceControllerFactory,
  (opts) => schedulerController(opts),
  () => createReferenceController(),
  () => cloudTrafficController(),
];

export interface RunningControllers {
  stop(): Promise<void>;
}

/** Builds every reconciler from `controllerFactories` and runs them in one manager until `stop`. */
export async function startControllers(opts: ControlPlaneOptions): Promise<RunningControllers> {
  const manager = new Manager({
    store: opts.store,
    reconcilers: controllerFactories.map((f) => f(opts)),
    ...(opts.leaderElector ? { leaderElector: opts.leaderElector } : {}),
    ...(opts.logger ? { logger: opts.logger } : {}),
  });
  manager.start();
  return { stop: () => manager.stop() };
}
