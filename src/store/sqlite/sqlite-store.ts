/**
 * The embedded durable Store: better-sqlite3 in WAL mode.
 *
 * Writes go through a queue and are committed in groups: every write queued in one event-loop turn is
 * checked and applied, in arrival order, inside one transaction. Each write still gets its own revision
 * and its own outcome: preconditions (AlreadyExists, NotFound, resourceVersion CAS) are checked against the
 * in-transaction state, and a write that fails them takes no revision and does not disturb the others.
 *
 * Durability (group commit, default): COMMIT writes the WAL without an fsync (synchronous=NORMAL); one
 * fsync of the WAL on libuv's thread pool then covers every group committed before it started, and only
 * when it has returned are those writes' promises resolved and their watch events published. While one
 * fsync runs, the next groups commit and wait for the next one. So the event loop never waits for the disk,
 * and no one — writer, watcher or reader (reads wait for the fsync covering what they saw) — learns of a
 * write before it is durable. `groupCommit: false`: synchronous=FULL, one transaction and fsync per write,
 * on the event loop.
 */
import { fsync, openSync, closeSync } from 'node:fs';
import Database from 'better-sqlite3';
import type { AnyResource } from '../../api/resource.js';
import type { KindMap, KindName } from '../../api/kind-map.js';
import { DroverError, errors, isDroverError } from '../../errors.js';
import { parseLabelSelector } from '../label-selector.js';
import { prepareCreate, prepareDelete, prepareUpdate, prepareUpdateStatus, type UpdateOutcome } from '../object-semantics.js';
import type { ListOptions, ListResult, Store, WatchEvent, WatchEventType, WatchOptions } from '../store.js';
import { WatchHub, type HistorySource } from '../watch-hub.js';
import type { SyncMode } from './schema.js';
import { compactHistory, type HistoryBudget } from './history.js';
import { openDatabase, type BatchResult, type Committed, type Op, type Outcome, type Pending, type Row } from './database.js';

export interface SqliteStoreOptions {
  /** Changes kept for watch replay; older revisions answer DROVER_E_GONE. Default 100,000. */
  historySize?: number;
  /**
   * Bytes of history kept (the changes' JSON), whatever their number: a count alone lets a few large
   * objects rewritten often fill the disk (1,438 copies of a 1.8 MB plan once made a 1.3 GB file). Over it,
   * the oldest changes go until a quarter of the budget is free again; the newest is always kept.
   * Default 64 MiB.
   */
  historyBytes?: number;
  /** History bytes kept per byte of the objects' own JSON (history.ts says why). Default 1. */
  historyRatio?: number;
  /** History bytes always allowed, whatever the objects' size (up to `historyBytes`). Default 8 MiB. */
  historyFloorBytes?: number;
  /** Commit queued writes together and fsync off the event loop (default). Off: one transaction, hence one fsync, per write. */
  groupCommit?: boolean;
  /** Most writes in one transaction, so that one commit never holds the event loop for long. */
  maxBatch?: number;
  /** The WAL's fsync in group-commit mode (node:fs `fsync`); tests replace it to hold or fail it. */
  fsync?: (fd: number, done: (err: NodeJS.ErrnoException | null) => void) => void;
}

/** Objects parsed per event-loop turn by `list`. */
const LIST_CHUNK = 1_000;

export class SqliteStore implements Store {
  private readonly db: Database.Database;
  private readonly hub: WatchHub;
  private readonly budget: HistoryBudget;
  /** Bytes of JSON in `changes` now. */
  private historyBytes: number;
  /** Bytes of JSON in `objects` now: what the history's byte budget follows. */
  private objectBytes: number;
  private readonly maxBatch: number;
  /** The last revision committed (it may not be durable yet: see `durableRev`). */
  private rev: bigint;
  /** The last revision known durable: what readers, watchers and writers may be told of. */
  private durableRev: bigint;
  private compacted: bigint;
  private readonly queue: Pending[] = [];
  private flushScheduled = false;
  private closed = false;
  private drained: (() => void) | undefined;
  private readonly counters = { commits: 0, writes: 0, syncs: 0 };
  /** The WAL's file descriptor, in group-commit mode: what the store fsyncs itself. */
  private readonly walFd: number | undefined;
  private readonly fsync: NonNullable<SqliteStoreOptions['fsync']>;
  private readonly unsynced: Committed[] = [];
  private syncing = false;
  /** Set when an fsync failed: what was written since is of unknown durability, so nothing more is accepted. */
  private broken: DroverError | undefined;
  /** Reads that saw revisions not yet durable, waiting for them to be. */
  private readonly readWaiters: { rev: bigint; resolve(): void; reject(e: unknown): void }[] = [];

