/** Picks and opens a Store backend from configuration: the one place the server and tools get a Store. */
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { MemoryStore } from './memory/memory-store.js';
import { SqliteStore } from './sqlite/sqlite-store.js';
import type { Store } from './store.js';

export interface OpenStoreOptions {
  /** Default 'sqlite'. 'memory' keeps nothing after close (tests, demos). */
  backend?: 'sqlite' | 'memory';
  /** Directory for the SQLite file `drover.db`; created if missing. Default `./.drover`. */
  dataDir?: string;
  /** Changes kept for watch replay (older resourceVersions get DROVER_E_GONE). Default 100,000. */
  historySize?: number;
}

export const DEFAULT_DATA_DIR = '.drover';
export const SQLITE_FILE = 'drover.db';

export async function openStore(opts: OpenStoreOptions = {}): Promise<Store> {
  const historySize = opts.historySize ?? 100_000;
  if ((opts.backend ?? 'sqlite') === 'memory') return new MemoryStore({ historySize });
  const dir = resolve(opts.dataDir ?? DEFAULT_DATA_DIR);
  await mkdir(dir, { recursive: true });
  return new SqliteStore(join(dir, SQLITE_FILE), { historySize });
}
