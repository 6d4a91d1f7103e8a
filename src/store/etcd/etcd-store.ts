/**
 * Store on etcd v3, for several control-plane replicas sharing one state. An object lives at
 * `<prefix>o/<kind>/<name>` as JSON without its resourceVersion: the resourceVersion is the key's
 * mod_revision, so etcd's global revision is the store revision and etcd's CAS (`mod_revision ==`) is ours.
 * Each watch is its own etcd watch from `from + 1`; etcd keeps the history and compaction is asked of it.
 * `fenced(source)` is a view whose writes commit only while this replica leads (fence.ts).
 */
import type { Etcd3, IKeyValue, ITxnResponse, IWatchResponse } from 'etcd3';
import type { AnyResource } from '../../api/resource.js';
import type { KindMap, KindName } from '../../api/kind-map.js';
import { DroverError, errors } from '../../errors.js';
import { parseLabelSelector } from '../label-selector.js';
import { prepareCreate, prepareDelete, prepareUpdate, prepareUpdateStatus, type UpdateOutcome } from '../object-semantics.js';
import type { ListOptions, ListResult, Store, WatchEvent, WatchOptions } from '../store.js';
import { etcdClient, type EtcdConnection } from './etcd-client.js';
import type { Fence, FenceSource } from './fence.js';

export interface EtcdStoreOptions extends EtcdConnection {
  /** Key prefix for this Drover installation. Default `/drover/`. */
  prefix?: string;
  /** Revisions kept for watch replay; older ones answer DROVER_E_GONE. Default 100,000. */
  historySize?: number;
}

const PENDING = '0';

/** etcd's own failures (no quorum, every member unreachable, a call past its deadline) are the API's 503. */
async function guard<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (e) {
    if (e instanceof DroverError) throw e;
    throw new DroverError('DROVER_E_UNAVAILABLE', `etcd: ${e instanceof Error ? e.message : String(e)}`, {
      cause: e,
      fix: 'check that a quorum of the etcd members is up and reachable (etcdctl endpoint health --cluster); the request may be retried',
    });
  }
}

export class EtcdStore implements Store {
  /** Shared with the leader elector of this replica (one connection per member). */
  readonly client: Etcd3;
  /** This installation's key prefix; objects live under `<root>o/`, the election under `<root>election/`. */
  readonly root: string;
  private readonly prefix: string;
  private readonly historySize: number;
  private compacted = 0;
  private compacting: Promise<void> = Promise.resolve();
  private readonly closers = new Set<() => void>();
  private readonly cancels = new Set<Promise<void>>();
  private closed = false;
  /** Set on a fenced view: its writes carry the fence, its reads and watches go to `base`. */
  private fence: FenceSource | undefined;
  private base: EtcdStore = this;

  constructor(opts: EtcdStoreOptions) {
    this.client = etcdClient(opts);
    this.root = opts.prefix ?? '/drover/';
    this.prefix = `${this.root}o/`;
    this.historySize = opts.historySize ?? 100_000;
  }

  /**
   * A view of this store for the controllers of a leader: the same reads and watches, and writes that
   * commit only while `source`'s fence holds (DROVER_E_NOT_LEADER otherwise). Closing the view does nothing.
   */
  fenced(source: FenceSource): Store {
    const view = Object.create(EtcdStore.prototype) as EtcdStore;
    Object.assign(view, this, { fence: source, base: this, closers: new Set(), cancels: new Set() });
    view.close = async () => {};
    view.watch = (opts) => this.watch(opts);
    return view;
  }

  /** The fence a write must carry, or a refusal when this is a fenced view of a replica that does not lead. */
  private fenceFor(what: string): Fence | undefined {
    if (!this.fence) return undefined;
    const f = this.fence.current();
    if (!f) throw this.refuse('not-leading', what);
    return f;
  }

