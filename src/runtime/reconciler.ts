/**
 * The reconcile contract, written once (after controller-runtime's pkg/reconcile).
 *
 * A Reconciler makes the world match the desired state of the object named by `key`. It is level-based:
 * it must not assume it saw any particular event, and it reads desired and observed state afresh on every
 * call. The manager calls it when a watched object changes, on requeue, and on periodic resync.
 *
 * Outcomes, mapped to queue actions and to the metric label `result` in one place (the manager):
 * - returns `{}`                    → done ("success"); called again on the next change or resync.
 * - returns `{ requeueAfterMs }`    → called again after that delay ("requeue_after").
 * - throws any error                → retried with per-key exponential backoff ("error"), logged at error.
 * - throws `TerminalError`          → not retried until the object changes again ("terminal").
 */
import type { KindMap, KindName } from '../api/kind-map.js';
import type { AnyResource } from '../api/resource.js';
import type { Store, WatchEventType } from '../store/store.js';

export interface Result {
  requeueAfterMs?: number;
}

export class TerminalError extends Error {
  constructor(message: string, opts?: { cause?: unknown }) {
    super(message, opts);
    this.name = 'TerminalError';
  }
}

/** What a `mapToKeys` may look at besides the object: the change's type and the store (read only). */
export interface WatchChange {
  type: WatchEventType;
  store: Store;
}

/** Which changes enqueue which keys: by default the changed object's own name. */
export interface WatchSpec {
  kind: string;
  /**
   * Map a changed object to the keys to reconcile (e.g. a Prod → its fleet's name). For a DELETED change
   * the object is its last known state. May be async (e.g. a Cluster → the Prods on it, read from the store).
   */
  mapToKeys?: (obj: AnyResource, change: WatchChange) => string[] | Promise<string[]>;
  /**
   * Reconcile the keys this kind's changes map to only after this delay, so that a burst of changes makes
   * one pass: the first change of a burst starts the wait and later ones join it (for a reconciler whose
   * pass covers many objects, e.g. a whole fleet). Default 0: at once.
   */
  delayMs?: number;
}

export interface CacheListOptions {
  /** Only the objects whose labels match (kubectl syntax, as `store.list`). */
  labelSelector?: string;
}

/**
 * The objects of the kinds a reconciler watches, as the manager's shared informers last saw them (one
 * Informer per kind, see informer.ts): reading costs no store round trip and no parsing. It lags the
 * store by the watch's delivery, so a pass does not see its own writes yet: keep what you wrote, or read
 * the store where that matters. Objects are shared with every reader: never change them (copy first).
 * While the store is unreachable the cache keeps the last state it saw.
 */
export interface ObjectCache {
  /** Every cached object of `kind` (in no particular order). Throws for a kind the reconciler does not watch. */
  list<K extends KindName>(kind: K, opts?: CacheListOptions): KindMap[K][];
  list<T extends AnyResource>(kind: string, opts?: CacheListOptions): T[];
  /** Throws for a kind the reconciler does not watch. */
  get<K extends KindName>(kind: K, name: string): KindMap[K] | undefined;
  get<T extends AnyResource>(kind: string, name: string): T | undefined;
}

export interface ReconcileContext {
  store: Store;
  /** The watched kinds, listed before the first pass (the manager's informers). */
  cache: ObjectCache;
  signal: AbortSignal;
  /** Record an event about an object (shown by `drover describe`). */
  recordEvent(obj: AnyResource, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void>;
}

export interface Reconciler {
  /** Metric/log name, e.g. "fleet". */
  readonly name: string;
  readonly watches: readonly WatchSpec[];
  /** Periodic resync of every key, in ms (level-based safety net). */
  readonly resyncMs?: number;
  /** All keys to reconcile at start and on resync. */
  listKeys(ctx: ReconcileContext): Promise<string[]>;
  reconcile(ctx: ReconcileContext, key: string): Promise<Result>;
}
