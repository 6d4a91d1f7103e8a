/**
 * How much history (the `changes` table that watches replay) the SQLite store keeps: the last
 * `historySize` changes, and at most a byte budget. The budget is the smaller of `historyBytes` and the
 * objects' own size times `historyRatio` (but never under `historyFloorBytes`): a watcher further behind
 * than the objects' size in changes would receive more replaying them than listing the objects afresh,
 * which it does on 410 Gone. So the history, and with it the database, stays O(objects): at most about
 * (1 + ratio)× the objects' JSON plus SQLite's pages.
 */
import type Database from 'better-sqlite3';

export interface HistoryBudget {
  /** Most changes kept. */
  size: bigint;
  /** Most bytes kept, whatever the objects' size. */
  maxBytes: number;
  /** Bytes kept at most per byte of the objects' JSON. */
  ratio: number;
  /** Bytes always allowed (a small store keeps a useful history). */
  floorBytes: number;
}

export interface HistoryStatements {
  compact: Database.Statement<[bigint]>;
  bytesUpTo: Database.Statement<[bigint, bigint], { b: number | bigint | null }>;
  oldest: Database.Statement<[bigint], { rev: number | bigint; b: number | bigint }>;
  setMeta: Database.Statement<[string, string]>;
}

export function historyByteBudget(b: HistoryBudget, objectBytes: number): number {
  return Math.min(b.maxBytes, Math.max(b.floorBytes, objectBytes * b.ratio));
}

/**
 * Inside the commit's transaction, after the group's changes: drops the oldest changes over the budget.
 * Over the byte budget it drops until three quarters of it are left (so this runs once per quarter of the
 * budget written, not on every commit); never the newest change. Returns the new compaction mark and bytes.
 */
export function compactHistory(stmts: HistoryStatements, b: HistoryBudget, at: { rev: bigint; compacted: bigint; historyBytes: number; objectBytes: number }): { compacted: bigint; historyBytes: number } {
  let { compacted, historyBytes } = at;
  let keepFrom = at.rev - b.size;
  const budget = historyByteBudget(b, at.objectBytes);
  if (historyBytes > budget) {
    const excess = historyBytes - (budget * 3) / 4;
    let freed = 0;
    for (const row of stmts.oldest.iterate(compacted)) {
      const r = BigInt(row.rev);
      if (r >= at.rev) break;
      freed += Number(row.b);
      if (r > keepFrom) keepFrom = r;
      if (freed >= excess) break;
    }
  }
  if (keepFrom > compacted) {
    historyBytes -= Number(stmts.bytesUpTo.get(compacted, keepFrom)?.b ?? 0);
    stmts.compact.run(keepFrom);
    stmts.setMeta.run(keepFrom.toString(), 'compacted');
    compacted = keepFrom;
  }
  return { compacted, historyBytes };
}
