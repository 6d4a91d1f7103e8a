/** In-memory Store for unit tests: same semantics as the durable backends, nothing persisted. */
import type { AnyResource } from '../../api/resource.js';
import type { KindMap, KindName } from '../../api/kind-map.js';
import { errors } from '../../errors.js';
import { parseLabelSelector } from '../label-selector.js';
import { prepareCreate, prepareDelete, prepareUpdate, prepareUpdateStatus, type UpdateOutcome } from '../object-semantics.js';
import type { ListOptions, ListResult, Store, WatchEvent, WatchOptions } from '../store.js';
import { RingHistory, WatchHub } from '../watch-hub.js';

export class MemoryStore implements Store {
  private readonly objects = new Map<string, Map<string, AnyResource>>();
  private rev = 0n;
  private readonly history: RingHistory;
  private readonly hub: WatchHub;

  constructor(opts: { historySize?: number } = {}) {
    this.history = new RingHistory(opts.historySize ?? 10_000);
    this.hub = new WatchHub(this.history, () => this.rev);
  }

  private bucket(kind: string): Map<string, AnyResource> {
    let b = this.objects.get(kind);
    if (!b) {
      b = new Map<string, AnyResource>();
      this.objects.set(kind, b);
    }
    return b;
  }

  private nextRev(): string {
    return (this.rev + 1n).toString();
  }

  private commit(e: WatchEvent): void {
    this.rev = BigInt(e.object.metadata.resourceVersion!);
    const b = this.bucket(e.object.kind);
    if (e.type === 'DELETED') b.delete(e.object.metadata.name);
    else b.set(e.object.metadata.name, e.object);
    this.history.add(e);
    this.hub.publish(e);
  }

  private apply<T extends AnyResource>(out: UpdateOutcome<T>): T {
    if (out.op === 'noop') return structuredClone(out.obj);
    this.commit({ type: out.op === 'delete' ? 'DELETED' : 'MODIFIED', object: out.obj });
    return structuredClone(out.obj);
  }

  get<K extends KindName>(kind: K, name: string): Promise<KindMap[K] | undefined>;

  get<T extends AnyResource = AnyResource>(kind: string, name: string): Promise<T | undefined>;

  async get<T extends AnyResource = AnyResource>(kind: string, name: string): Promise<T | undefined> {
    const o = this.objects.get(kind)?.get(name);
    return o ? (structuredClone(o) as T) : undefined;
  }

  list<K extends KindName>(kind: K, opts?: ListOptions): Promise<ListResult<KindMap[K]>>;

  list<T extends AnyResource = AnyResource>(kind: string, opts?: ListOptions): Promise<ListResult<T>>;

  async list<T extends AnyResource = AnyResource>(kind: string, opts: ListOptions = {}): Promise<ListResult<T>> {
    const match = parseLabelSelector(opts.labelSelector);
    const items = [...(this.objects.get(kind)?.values() ?? [])]
      .filter((o) => match(o.metadata.labels))
      .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))
      .map((o) => structuredClone(o) as T);
    return { items, resourceVersion: this.rev.toString() };
  }

  async create<T extends AnyResource>(obj: T): Promise<T> {
    if (this.bucket(obj.kind).has(obj.metadata.name)) throw errors.alreadyExists(obj.kind, obj.metadata.name);
    const created = prepareCreate(structuredClone(obj), this.nextRev());
    this.commit({ type: 'ADDED', object: created });
    return structuredClone(created);
  }

  async update<T extends AnyResource>(obj: T): Promise<T> {
    const stored = this.bucket(obj.kind).get(obj.metadata.name) as T | undefined;
    if (!stored) throw errors.notFound(obj.kind, obj.metadata.name);
    return this.apply(prepareUpdate(stored, structuredClone(obj), this.nextRev()));
  }

  async updateStatus<T extends AnyResource>(obj: T): Promise<T> {
    const stored = this.bucket(obj.kind).get(obj.metadata.name) as T | undefined;
    if (!stored) throw errors.notFound(obj.kind, obj.metadata.name);
    return this.apply(prepareUpdateStatus(stored, structuredClone(obj), this.nextRev()));
  }

  async delete<T extends AnyResource>(kind: string, name: string, opts: { resourceVersion?: string } = {}): Promise<T> {
    const stored = this.bucket(kind).get(name) as T | undefined;
    if (!stored) throw errors.notFound(kind, name);
    return this.apply(prepareDelete(stored, this.nextRev(), opts.resourceVersion));
  }

  /**
   * Synchronous reads of what is stored now, in the shape of the controllers' read cache (`ObjectCache`):
   * for tests that call a reconciler directly, outside the manager and its informers. It never lags the
   * store. Objects are copies.
   */
  view(): {
    list<T extends AnyResource>(kind: string, opts?: Pick<ListOptions, 'labelSelector'>): T[];
    get<T extends AnyResource>(kind: string, name: string): T | undefined;
  } {
    return {
      list: <T extends AnyResource>(kind: string, opts: Pick<ListOptions, 'labelSelector'> = {}): T[] => {
        const match = parseLabelSelector(opts.labelSelector);
        return [...(this.objects.get(kind)?.values() ?? [])].filter((o) => match(o.metadata.labels)).map((o) => structuredClone(o) as T);
      },
      get: <T extends AnyResource>(kind: string, name: string): T | undefined => {
        const o = this.objects.get(kind)?.get(name);
        return o ? (structuredClone(o) as T) : undefined;
      },
    };
  }

  watch(opts: WatchOptions): AsyncIterable<WatchEvent> {
    return this.hub.watch(opts);
  }

  async revision(): Promise<string> {
    return this.rev.toString();
  }

  async close(): Promise<void> {
    this.hub.close();
  }
}
