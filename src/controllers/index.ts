/**
 * The control plane's controllers: `drover server` calls `startControllers` once its store is open.
 * Each area adds its reconciler to `controllerFactories` (one `xxxController(options)` factory per
 * controller); the runtime's manager runs them. How to write one: docs/architecture.md, "How to add a
 * controller".
 */
import { Manager } from '../runtime/manager.js';
import { cloudTrafficController } from './cloud-traffic-controller.js';
import { clusterController } from './cluster-controller.js';
import { eventGcController } from './event-gc-controller.js';
import { fleetController } from './fleet-controller.js';
import { gitSourceController } from './gitsource-controller.js';
import { mirrorController } from './mirror-controller.js';
import { migrationController } from './migration-controller.js';
import type { ControlPlaneOptions, ControllerFactory } from './options.js';
import { prodController } from './prod-controller.js';
import { referenceController } from './reference-controller.js';
import { releaseController } from './release-controller.js';
import { schedulerController } from './scheduler-controller.js';
import { trafficController } from './traffic-controller.js';

export type { ControlPlaneOptions, ControllerFactory } from './options.js';

/** Every controller the control plane runs, built from the server's options. */
export const controllerFactories: ControllerFactory[] = [
  () => clusterController(),
  (o) => fleetController(o.evictionTimeoutMs !== undefined ? { evictionTimeoutMs: o.evictionTimeoutMs } : {}),
  () => prodController(),
  () => eventGcController(),
  () => trafficController(),
  (o) => releaseController({ ...(o.edgeStatsUrls ? { edgeStatsUrls: o.edgeStatsUrls } : {}), ...(o.prometheusUrl ? { prometheusUrl: o.prometheusUrl } : {}) }),
  () => gitSourceController(),
  () => schedulerController(),
  () => referenceController(),
  () => cloudTrafficController(),
  () => mirrorController(),
  (o) => migrationController({ ...(o.edgeStatsUrls ? { edgeStatsUrls: o.edgeStatsUrls } : {}), ...(o.prometheusUrl ? { prometheusUrl: o.prometheusUrl } : {}) }),
];

export interface RunningControllers {
  stop(): Promise<void>;
}

/**
 * Runs every controller of `controllerFactories` in one manager until `stop`. The manager calls the
 * factories at the start of each leadership term: a replica that leads again starts with fresh reconcilers
 * (the cluster controller's startup grace included), not with its memory of an earlier term.
 */
export async function startControllers(opts: ControlPlaneOptions): Promise<RunningControllers> {
  const manager = new Manager({
    store: opts.store,
    reconcilers: controllerFactories.map((f) => () => f(opts)),
    ...(opts.leaderElector ? { leaderElector: opts.leaderElector } : {}),
    ...(opts.logger ? { logger: opts.logger } : {}),
  });
  manager.start();
  return { stop: () => manager.stop() };
}
