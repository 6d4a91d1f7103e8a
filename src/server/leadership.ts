/**
 * Who runs the controllers, for the control plane: one server always leads (AlwaysLeader); replicas on
 * etcd elect one (runtime/etcd-leader-elector.ts) and hand the controllers a fenced view of the store
 * (store/etcd/fence.ts). Also what `/readyz` says about it: this replica, who leads and since when.
 */
import { hostname } from 'node:os';
import type { LeaderElector } from '../runtime/leader-election.js';
import type { Logger } from '../runtime/logger.js';
import type { Store } from '../store/store.js';

export interface ElectionConfig {
  /** This replica's name in the election; default `<hostname>:<API port>`. */
  id?: string;
  /** etcd lease TTL (whole seconds; default 3 s): bounds how long a dead leader keeps the lead. */
  ttlMs?: number;
  /** Lease renewal interval (default a third of the TTL). */
  renewMs?: number;
}

export interface Leadership {
  /** The store the controllers write through (fenced on etcd). */
  controllerStore: Store;
  leaderElector?: LeaderElector;
  /** Fields for `/readyz`. */
  readiness(): Promise<Record<string, unknown>>;
}

export interface LeadershipOptions {
  store: Store;
  backend: 'sqlite' | 'memory' | 'etcd';
  /** This replica's API URL (its name defaults from it). */
  url: string;
  controllers: boolean;
  election?: ElectionConfig;
  logger?: Logger;
}

export async function setUpLeadership(opts: LeadershipOptions): Promise<Leadership> {
  const id = opts.election?.id ?? `${hostname()}:${new URL(opts.url).port}`;
  if (opts.backend !== 'etcd') {
    const since = new Date().toISOString();
    const self = { id, url: opts.url, since };
    return {
      controllerStore: opts.store,
      // One server is the only place controllers can run (`drover up` starts them itself, after this).
      readiness: async () => ({ replica: id, election: 'none (one server)', leading: true, leader: self }),
    };
  }
  // Loaded only for etcd, as the store is: the embedded default never loads gRPC.
  const { EtcdStore } = await import('../store/etcd/etcd-store.js');
  if (!(opts.store instanceof EtcdStore)) throw new Error('the etcd backend opened a store that is not an EtcdStore');
  const { EtcdLeaderElector } = await import('../runtime/etcd-leader-elector.js');
  const elector = new EtcdLeaderElector({
    client: opts.store.client,
    root: opts.store.root,
    id,
    url: opts.url,
    ...(opts.election?.ttlMs !== undefined ? { ttlMs: opts.election.ttlMs } : {}),
    ...(opts.election?.renewMs !== undefined ? { renewMs: opts.election.renewMs } : {}),
    ...(opts.logger ? { logger: opts.logger } : {}),
  });
  return {
    controllerStore: opts.store.fenced(elector),
    ...(opts.controllers ? { leaderElector: elector } : {}),
    readiness: async () => ({
      replica: id,
      election: { backend: 'etcd', leaseTtlMs: elector.ttlMs, renewMs: elector.renewMs },
      leading: elector.isLeading,
      leader: (await elector.leader()) ?? null,
    }),
  };
}
