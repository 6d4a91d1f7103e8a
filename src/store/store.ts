/**
 * The Store contract. Every backend (memory for unit tests, SQLite embedded default, etcd for several
 * control-plane replicas) implements exactly this, and one contract suite (test/store/contract.ts) runs
 * against each.
 *
 * - resourceVersion is one global, strictly increasing revision (as etcd's), as a decimal string.
 * - create fails with DROVER_E_ALREADY_EXISTS; update/updateStatus/delete with a resourceVersion set fail
 *   with DROVER_E_CONFLICT when it is not the stored one (compare-and-swap); without one they are
 *   unconditional.
 * - update changes metadata (labels, annotations, finalizers, ownerReferences) and spec, never status;
 *   updateStatus changes status only. generation increases only when spec changes.
 * - delete of an object with finalizers sets deletionTimestamp (a MODIFIED event); the object goes away
 *   (DELETED) when an update removes the last finalizer.
 * - A write that returned has been committed durably (for SQLite: fsync'd WAL).
 * - watch(from) yields every change with revision > from, in order, then live changes. A `from` older
 *   than the oldest retained change throws DROVER_E_GONE: the client must list again.
 */
import type { KindMap, KindName } from '../api/kind-map.js';
import type { AnyResource } from '../api/resource.js';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface WatchEvent<T extends AnyResource = AnyResource> {
  type: WatchEventType;
  object: T;
}

export interface ListOptions {
  /** `app=web,tier!=db,env in (a,b),!legacy` as kubectl accepts. */
  labelSelector?: string;
}

export interface ListResult<T extends AnyResource = AnyResource> {
  items: T[];
  /** The store revision at which this list was read; watch from it to see every later change. */
  resourceVersion: string;
}

export interface WatchOptions {
  /** Kind to watch (e.g. "Prod"); all kinds when absent. */
  kind?: string;
  /** Name of one object to watch. */
  name?: string;
  /** Start after this revision; "now" when absent. */
  resourceVersion?: string;
  labelSelector?: string;
  signal?: AbortSignal;
}

export interface Store {
  /** A known kind's name gives its type: `get('Fleet', n)` is a `Fleet | undefined`. */
  get<K extends KindName>(kind: K, name: string): Promise<KindMap[K] | undefined>;
  get<T extends AnyResource = AnyResource>(kind: string, name: string): Promise<T | undefined>;
  list<K extends KindName>(kind: K, opts?: ListOptions): Promise<ListResult<KindMap[K]>>;
  list<T extends AnyResource = AnyResource>(kind: string, opts?: ListOptions): Promise<ListResult<T>>;
  create<T extends AnyResource>(obj: T): Promise<T>;
  update<T extends AnyResource>(obj: T): Promise<T>;
  updateStatus<T extends AnyResource>(obj: T): Promise<T>;
  /** Returns the object as it was deleted, or as it now is when finalizers hold it. */
  delete<T extends AnyResource = AnyResource>(kind: string, name: string, opts?: { resourceVersion?: string }): Promise<T>;
  /** Yields until the signal aborts or the store closes. Throws DROVER_E_GONE for a compacted revision. */
  watch(opts: WatchOptions): AsyncIterable<WatchEvent>;
  /** Current store revision. */
  revision(): Promise<string>;
  close(): Promise<void>;
}
