/**
 * The on-disk layout of the SQLite backend. `objects` is the current state, `changes` the retained
 * history that watches replay after a restart, `meta` the revision counter and the compaction mark.
 * Revisions are contiguous (every change takes the next one), so "the last N changes" is a revision range.
 */
import type Database from 'better-sqlite3';

export const SCHEMA_VERSION = 1;

/**
 * `full`: every COMMIT fsyncs the WAL on the calling thread. `wal-only`: COMMIT writes the WAL without an
 * fsync (synchronous=NORMAL) and the store fsyncs the WAL itself, off the event loop, before it tells
 * anyone of the write (sqlite-store.ts); checkpoints still sync the WAL before and the database after.
 */
export type SyncMode = 'full' | 'wal-only';

export function openPragmas(db: Database.Database, sync: SyncMode = 'full'): void {
  // Set before anything takes a lock, so that a second opener waits a little and then fails clearly.
  db.pragma('busy_timeout = 2000');
  // One process owns a data dir: the revision counter and the watch fan-out live in its memory. The lock
  // is held until the connection closes or the process dies (the kernel drops it on SIGKILL).
  db.pragma('locking_mode = EXCLUSIVE');
  db.pragma('journal_mode = WAL');
  // FULL: COMMIT fsyncs the WAL, so a write that returned survives a crash or power loss. NORMAL: the
  // store's own fsync of the WAL does that before a write returns.
  db.pragma(sync === 'full' ? 'synchronous = FULL' : 'synchronous = NORMAL');
}

export function migrate(db: Database.Database): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS objects (
      kind TEXT NOT NULL,
      name TEXT NOT NULL,
      rev INTEGER NOT NULL,
      json TEXT NOT NULL,
      PRIMARY KEY (kind, name)
    ) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS changes (
      rev INTEGER PRIMARY KEY,
      type TEXT NOT NULL,
      kind TEXT NOT NULL,
      name TEXT NOT NULL,
      json TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS meta (
      key TEXT PRIMARY KEY,
      value TEXT NOT NULL
    ) WITHOUT ROWID;
  `);
  db.prepare(`INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', ?), ('revision', '0'), ('compacted', '0')`).run(
    String(SCHEMA_VERSION),
  );
}