  private readonly stmts: {
    get: Database.Statement<[string, string], Row>;
    exists: Database.Statement<[string, string], unknown>;
    list: Database.Statement<[string], string>;
    upsert: Database.Statement<[string, string, bigint, string]>;
    remove: Database.Statement<[string, string]>;
    change: Database.Statement<[bigint, WatchEventType, string, string, string]>;
    since: Database.Statement<[bigint, bigint], { type: WatchEventType; json: string }>;
    compact: Database.Statement<[bigint]>;
    bytesUpTo: Database.Statement<[bigint, bigint], { b: number | bigint | null }>;
    oldest: Database.Statement<[bigint], { rev: number | bigint; b: number | bigint }>;
    setMeta: Database.Statement<[string, string]>;
  };
  private readonly commitBatch: (ops: Op[]) => BatchResult;

  constructor(file: string, opts: SqliteStoreOptions = {}) {
    const historySize = opts.historySize ?? 100_000;
    if (!Number.isInteger(historySize) || historySize < 1) throw new RangeError(`historySize must be a positive integer, got ${historySize}`);
    const historyBytes = opts.historyBytes ?? 64 * 2 ** 20;
    if (!Number.isFinite(historyBytes) || historyBytes < 1) throw new RangeError(`historyBytes must be positive, got ${historyBytes}`);
    const ratio = opts.historyRatio ?? 1;
    if (!(ratio > 0)) throw new RangeError(`historyRatio must be positive, got ${ratio}`);
    this.budget = { size: BigInt(historySize), maxBytes: historyBytes, ratio, floorBytes: opts.historyFloorBytes ?? 8 * 2 ** 20 };
    this.maxBatch = opts.groupCommit === false ? 1 : Math.max(1, opts.maxBatch ?? 1024);
    const sync: SyncMode = opts.groupCommit === false ? 'full' : 'wal-only';
    this.db = openDatabase(file, sync);
    // The WAL exists from the migration's transaction on and, with the exclusive lock held, SQLite
    // neither deletes nor replaces it until the connection closes (checkpoints rewrite it in place).
    this.walFd = sync === 'wal-only' ? openSync(`${file}-wal`, 'r') : undefined;
    this.fsync = opts.fsync ?? fsync;
    const db = this.db;
    this.stmts = {
      get: db.prepare('SELECT json FROM objects WHERE kind = ? AND name = ?'),
      exists: db.prepare('SELECT 1 FROM objects WHERE kind = ? AND name = ?'),
      list: db.prepare<[string], string>('SELECT json FROM objects WHERE kind = ? ORDER BY name').pluck(),
      upsert: db.prepare('INSERT INTO objects (kind, name, rev, json) VALUES (?, ?, ?, ?) ON CONFLICT (kind, name) DO UPDATE SET rev = excluded.rev, json = excluded.json'),
      remove: db.prepare('DELETE FROM objects WHERE kind = ? AND name = ?'),
      change: db.prepare('INSERT INTO changes (rev, type, kind, name, json) VALUES (?, ?, ?, ?, ?)'),
      since: db.prepare('SELECT type, json FROM changes WHERE rev > ? AND rev <= ? ORDER BY rev'),
      compact: db.prepare('DELETE FROM changes WHERE rev <= ?'),
      bytesUpTo: db.prepare('SELECT sum(length(CAST(json AS BLOB))) AS b FROM changes WHERE rev > ? AND rev <= ?'),
      oldest: db.prepare('SELECT rev, length(CAST(json AS BLOB)) AS b FROM changes WHERE rev > ? ORDER BY rev'),
      setMeta: db.prepare('UPDATE meta SET value = ? WHERE key = ?'),
    };
    const meta = new Map(db.prepare<[], { key: string; value: string }>('SELECT key, value FROM meta').all().map((r) => [r.key, r.value]));
    // The meta row is written in the same transaction as the changes; max(rev) is a second opinion that
    // costs nothing and keeps revisions increasing even if the row were ever behind.
    const maxChange = db.prepare<[], { m: number | bigint | null }>('SELECT max(rev) AS m FROM changes').get()?.m ?? 0;
    const metaRev = BigInt(meta.get('revision') ?? '0');
    this.rev = metaRev > BigInt(maxChange) ? metaRev : BigInt(maxChange);
    this.durableRev = this.rev;
    this.compacted = BigInt(meta.get('compacted') ?? '0');
    const bytesOf = (table: string) => Number(db.prepare<[], { b: number | bigint | null }>(`SELECT sum(length(CAST(json AS BLOB))) AS b FROM ${table}`).get()?.b ?? 0);
    this.historyBytes = bytesOf('changes');
    this.objectBytes = bytesOf('objects');
    const history: HistorySource = { since: (from) => this.since(from) };
    this.hub = new WatchHub(history, () => this.durableRev);
    this.commitBatch = db.transaction((ops: Op[]) => this.applyBatch(ops));
  }

