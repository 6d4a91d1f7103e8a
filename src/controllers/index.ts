/**
 * The control plane's controllers: `drover server` calls `startControllers` once its store is open.
 * Each area adds its reconcilers to `controllerFactories`; the runtime's manager runs them.
 */
import type { Reconciler } from '../runtime/reconciler.js';
import type { Store } from '../store/store.js';
import { trafficControllerFactory } from './traffic-controller.js';

export interface ControlPlaneOptions {
  store: Store;
  /** Base URL of this control plane's API, for controllers that hand it to processes they start. */
  apiUrl?: string;
  /** Admin URLs of the edges whose `/stats` feed release gates (see src/traffic/stats.ts). */
  edgeStatsUrls?: string[];
  /** Prometheus base URL for PromQL gates, when configured. */
  prometheusUrl?: string;
}

export type ControllerFactory = (opts: ControlPlaneOptions) => Reconciler;

/** Filled in by each area (fleet, prod, cluster, scheduler, traffic, release, gitsource). */
export const controllerFactories: ControllerFactory[] = [trafficControllerFactory];

export interface RunningControllers {
  stop(): Promise<void>;
}

/** Replaced by the runtime's manager (src/runtime/manager.ts) when it lands. */
export async function startControllers(_opts: ControlPlaneOptions): Promise<RunningControllers> {
  return { stop: async () => {} };
}
