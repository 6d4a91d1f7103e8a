/** Picks and opens a Store backend from configuration: the one place the server and tools get a Store. */
import { join, resolve } from 'node:path';
import { errors } from '../errors.js';
import { ensurePrivateDir } from './private-files.js';
import { MemoryStore } from './memory/memory-store.js';
import { SqliteStore } from './sqlite/sqlite-store.js';
import type { EtcdStoreOptions } from './etcd/etcd-store.js';
import type { Store } from './store.js';

export interface OpenStoreOptions {
  /** Default 'sqlite'. 'memory' keeps nothing after close (tests, demos). 'etcd' needs `etcd`. */
  backend?: 'sqlite' | 'memory' | 'etcd';
  /** Directory for the SQLite file `drover.db`; created 0700 if missing (tightened if wider). Default `./.drover`. */
  dataDir?: string;
  /** Changes kept for watch replay (older resourceVersions get DROVER_E_GONE). Default 100,000. */
  historySize?: number;
  /** For backend 'etcd': client URLs, TLS files and the key prefix of this installation (default `/drover/`). */
  etcd?: Omit<EtcdStoreOptions, 'historySize'>;
}

export const DEFAULT_DATA_DIR = '.drover';
export const SQLITE_FILE = 'drover.db';

export async function openStore(opts: OpenStoreOptions = {}): Promise<Store> {
  const historySize = opts.historySize ?? 100_000;
  if ((opts.backend ?? 'sqlite') === 'memory') return new MemoryStore({ historySize });
  if (opts.backend === 'etcd') {
    if (!opts.etcd) throw errors.invalid('the etcd backend needs etcd client URLs', 'etcd.hosts', 'pass e.g. http://127.0.0.1:2379');
    // Loaded only when asked for: the etcd client brings gRPC, which the embedded default does not need.
    const { EtcdStore } = await import('./etcd/etcd-store.js');
    return new EtcdStore({ ...opts.etcd, historySize });
  }
  const dir = resolve(opts.dataDir ?? DEFAULT_DATA_DIR);
  ensurePrivateDir(dir);
  return new SqliteStore(join(dir, SQLITE_FILE), { historySize });
}