  get<K extends KindName>(kind: K, name: string): Promise<KindMap[K] | undefined>;

  get<T extends AnyResource = AnyResource>(kind: string, name: string): Promise<T | undefined>;

  async get<T extends AnyResource = AnyResource>(kind: string, name: string): Promise<T | undefined> {
    const row = this.stmts.get.get(kind, name);
    if (!row) {
      // Its absence may be a delete not yet durable: wait for everything committed.
      await this.durable();
      return undefined;
    }
    const o = JSON.parse(row.json) as T;
    // What the reader learns is this object at its revision: that one must be durable, not the rest.
    await this.durable(o.metadata.resourceVersion);
    return o;
  }

  list<K extends KindName>(kind: K, opts?: ListOptions): Promise<ListResult<KindMap[K]>>;

  list<T extends AnyResource = AnyResource>(kind: string, opts?: ListOptions): Promise<ListResult<T>>;

  async list<T extends AnyResource = AnyResource>(kind: string, opts: ListOptions = {}): Promise<ListResult<T>> {
    const match = parseLabelSelector(opts.labelSelector);
    // All rows at once (one consistent state; a statement cannot stay open across turns, the writes share
    // the connection), parsed in chunks with a turn in between: 100,000 Tenants take the event loop for
    // most of a second to parse, and the controllers list them at every resync.
    const rows = this.stmts.list.all(kind);
    const resourceVersion = this.rev.toString();
    const items: T[] = [];
    for (let i = 0; i < rows.length; i++) {
      if (i > 0 && i % LIST_CHUNK === 0) await new Promise((r) => setImmediate(r));
      const o = JSON.parse(rows[i]!) as T;
      if (match(o.metadata.labels ?? {})) items.push(o);
    }
    await this.durable(resourceVersion);
    return { items, resourceVersion };
  }

  create<T extends AnyResource>(obj: T): Promise<T> {
    return this.enqueue({ type: 'create', obj: structuredClone(obj) });
  }

  update<T extends AnyResource>(obj: T): Promise<T> {
    return this.enqueue({ type: 'update', obj: structuredClone(obj) });
  }

  updateStatus<T extends AnyResource>(obj: T): Promise<T> {
    return this.enqueue({ type: 'updateStatus', obj: structuredClone(obj) });
  }

  delete<T extends AnyResource>(kind: string, name: string, opts: { resourceVersion?: string } = {}): Promise<T> {
    return this.enqueue({ type: 'delete', kind, name, resourceVersion: opts.resourceVersion });
  }

  watch(opts: WatchOptions): AsyncIterable<WatchEvent> {
    return this.hub.watch(opts);
  }

  async revision(): Promise<string> {
    return this.durableRev.toString();
  }