  private refuse(why: 'not-leading' | 'fence-lost', what: string): DroverError {
    this.fence?.refused(why, what);
    return new DroverError('DROVER_E_NOT_LEADER', `${what} refused: ${why === 'not-leading' ? 'this replica does not lead' : 'this replica lost its leadership (its election key is gone)'}`, {
      fix: 'controllers write only on the leader; the new leader redoes the pass',
    });
  }

  /** Runs `txn` with the fence's compare added; tells a lost fence apart from the write's own failed compare. */
  private async commit(what: string, fence: Fence | undefined, txn: ReturnType<Etcd3['if']>): Promise<ITxnResponse> {
    if (fence) txn.and(fence.key, 'Create', '==', fence.createRevision).else(this.client.get(fence.key));
    const res = await txn.commit();
    if (fence) {
      if (res.succeeded) this.fence?.committed(res.header.revision);
      else if (res.responses[0]?.response_range.kvs[0]?.create_revision !== fence.createRevision) throw this.refuse('fence-lost', what);
    }
    return res;
  }

  private key(kind: string, name: string): string {
    return `${this.prefix}${kind}/${name}`;
  }

  private decode<T extends AnyResource>(kv: IKeyValue, rev: string = kv.mod_revision): T {
    const o = JSON.parse(kv.value.toString()) as T;
    o.metadata.resourceVersion = rev;
    return o;
  }

  private encode(o: AnyResource): string {
    return JSON.stringify({ ...o, metadata: { ...o.metadata, resourceVersion: undefined } });
  }

  private async read<T extends AnyResource>(kind: string, name: string): Promise<{ obj: T; mod: string } | undefined> {
    const res = await this.client.get(this.key(kind, name)).exec();
    const kv = res.kvs[0];
    return kv ? { obj: this.decode<T>(kv), mod: kv.mod_revision } : undefined;
  }

  get<K extends KindName>(kind: K, name: string): Promise<KindMap[K] | undefined>;

  get<T extends AnyResource = AnyResource>(kind: string, name: string): Promise<T | undefined>;

  async get<T extends AnyResource = AnyResource>(kind: string, name: string): Promise<T | undefined> {
    return (await guard(this.read<T>(kind, name)))?.obj;
  }

  list<K extends KindName>(kind: K, opts?: ListOptions): Promise<ListResult<KindMap[K]>>;

  list<T extends AnyResource = AnyResource>(kind: string, opts?: ListOptions): Promise<ListResult<T>>;

  async list<T extends AnyResource = AnyResource>(kind: string, opts: ListOptions = {}): Promise<ListResult<T>> {
    const match = parseLabelSelector(opts.labelSelector);
    const res = await guard(this.client.getAll().prefix(`${this.prefix}${kind}/`).sort('Key', 'Ascend').exec());
    const items = res.kvs.map((kv) => this.decode<T>(kv)).filter((o) => match(o.metadata.labels ?? {}));
    return { items, resourceVersion: res.header.revision };
  }

  async create<T extends AnyResource>(obj: T): Promise<T> {
    const created = prepareCreate(structuredClone(obj), PENDING);
    const key = this.key(obj.kind, obj.metadata.name);
    const what = `create ${obj.kind}/${obj.metadata.name}`;
    const fence = this.fenceFor(what);
    const value = this.encode(created);
    const res = await guard(this.commit(what, fence, this.client.if(key, 'Create', '==', 0).then(this.client.put(key).value(value))));
    if (!res.succeeded) {
      const ours = await this.created(key, created.metadata.uid);
      if (ours) return this.written(created, ours);
      throw errors.alreadyExists(obj.kind, obj.metadata.name);
    }
    return this.written(created, res.header.revision);
  }

  update<T extends AnyResource>(obj: T): Promise<T> {
    const incoming = structuredClone(obj);
    return this.modify(obj.kind, obj.metadata.name, (stored) => prepareUpdate(stored, incoming, PENDING));
  }

