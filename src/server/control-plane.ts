/**
 * The control plane as one unit: store + API server + controllers, started in that order and stopped in
 * reverse. `drover server` runs it; `drover up` can embed it.
 */
import { resolve } from 'node:path';
import { startControllers, type RunningControllers } from '../controllers/index.js';
import { openStore } from '../store/open-store.js';
import type { Store } from '../store/store.js';
import { startApiServer, type ApiServer } from './api-server.js';
import { resolveTokens, type ResolvedTokens } from './auth.js';
import type { ApiTlsOptions } from './tls-listener.js';
import { setUpLeadership, type ElectionConfig, type Leadership } from './leadership.js';

export interface ControlPlaneConfig {
  dataDir: string;
  listen?: string;
  backend?: 'sqlite' | 'memory' | 'etcd';
  /** For backend 'etcd': client URLs (comma-separated or a list), TLS files, key prefix (default `/drover/`). */
  etcd?: EtcdConfig;
  /** Leader election among replicas on etcd: this replica's name, lease TTL, renew interval. */
  election?: ElectionConfig;
  /** Admin token (DROVER_TOKEN). */
  envToken?: string;
  tokenFile?: string;
  bodyLimitBytes?: number;
  historySize?: number;
  watchHeartbeatMs?: number;
  /** HTTPS for the API (src/server/tls-listener.ts). */
  tls?: ApiTlsOptions;
  /** Start the controllers (default true). */
  controllers?: boolean;
  /** Edge admin URLs whose /stats feed release gates (drover up passes its edge's). */
  edgeStatsUrls?: string[];
  /** Prometheus base URL for PromQL gates. */
  prometheusUrl?: string;
  /** Server-wide eviction timeout for clusters that set none (default 5 min). */
  evictionTimeoutMs?: number;
}

export interface EtcdConfig {
  endpoints: string | string[];
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  prefix?: string;
}

export interface RunningControlPlane {
  url: string;
  store: Store;
  api: ApiServer;
  tokens: ResolvedTokens;
  dataDir: string;
  /** Stop accepting, end watches, stop controllers, close the store. */
  stop(): Promise<void>;
}

export async function startControlPlane(cfg: ControlPlaneConfig): Promise<RunningControlPlane> {
  const dataDir = resolve(cfg.dataDir);
  const tokens = resolveTokens({ dataDir, ...(cfg.tokenFile ? { tokenFile: cfg.tokenFile } : {}), ...(cfg.envToken ? { envToken: cfg.envToken } : {}) });
  const backend = cfg.backend ?? 'sqlite';
  const store = await openStore({ backend, dataDir, ...(cfg.historySize ? { historySize: cfg.historySize } : {}), ...(cfg.etcd ? { etcd: etcdOptions(cfg.etcd) } : {}) });
  let api: ApiServer;
  let leadership: Leadership | undefined;
  const controllersOn = cfg.controllers ?? true;
  try {
    api = await startApiServer({
      store,
      tokens: tokens.grants,
      // Set just below, once the URL (and so the replica's default name) is known.
      readiness: async () => (leadership ? leadership.readiness() : {}),
      ...(cfg.listen ? { listen: cfg.listen } : {}),
      ...(cfg.bodyLimitBytes ? { bodyLimitBytes: cfg.bodyLimitBytes } : {}),
      ...(cfg.watchHeartbeatMs ? { watchHeartbeatMs: cfg.watchHeartbeatMs } : {}),
      ...(cfg.tls ? { tls: cfg.tls } : {}),
    });
  } catch (e) {
    await store.close();
    throw e;
  }
  let controllers: RunningControllers | undefined;
  try {
    leadership = await setUpLeadership({ store, backend, url: api.url, controllers: controllersOn, ...(cfg.election ? { election: cfg.election } : {}) });
  } catch (e) {
    await api.close();
    await store.close();
    throw e;
  }
  if (controllersOn) {
    try {
      controllers = await startControllers({
        store: leadership.controllerStore,
        ...(leadership.leaderElector ? { leaderElector: leadership.leaderElector } : {}),
        apiUrl: api.url,
        ...(cfg.edgeStatsUrls ? { edgeStatsUrls: cfg.edgeStatsUrls } : {}),
        ...(cfg.prometheusUrl ? { prometheusUrl: cfg.prometheusUrl } : {}),
        ...(cfg.evictionTimeoutMs !== undefined ? { evictionTimeoutMs: cfg.evictionTimeoutMs } : {}),
      });
    } catch (e) {
      await api.close();
      await store.close();
      throw e;
    }
  }
  let stopping: Promise<void> | undefined;
  return {
    url: api.url,
    store,
    api,
    tokens,
    dataDir,
    stop() {
      stopping ??= (async () => {
        await api.close();
        await controllers?.stop();
        await store.close();
      })();
      return stopping;
    },
  };
}

function etcdOptions(c: EtcdConfig): NonNullable<Parameters<typeof openStore>[0]>['etcd'] {
  return {
    hosts: c.endpoints,
    ...(c.caFile ? { caFile: c.caFile } : {}),
    ...(c.certFile ? { certFile: c.certFile } : {}),
    ...(c.keyFile ? { keyFile: c.keyFile } : {}),
    ...(c.prefix ? { prefix: c.prefix } : {}),
  };
}