  /** Commits, fsyncs and acknowledged write operations so far: writes / commits is the mean group size. */
  stats(): { commits: number; writes: number; syncs: number } {
    return { ...this.counters };
  }

  /** Commits and fsyncs what is queued, ends every watch and closes the database. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.queue.length > 0 || this.unsynced.length > 0 || this.syncing) await new Promise<void>((r) => (this.drained = r));
    this.hub.close();
    if (this.walFd !== undefined) closeSync(this.walFd);
    this.db.close();
  }

  /** Resolves once everything committed so far (or up to `upTo`) is durable (at once when it is). */
  private durable(upTo?: string): Promise<void> {
    const rev = upTo === undefined ? this.rev : BigInt(upTo);
    if (rev <= this.durableRev) return Promise.resolve();
    if (this.broken) return Promise.reject(this.broken);
    return new Promise((resolve, reject) => this.readWaiters.push({ rev, resolve, reject }));
  }

  private since(from: bigint): WatchEvent[] {
    if (from < this.compacted) throw errors.gone(from.toString(), (this.compacted + 1n).toString());
    // Committed but not yet durable changes reach watchers when their fsync returns, as live events.
    return this.stmts.since.all(from, this.durableRev).map((r) => ({ type: r.type, object: JSON.parse(r.json) as AnyResource }));
  }