  updateStatus<T extends AnyResource>(obj: T): Promise<T> {
    const incoming = structuredClone(obj);
    return this.modify(obj.kind, obj.metadata.name, (stored) => prepareUpdateStatus(stored, incoming, PENDING));
  }

  delete<T extends AnyResource>(kind: string, name: string, opts: { resourceVersion?: string } = {}): Promise<T> {
    return this.modify<T>(kind, name, (stored) => prepareDelete(stored, PENDING, opts.resourceVersion));
  }

  /** Read, decide, write if nobody wrote in between; otherwise decide again on the newer object. */
  private async modify<T extends AnyResource>(kind: string, name: string, decide: (stored: T) => UpdateOutcome<T>): Promise<T> {
    const key = this.key(kind, name);
    const what = `write ${kind}/${name}`;
    for (;;) {
      const fence = this.fenceFor(what);
      const cur = await guard(this.read<T>(kind, name));
      if (!cur) throw errors.notFound(kind, name);
      const out = decide(cur.obj);
      if (out.op === 'noop') return out.obj;
      const value = out.op === 'delete' ? undefined : this.encode(out.obj);
      const op = value === undefined ? this.client.delete().key(key) : this.client.put(key).value(value);
      const res = await guard(this.commit(what, fence, this.client.if(key, 'Mod', '==', cur.mod).then(op)));
      if (res.succeeded) return this.written(out.obj, res.header.revision);
      const ours = value === undefined ? undefined : await this.landed(key, value);
      if (ours) return this.written(out.obj, ours);
    }
  }

  /**
   * After a failed create: whether the object under the key is the one this create made (the revision it
   * was created at if so). The uid is fresh per create, so it names our object even after a controller
   * wrote its status in between (comparing bytes then answered "already exists" to a create that made it).
   */
  private async created(key: string, uid: string | undefined): Promise<string | undefined> {
    const kv = (await guard(this.client.get(key).exec())).kvs[0];
    if (!kv || uid === undefined) return undefined;
    const stored = JSON.parse(kv.value.toString()) as AnyResource;
    return stored.metadata.uid === uid ? kv.create_revision : undefined;
  }

  /**
   * After a failed compare of an update or delete: whether the key holds exactly what this write put (its
   * mod revision if so). etcd3 retries a call on another member when the one it used dies mid-call, and the
   * first attempt may have committed: the retry then fails its compare against our own write.
   */
  private async landed(key: string, value: string): Promise<string | undefined> {
    const kv = (await guard(this.client.get(key).exec())).kvs[0];
    return kv && kv.value.toString() === value ? kv.mod_revision : undefined;
  }

  private async written<T extends AnyResource>(o: T, rev: string): Promise<T> {
    const done = JSON.parse(this.encode(o)) as T;
    done.metadata.resourceVersion = rev;
    await this.base.compact(Number(rev));
    return done;
  }

  /** Keeps the last `historySize` revisions; awaited by the write so a later watch sees a settled mark. */
  private async compact(rev: number): Promise<void> {
    const keepFrom = rev - this.historySize;
    const step = Math.max(1, Math.floor(this.historySize / 10));
    if (keepFrom - this.compacted < step) return;
    const target = keepFrom;
    this.compacting = this.compacting.then(async () => {
      if (target <= this.compacted) return;
      try {
        // etcd compaction at C drops history below C; our mark is "changes <= mark are gone".
        await this.client.kv.compact({ revision: String(target + 1) });
      } catch (e) {
        if (!/compacted/.test(String(e))) throw e;
      }
      this.compacted = target;
    });
    await this.compacting;
  }

  watch(opts: WatchOptions): AsyncIterable<WatchEvent> {
    return this.stream(opts);
  }

