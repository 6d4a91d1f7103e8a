/**
 * The one list/watch loop (after client-go's shared informer). An Informer keeps a cache of one kind
 * (optionally of the objects matching a label selector) in step with any Store:
 *
 *   list → watch from the list's revision → on every event: cache, then handlers
 *   watch fails with DROVER_E_GONE (history compacted) or DROVER_E_RESOURCE_VERSION_TOO_LARGE (the store
 *     is behind us, e.g. restored): list again and diff against the cache, so that adds, updates and the
 *     deletes that happened meanwhile reach the handlers
 *   any other failure (store unreachable, stream broken): wait (capped exponential backoff with jitter),
 *     then watch again from the last revision seen
 *
 * The cache is never cleared by a failure: while the store is away every reader goes on from the last
 * known state (static stability) and `status().connected` says it is stale. A change may reach a handler
 * twice across a re-list, never not at all; handlers are level-based.
 *
 * Cached objects are shared with every reader and handler: read them, never change them.
 */
import type { AnyResource } from '../api/resource.js';
import { isDroverError } from '../errors.js';
import type { Store } from '../store/store.js';
import { errorText, type Logger } from './logger.js';
import { sleep } from './sleep.js';

export interface InformerHandlers<T extends AnyResource> {
  onAdd?(obj: T): void;
  onUpdate?(oldObj: T, newObj: T): void;
  /** `obj` is the object's last state (from the delete event, or the cache after a re-list). */
  onDelete?(obj: T): void;
}

export interface InformerOptions {
  /** Follow only the objects matching this selector (kubectl syntax). */
  labelSelector?: string;
  /** First reconnect delay after a failure; doubles per failure up to `maxBackoffMs`. Default 100 ms. */
  minBackoffMs?: number;
  /** Default 5 s. */
  maxBackoffMs?: number;
  /** Logs list/watch failures (warn for an expired watch, error otherwise). Default: silent. */
  logger?: Logger;
  /** Told about every list/watch failure; the informer retries by itself. */
  onError?(err: unknown, next: { relist: boolean; retryInMs: number }): void;
  /** Jitter source, in [0, 1). Default Math.random. */
  random?: () => number;
}

export interface InformerStatus {
  /** The last list/watch call succeeded and no failure came since: the cache follows the store. */
  connected: boolean;
  lastError?: string;
  /** Lists made so far (the first one included): 1 + the re-lists. */
  lists: number;
}

/** Backoff before the `failures`-th retry: min·2^(n-1) capped at max, then "equal jitter" (half fixed, half random). */
export function backoffDelay(failures: number, minMs: number, maxMs: number, random: () => number = Math.random): number {
  const capped = Math.min(maxMs, minMs * 2 ** Math.min(Math.max(failures - 1, 0), 30));
  return Math.round(capped / 2 + random() * (capped / 2));
}

/** Whether a watch failure means "your revision is no good here: list again". */
function needsRelist(e: unknown): boolean {
  return isDroverError(e, 'DROVER_E_GONE') || isDroverError(e, 'DROVER_E_RESOURCE_VERSION_TOO_LARGE');
}

export class Informer<T extends AnyResource = AnyResource> {
  private readonly cache = new Map<string, T>();
  private readonly handlers = new Set<InformerHandlers<T>>();
  private synced = false;
  private readonly syncWaiters = new Set<() => void>();
  private ac: AbortController | undefined;
  private loop: Promise<void> | undefined;
  private lastRv: string | undefined;
  private st: InformerStatus = { connected: false, lists: 0 };

  constructor(
    private readonly store: Store,
    readonly kind: string,
    private readonly opts: InformerOptions = {},
  ) {}

  get labelSelector(): string | undefined {
    return this.opts.labelSelector;
  }

  /**
   * Adds a handler; returns a function that removes it. A handler added after the first list is first
   * told every cached object as an add (as client-go's shared informers do), so late and early handlers
   * see the same world.
   */
  addHandler(h: InformerHandlers<T>): () => void {
    this.handlers.add(h);
    if (this.synced) for (const o of this.cache.values()) this.safely(() => h.onAdd?.(o));
    return () => this.handlers.delete(h);
  }

  get(name: string): T | undefined {
    return this.cache.get(name);
  }

  list(): T[] {
    return [...this.cache.values()];
  }

  get size(): number {
    return this.cache.size;
  }

  /** The store revision the cache reflects (undefined before the first list). */
  get resourceVersion(): string | undefined {
    return this.lastRv;
  }

  status(): InformerStatus {
    return { ...this.st };
  }

  hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves once the first list has filled the cache; rejects on timeout or abort. */
  waitForSync(opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const finish = (err?: Error) => {
        if (timer) clearTimeout(timer);
        this.syncWaiters.delete(done);
        opts.signal?.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve();
      };
      const done = () => finish();
      const onAbort = () => finish(new Error(`waiting for the ${this.kind} informer to sync was aborted`));
      if (opts.signal?.aborted) return onAbort();
      this.syncWaiters.add(done);
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      if (opts.timeoutMs !== undefined) {
        timer = setTimeout(() => finish(new Error(`the ${this.kind} informer did not sync within ${opts.timeoutMs} ms`)), opts.timeoutMs);
      }
    });
  }

  /** Starts listing and watching in the background (idempotent). */
  start(): void {
    if (this.loop) return;
    this.ac = new AbortController();
    this.loop = this.run(this.ac.signal);
  }

  /** Stops the watch; the cache stays readable. */
  async stop(): Promise<void> {
    this.ac?.abort();
    await this.loop;
    this.loop = undefined;
  }

  private async run(signal: AbortSignal): Promise<void> {
    const min = this.opts.minBackoffMs ?? 100;
    const max = this.opts.maxBackoffMs ?? 5000;
    let failures = 0;
    let expired = 0;
    let needList = true;
    while (!signal.aborted) {
      try {
        if (needList) {
          await this.relist();
          needList = false;
        } else {
          // Reconnecting after a failure: one cheap call tells whether the store answers again, so that
          // `connected` is true while a quiet watch waits for its first event.
          await this.store.revision();
          this.st = { connected: true, lists: this.st.lists };
        }
        failures = 0;
        // stop() may have come while listing: a watch opened on an aborted signal might never end.
        if (signal.aborted) return;
        for await (const ev of this.store.watch({
          kind: this.kind,
          resourceVersion: this.lastRv,
          ...(this.opts.labelSelector ? { labelSelector: this.opts.labelSelector } : {}),
          signal,
        })) {
          expired = 0;
          this.apply(ev.type, ev.object as T);
        }
        if (signal.aborted) return;
        throw new Error('watch stream ended');
      } catch (e) {
        if (signal.aborted) return;
        let retryInMs: number;
        if (needsRelist(e)) {
          // The store answered: list again at once, unless the watch keeps expiring right after each list.
          needList = true;
          expired++;
          retryInMs = expired <= 1 ? 0 : backoffDelay(expired - 1, min, max, this.opts.random);
          this.st = { ...this.st, lastError: errorText(e) };
          this.opts.logger?.log('warn', 'watch expired; listing again', { kind: this.kind, error: errorText(e) });
        } else {
          failures++;
          retryInMs = backoffDelay(failures, min, max, this.opts.random);
          this.st = { ...this.st, connected: false, lastError: errorText(e) };
          const next = needList ? 'listing' : `watching from revision ${this.lastRv ?? '(none)'}`;
          this.opts.logger?.log('error', `watch failed; ${next} again in ${retryInMs} ms`, { kind: this.kind, error: errorText(e) });
        }
        this.safely(() => this.opts.onError?.(e, { relist: needList, retryInMs }));
        if (retryInMs > 0) await sleep(retryInMs, signal);
      }
    }
  }

  /** Lists and diffs against the cache: what changed is an update, what is new an add, what vanished a delete. */
  private async relist(): Promise<void> {
    const res = await this.store.list<T>(this.kind, this.opts.labelSelector ? { labelSelector: this.opts.labelSelector } : {});
    this.st = { connected: true, lists: this.st.lists + 1 };
    this.lastRv = res.resourceVersion;
    const seen = new Set<string>();
    for (const o of res.items) {
      seen.add(o.metadata.name);
      this.upsert(o);
    }
    for (const [name, old] of [...this.cache]) {
      if (seen.has(name)) continue;
      this.cache.delete(name);
      this.emit((h) => h.onDelete?.(old));
    }
    if (!this.synced) {
      this.synced = true;
      for (const w of [...this.syncWaiters]) w();
    }
  }

  private apply(type: 'ADDED' | 'MODIFIED' | 'DELETED', o: T): void {
    if (o.metadata.resourceVersion) this.lastRv = o.metadata.resourceVersion;
    if (type === 'DELETED') {
      if (!this.cache.delete(o.metadata.name)) return;
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
      if (this.opts.logger) this.opts.logger.log('error', 'informer handler failed', { kind: this.kind, error: errorText(e) });
      else console.error(`informer ${this.kind}: handler failed:`, e);
    }
  }
}

/** The newer of two copies of one object (resourceVersions are one global decimal revision). */
export function newerOf<T extends AnyResource>(a: T | undefined, b: T | undefined): T | undefined {
  if (!a) return b;
  if (!b) return a;
  const ra = a.metadata.resourceVersion;
  const rb = b.metadata.resourceVersion;
  if (ra === undefined) return b;
  if (rb === undefined) return a;
  return BigInt(rb) > BigInt(ra) ? b : a;
}
