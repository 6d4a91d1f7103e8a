/**
 * An Informer keeps a local cache of one kind (optionally filtered by labels) in sync with any Store:
 * list, then watch from the list's resourceVersion. A watch that asks for a compacted revision (410 Gone)
 * re-lists and reconciles the cache (emitting adds, updates and deletes for what changed meanwhile); any
 * other failure reconnects with capped exponential backoff. While the store is unreachable the cache keeps
 * its last known state (static stability): readers go on working from it.
 */
import type { AnyResource } from '../api/resource.js';
import { isDroverError } from '../errors.js';
import type { Store, WatchEvent } from '../store/store.js';

export interface InformerHandlers<T extends AnyResource> {
  onAdd?(obj: T): void;
  onUpdate?(oldObj: T, newObj: T): void;
  onDelete?(obj: T): void;
}

export interface InformerOptions {
  labelSelector?: string;
  /** First retry delay after an error; doubles up to `maxBackoffMs`. Default 100 ms. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Told about every list/watch failure (the informer retries by itself). */
  onError?(err: unknown): void;
}

export class Informer<T extends AnyResource = AnyResource> {
  private readonly cache = new Map<string, T>();
  private readonly handlers: InformerHandlers<T>[] = [];
  private synced = false;
  private syncWaiters: (() => void)[] = [];
  private ac: AbortController | undefined;
  private loop: Promise<void> | undefined;
  private lastRv: string | undefined;
  private wakeBackoff: (() => void) | undefined;

  constructor(
    private readonly store: Store,
    readonly kind: string,
    private readonly opts: InformerOptions = {},
  ) {}

  addHandler(h: InformerHandlers<T>): void {
    this.handlers.push(h);
    // Late handlers see the current cache as adds, as client-go's shared informers do.
    if (this.synced) for (const o of this.cache.values()) this.safely(() => h.onAdd?.(o));
  }

  get(name: string): T | undefined {
    return this.cache.get(name);
  }

  list(): T[] {
    return [...this.cache.values()];
  }

  /** The resourceVersion the cache reflects. */
  get resourceVersion(): string | undefined {
    return this.lastRv;
  }

  hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves once the first list has filled the cache; rejects on timeout or abort. */
  waitForSync(opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        if (timer) clearTimeout(timer);
        resolve();
      };
      this.syncWaiters.push(done);
      if (opts.timeoutMs !== undefined) {
        timer = setTimeout(() => {
          this.syncWaiters = this.syncWaiters.filter((w) => w !== done);
          reject(new Error(`informer for ${this.kind} did not sync within ${opts.timeoutMs} ms`));
        }, opts.timeoutMs);
      }
      opts.signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
    });
  }

  start(): void {
    if (this.loop) return;
    this.ac = new AbortController();
    this.loop = this.run(this.ac.signal);
  }

  async stop(): Promise<void> {
    this.ac?.abort();
    this.wakeBackoff?.();
    await this.loop;
    this.loop = undefined;
  }

  private async run(signal: AbortSignal): Promise<void> {
    const min = this.opts.minBackoffMs ?? 100;
    const max = this.opts.maxBackoffMs ?? 5000;
    let backoff = min;
    let needList = true;
    while (!signal.aborted) {
      try {
        if (needList) {
          await this.relist();
          needList = false;
          backoff = min;
        }
        for await (const ev of this.store.watch({
          kind: this.kind,
          resourceVersion: this.lastRv,
          ...(this.opts.labelSelector ? { labelSelector: this.opts.labelSelector } : {}),
          signal,
        })) {
          this.apply(ev);
          backoff = min;
        }
        if (signal.aborted) return;
      } catch (e) {
        if (signal.aborted) return;
        // Too old (compacted) or too new (a revision of another store, e.g. before a restore): list again.
        if (isDroverError(e, 'DROVER_E_GONE') || isDroverError(e, 'DROVER_E_RESOURCE_VERSION_TOO_LARGE')) {
          needList = true;
          continue;
        }
        this.safely(() => this.opts.onError?.(e));
      }
      await this.sleep(backoff, signal);
      backoff = Math.min(max, backoff * 2);
    }
  }

  private async relist(): Promise<void> {
    const res = await this.store.list<T>(this.kind, this.opts.labelSelector ? { labelSelector: this.opts.labelSelector } : {});
    const seen = new Set<string>();
    for (const o of res.items) {
      seen.add(o.metadata.name);
      this.upsert(o);
    }
    for (const [name, old] of this.cache) {
      if (seen.has(name)) continue;
      this.cache.delete(name);
      this.emit((h) => h.onDelete?.(old));
    }
    this.lastRv = res.resourceVersion;
    if (!this.synced) {
      this.synced = true;
      const waiters = this.syncWaiters;
      this.syncWaiters = [];
      for (const w of waiters) w();
    }
  }

  private apply(ev: WatchEvent): void {
    const o = ev.object as T;
    if (o.metadata.resourceVersion) this.lastRv = o.metadata.resourceVersion;
    if (ev.type === 'DELETED') {
      const old = this.cache.get(o.metadata.name);
      if (!old) return;
      this.cache.delete(o.metadata.name);
      this.emit((h) => h.onDelete?.(o));
      return;
    }
    this.upsert(o);
  }

  private upsert(o: T): void {
    const old = this.cache.get(o.metadata.name);
    if (old && old.metadata.resourceVersion === o.metadata.resourceVersion) return;
    this.cache.set(o.metadata.name, o);
    if (old) this.emit((h) => h.onUpdate?.(old, o));
    else this.emit((h) => h.onAdd?.(o));
  }

  private emit(f: (h: InformerHandlers<T>) => void): void {
    for (const h of this.handlers) this.safely(() => f(h));
  }

  private safely(f: () => void): void {
    try {
      f();
    } catch (e) {
      console.error(`informer ${this.kind}: handler failed:`, e);
    }
  }

  private sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        signal.removeEventListener('abort', done);
        resolve();
      }
      this.wakeBackoff = done;
      signal.addEventListener('abort', done, { once: true });
    });
  }
}