  private async *stream(opts: WatchOptions): AsyncGenerator<WatchEvent> {
    if (this.closed || opts.signal?.aborted) return;
    const match = parseLabelSelector(opts.labelSelector);
    const rv = opts.resourceVersion;
    if (rv !== undefined && rv !== '' && !/^\d+$/.test(rv)) {
      throw errors.invalid(`invalid resourceVersion "${rv}"`, 'resourceVersion', 'pass a resourceVersion from a list or an object, or none to watch from now');
    }
    const current = BigInt(await this.revision());
    const from = rv !== undefined && rv !== '' ? BigInt(rv) : current;
    // etcd itself would wait for that revision and deliver nothing until unrelated writes reach it.
    if (from > current) throw errors.tooLargeResourceVersion(rv!, current.toString());
    const queue: WatchEvent[] = [];
    let failure: DroverError | undefined;
    let done = false;
    let wake: (() => void) | undefined;
    let cancel: () => Promise<void> = async () => undefined;
    // Stop cancels the etcd watch at once: a consumer that never calls next() again must not leave a
    // gRPC stream (and the process) running.
    const stop = () => {
      if (done) return;
      done = true;
      wake?.();
      this.cancels.add(cancel().catch(() => undefined));
    };
    let builder = this.client.watch().withPreviousKV().startRevision((from + 1n).toString());
    builder = opts.kind !== undefined && opts.name !== undefined ? builder.key(this.key(opts.kind, opts.name)) : builder.prefix(opts.kind !== undefined ? `${this.prefix}${opts.kind}/` : this.prefix);
    const watcher = await builder.create();
    cancel = () => watcher.cancel();
    if (this.closed || opts.signal?.aborted) stop();
    watcher.on('data', (res: IWatchResponse) => {
      for (const ev of res.events) {
        const e = this.toEvent(ev.type, ev.kv, ev.prev_kv);
        if (!e) continue;
        if (opts.name !== undefined && e.object.metadata.name !== opts.name) continue;
        if (!match(e.object.metadata.labels ?? {})) continue;
        queue.push(e);
      }
      wake?.();
    });
    watcher.on('error', (err: Error) => {
      failure = /compact/i.test(err.message) ? errors.gone(from.toString(), String(this.compacted + 1)) : new DroverError('DROVER_E_UNAVAILABLE', `etcd watch failed: ${err.message}`, { cause: err });
      stop();
    });
    this.closers.add(stop);
    opts.signal?.addEventListener('abort', stop, { once: true });
    try {
      // etcd answers a watch below its compaction with a cancel; a range read at that revision tells us
      // synchronously-enough, before anything is yielded.
      if (from < BigInt(await this.revision())) await this.assertRetained(from);
      while (!done) {
        const e = queue.shift();
        if (e) {
          yield e;
          continue;
        }
        await new Promise<void>((r) => (wake = r));
        wake = undefined;
      }
      if (failure) throw failure;
    } finally {
      this.closers.delete(stop);
      opts.signal?.removeEventListener('abort', stop);
      stop();
    }
  }

  private async assertRetained(from: bigint): Promise<void> {
    if (from < BigInt(this.compacted)) throw errors.gone(from.toString(), String(this.compacted + 1));
    try {
      await this.client.get(`${this.prefix}`).revision((from + 1n).toString()).exec();
    } catch (e) {
      if (/compacted/.test(String(e))) throw errors.gone(from.toString(), 'a later one');
      throw e;
    }
  }

  private toEvent(type: 'Put' | 'Delete', kv: IKeyValue, prev: IKeyValue | undefined | null): WatchEvent | undefined {
    if (type === 'Delete') {
      if (!prev) return undefined;
      return { type: 'DELETED', object: this.decode(prev, kv.mod_revision) };
    }
    return { type: kv.create_revision === kv.mod_revision ? 'ADDED' : 'MODIFIED', object: this.decode(kv) };
  }

  async revision(): Promise<string> {
    const res = await guard(this.client.get(`${this.prefix}`).exec());
    return res.header.revision;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const c of [...this.closers]) c();
    await Promise.all(this.cancels);
    await this.compacting.catch(() => undefined);
    this.client.close();
  }
}