  private enqueue<T extends AnyResource>(op: Op): Promise<T> {
    if (this.broken) return Promise.reject(this.broken);
    if (this.closed) return Promise.reject(new DroverError('DROVER_E_UNAVAILABLE', 'the store is closed', { fix: 'open the store again' }));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ op, resolve: resolve as (v: AnyResource) => void, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // setImmediate, not a microtask: callers whose requests are read in this I/O phase join the group.
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.flushScheduled = false;
    const batch = this.queue.splice(0, this.maxBatch);
    if (batch.length > 0) {
      let outcomes: Outcome[] = [];
      try {
        const r = this.commitBatch(batch.map((p) => p.op));
        outcomes = r.outcomes;
        this.counters.commits += 1;
        this.counters.writes += batch.length;
        this.rev = r.rev;
        this.compacted = r.compacted;
        this.historyBytes = r.historyBytes;
        this.objectBytes = r.objectBytes;
      } catch (e) {
        // The transaction rolled back: nothing of this group is stored, so every caller hears about it.
        const err = new DroverError('DROVER_E_INTERNAL', `store write failed: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
        for (const p of batch) p.reject(err);
      }
      if (this.walFd === undefined) this.settle({ batch, outcomes, rev: this.rev });
      else if (outcomes.length > 0) {
        this.unsynced.push({ batch, outcomes, rev: this.rev });
        this.sync();
      }
    }
    if (this.queue.length > 0) this.schedule();
    else this.checkDrained();
  }

  /**
   * One fsync of the WAL for every group committed before it starts; those groups are then durable. The
   * next groups wait for the next fsync, so at most one runs and each covers all that came meanwhile.
   */
  private sync(): void {
    if (this.syncing || this.unsynced.length === 0 || this.walFd === undefined) return;
    this.syncing = true;
    const groups = this.unsynced.splice(0);
    this.fsync(this.walFd, (err) => {
      this.syncing = false;
      if (err) {
        // Whether the kernel kept the pages is unknown after a failed fsync (a retry may "succeed" on
        // lost data), so neither these writes nor any later one are acknowledged: restart the server.
        this.broken ??= new DroverError('DROVER_E_INTERNAL', `store fsync failed: ${err.message}`, { cause: err, fix: 'check the disk, then restart the server' });
        for (const g of [...groups, ...this.unsynced.splice(0)]) for (const p of g.batch) p.reject(this.broken);
        for (const w of this.readWaiters.splice(0)) w.reject(this.broken);
      } else {
        this.counters.syncs += 1;
        for (const g of groups) this.settle(g);
      }
      this.sync();
      this.checkDrained();
    });
  }

  /** The group is durable: publish its events, answer its writers and the reads that waited for it. */
  private settle(g: Committed): void {
    if (g.rev > this.durableRev) this.durableRev = g.rev;
    g.outcomes.forEach((o, i) => {
      if (o.ok && o.event) this.hub.publish(o.event);
      const p = g.batch[i]!;
      if (o.ok) p.resolve(o.value);
      else p.reject(o.error);
    });
    if (this.readWaiters.length > 0) {
      let keep = 0;
      for (const w of this.readWaiters) {
        if (w.rev <= this.durableRev) w.resolve();
        else this.readWaiters[keep++] = w;
      }
      this.readWaiters.length = keep;
    }
  }

  private checkDrained(): void {
    if (this.queue.length === 0 && this.unsynced.length === 0 && !this.syncing) this.drained?.();
  }

  /** Runs inside one transaction for the whole group; throws (and so rolls back) only on a storage error. */
  private applyBatch(ops: Op[]): BatchResult {
    let rev = this.rev;
    // Set on the store only once the transaction committed (flush), as rev and compacted are.
    let historyBytes = this.historyBytes;
    let objectBytes = this.objectBytes;
    const outcomes: Outcome[] = [];
    for (const op of ops) {
      let result: { type: WatchEventType; out: UpdateOutcome<AnyResource>; storedBytes: number };
      try {
        result = this.decide(op, (rev + 1n).toString());
      } catch (e) {
        if (!isDroverError(e)) throw e;
        outcomes.push({ ok: false, error: e });
        continue;
      }
      const { type, out } = result;
      if (out.op === 'noop') {
        outcomes.push({ ok: true, value: out.obj });
        continue;
      }
      rev += 1n;
      const { kind, metadata } = out.obj;
      const json = JSON.stringify(out.obj);
      const bytes = Buffer.byteLength(json);
      if (type === 'DELETED') this.stmts.remove.run(kind, metadata.name);
      else this.stmts.upsert.run(kind, metadata.name, rev, json);
      this.stmts.change.run(rev, type, kind, metadata.name, json);
      historyBytes += bytes;
      objectBytes += (type === 'DELETED' ? 0 : bytes) - result.storedBytes;
      // Parsed copies: the caller, the watchers and a later replay all see the same normalised JSON.
      outcomes.push({ ok: true, value: JSON.parse(json) as AnyResource, event: { type, object: JSON.parse(json) as AnyResource } });
    }
    let compacted = this.compacted;
    if (rev !== this.rev) {
      this.stmts.setMeta.run(rev.toString(), 'revision');
      ({ compacted, historyBytes } = compactHistory(this.stmts, this.budget, { rev, compacted, historyBytes, objectBytes }));
    }
    return { outcomes, rev, compacted, historyBytes, objectBytes };
  }

  private decide(op: Op, rev: string): { type: WatchEventType; out: UpdateOutcome<AnyResource>; storedBytes: number } {
    if (op.type === 'delete') {
      const stored = this.read(op.kind, op.name);
      if (!stored) throw errors.notFound(op.kind, op.name);
      const out = prepareDelete(stored.obj, rev, op.resourceVersion);
      return { type: out.op === 'delete' ? 'DELETED' : 'MODIFIED', out, storedBytes: stored.bytes };
    }
    if (op.type === 'create') {
      if (this.stmts.exists.get(op.obj.kind, op.obj.metadata.name) !== undefined) throw errors.alreadyExists(op.obj.kind, op.obj.metadata.name);
      return { type: 'ADDED', out: { op: 'put', obj: prepareCreate(op.obj, rev) }, storedBytes: 0 };
    }
    const stored = this.read(op.obj.kind, op.obj.metadata.name);
    if (!stored) throw errors.notFound(op.obj.kind, op.obj.metadata.name);
    const out = op.type === 'update' ? prepareUpdate(stored.obj, op.obj, rev) : prepareUpdateStatus(stored.obj, op.obj, rev);
    return { type: out.op === 'delete' ? 'DELETED' : 'MODIFIED', out, storedBytes: stored.bytes };
  }

  private read(kind: string, name: string): { obj: AnyResource; bytes: number } | undefined {
    const row = this.stmts.get.get(kind, name);
    return row ? { obj: JSON.parse(row.json) as AnyResource, bytes: Buffer.byteLength(row.json) } : undefined;
  }
}
