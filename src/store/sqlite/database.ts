/**
 * The SQLite store's parts that are not the store itself: the write queue's types, and opening the database
 * file (private modes, pragmas, migration, and the exclusive lock that keeps a second server out).
 */
import Database from 'better-sqlite3';
import type { AnyResource } from '../../api/resource.js';
import { DroverError } from '../../errors.js';
import { ensurePrivateFile, tightenFile } from '../private-files.js';
import type { WatchEvent } from '../store.js';
import { migrate, openPragmas, type SyncMode } from './schema.js';

export type Op =
  | { type: 'create'; obj: AnyResource }
  | { type: 'update'; obj: AnyResource }
  | { type: 'updateStatus'; obj: AnyResource }
  | { type: 'delete'; kind: string; name: string; resourceVersion: string | undefined };

export interface Pending {
  op: Op;
  resolve(v: AnyResource): void;
  reject(e: unknown): void;
}

export type Outcome = { ok: true; value: AnyResource; event?: WatchEvent } | { ok: false; error: DroverError };

export interface BatchResult {
  outcomes: Outcome[];
  rev: bigint;
  compacted: bigint;
  historyBytes: number;
  objectBytes: number;
}

export interface Row {
  json: string;
}

/** A committed group waiting for the fsync that makes it durable. */
export interface Committed {
  batch: Pending[];
  outcomes: Outcome[];
  rev: bigint;
}

export function openDatabase(file: string, sync: SyncMode): Database.Database {
  // SQLite creates the -wal and -shm files with the database file's mode: a 0600 database keeps all three
  // private. Created here before SQLite does (with the umask's 0644), tightened if it existed wider.
  ensurePrivateFile(file);
  for (const side of [`${file}-wal`, `${file}-shm`, `${file}-journal`]) tightenFile(side);
  const db = new Database(file);
  try {
    openPragmas(db, sync);
    // Take the write lock now (EXCLUSIVE mode keeps it) so a second server on the same data dir fails at
    // start instead of corrupting the revision sequence later.
    db.transaction(() => migrate(db)).immediate();
    return db;
  } catch (e) {
    db.close();
    if (e instanceof Error && 'code' in e && (e.code === 'SQLITE_BUSY' || e.code === 'SQLITE_LOCKED')) {
      throw new DroverError('DROVER_E_UNAVAILABLE', `the store ${file} is in use by another process`, {
        cause: e,
        fix: 'stop the other drover server using this data dir, or pass another --data',
      });
    }
    throw e;
  }
}
