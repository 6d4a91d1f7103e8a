/**
 * The controllers' read side: one shared Informer per kind, read through the `ObjectCache` interface.
 * The manager builds one `InformerCache` per leadership term; each reconciler sees it through `scopedTo`,
 * which refuses kinds the reconciler does not watch (a read of an unwatched kind would silently be empty).
 */
import type { AnyResource } from '../api/resource.js';
import { parseLabelSelector } from '../store/label-selector.js';
import type { Store } from '../store/store.js';
import { Informer, type InformerOptions } from './informer.js';
import type { CacheListOptions, ObjectCache } from './reconciler.js';

export class InformerCache implements ObjectCache {
  private readonly informers = new Map<string, Informer>();

  constructor(
    private readonly store: Store,
    private readonly opts: InformerOptions = {},
  ) {}

  /** The kind's shared informer, made on first ask (and started with the others by `start`). */
  informer<T extends AnyResource = AnyResource>(kind: string): Informer<T> {
    let inf = this.informers.get(kind);
    if (!inf) {
      inf = new Informer(this.store, kind, this.opts);
      this.informers.set(kind, inf);
    }
    return inf as unknown as Informer<T>;
  }

  kinds(): string[] {
    return [...this.informers.keys()];
  }

  start(): void {
    for (const inf of this.informers.values()) inf.start();
  }

  async stop(): Promise<void> {
    await Promise.all([...this.informers.values()].map((inf) => inf.stop()));
  }

  hasSynced(): boolean {
    return [...this.informers.values()].every((inf) => inf.hasSynced());
  }

  /** Resolves once every informer made so far has listed once. */
  async waitForSync(opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<void> {
    await Promise.all([...this.informers.values()].map((inf) => inf.waitForSync(opts)));
  }

  list<T extends AnyResource>(kind: string, opts: CacheListOptions = {}): T[] {
    const inf = this.informers.get(kind);
    if (!inf) throw new Error(`the cache does not follow kind ${kind}`);
    const all = inf.list() as T[];
    if (!opts.labelSelector) return all;
    const match = parseLabelSelector(opts.labelSelector);
    return all.filter((o) => match(o.metadata.labels));
  }

  get<T extends AnyResource>(kind: string, name: string): T | undefined {
    const inf = this.informers.get(kind);
    if (!inf) throw new Error(`the cache does not follow kind ${kind}`);
    return inf.get(name) as T | undefined;
  }

  /** A view that answers only for `kinds` and names `who` when asked for another. */
  scopedTo(who: string, kinds: readonly string[]): ObjectCache {
    const allowed = new Set(kinds);
    const check = (kind: string) => {
      if (!allowed.has(kind)) throw new Error(`${who} reads kind ${kind} from its cache but does not watch it`);
    };
    return {
      list: <T extends AnyResource>(kind: string, opts?: CacheListOptions): T[] => {
        check(kind);
        return this.list<T>(kind, opts);
      },
      get: <T extends AnyResource>(kind: string, name: string): T | undefined => {
        check(kind);
        return this.get<T>(kind, name);
      },
    };
  }
}

/**
 * A synced cache of `kinds` over `store` for code that runs outside the manager (one-shot commands, tests
 * that call a reconciler directly). Stop it when done.
 */
export async function startCache(store: Store, kinds: readonly string[], opts: InformerOptions & { timeoutMs?: number } = {}): Promise<InformerCache> {
  const cache = new InformerCache(store, opts);
  for (const k of kinds) cache.informer(k);
  cache.start();
  try {
    await cache.waitForSync(opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs });
  } catch (e) {
    await cache.stop();
    throw e;
  }
  return cache;
}
