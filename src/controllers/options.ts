/**
 * What `drover server` hands the controllers, and the shape of a controller factory: a leaf module, so
 * that controllers and index.ts do not import each other.
 */
import type { LeaderElector } from '../runtime/leader-election.js';
import type { Logger } from '../runtime/logger.js';
import type { Reconciler } from '../runtime/reconciler.js';
import type { Store } from '../store/store.js';

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
