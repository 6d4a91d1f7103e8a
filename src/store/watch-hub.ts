/**
 * Fan-out of committed changes to watchers, with replay from a revision. Backends call `publish` after a
 * change is durable; `watch` replays retained history after `from` and then streams live events, with no
 * gap and no duplicate between the two.
 *
 * Each watch is a hand-written async iterator rather than an async generator: with 100 watchers every
 * change is delivered 100 times, and a generator's extra promise hops per yield made fan-out the
 * bottleneck of watch latency (measured ~7 µs vs ~1 µs per delivery, bench/store-sqlite.ts).
 */
import type { AnyResource } from '../api/resource.js';
import { errors } from '../errors.js';
import { parseLabelSelector } from './label-selector.js';
import type { WatchEvent, WatchOptions } from './store.js';

export interface HistorySource {
  /** Changes with revision > from, oldest first; throws DROVER_E_GONE if `from` is compacted. */
  since(from: bigint): WatchEvent[];
}

const revOf = (e: WatchEvent): bigint => BigInt(e.object.metadata.resourceVersion ?? '0');

export class WatchHub {
  private readonly subs = new Set<Subscription>();
  private closed = false;

  constructor(
    private readonly history: HistorySource,
    private readonly currentRevision: () => bigint,
  ) {}

  publish(e: WatchEvent): void {
    if (this.subs.size === 0) return;
    const rv = revOf(e);
    for (const s of this.subs) s.push(e, rv);
  }

  close(): void {
    this.closed = true;
    for (const s of [...this.subs]) s.end();
  }

  /** Starts (subscribes, replays) on the first `next()`, so an iterator that is never read holds nothing. */
  watch(opts: WatchOptions): AsyncIterableIterator<WatchEvent> {
    return new Subscription(opts, {
      isClosed: () => this.closed,
      add: (s) => this.subs.add(s),
      remove: (s) => this.subs.delete(s),
      history: this.history,
      currentRevision: this.currentRevision,
    });
  }
}

interface HubAccess {
  isClosed(): boolean;
  add(s: Subscription): void;
  remove(s: Subscription): void;
  history: HistorySource;
  currentRevision(): bigint;
}

type Waiter = (r: IteratorResult<WatchEvent, undefined>) => void;

class Subscription implements AsyncIterableIterator<WatchEvent> {
  private state: 'new' | 'open' | 'ended' = 'new';
  private queue: WatchEvent[] = [];
  private head = 0;
  private readonly waiters: Waiter[] = [];
  private last = 0n;
  private wanted: (o: AnyResource) => boolean = () => false;
  private readonly onAbort = () => this.end();

  constructor(
    private readonly opts: WatchOptions,
    private readonly hub: HubAccess,
  ) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<WatchEvent, undefined>> {
    if (this.state === 'new') {
      try {
        this.start();
      } catch (e) {
        this.end();
        return Promise.reject(e instanceof Error ? e : new Error(String(e)));
      }
    }
    if (this.head < this.queue.length) {
      const value = this.queue[this.head++]!;
      if (this.head === this.queue.length) {
        this.queue = [];
        this.head = 0;
      }
      return Promise.resolve({ value, done: false });
    }
    if (this.state === 'ended') return Promise.resolve({ value: undefined, done: true });
    return new Promise<IteratorResult<WatchEvent, undefined>>((resolve) => this.waiters.push(resolve));
  }

  return(): Promise<IteratorResult<WatchEvent, undefined>> {
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  push(e: WatchEvent, rv: bigint): void {
    // Subscribing happens before history is read, so an event can arrive twice; revisions dedupe it.
    if (this.state !== 'open' || rv <= this.last) return;
    this.last = rv;
    if (!this.wanted(e.object)) return;
    const w = this.waiters.shift();
    if (w) w({ value: e, done: false });
    else this.queue.push(e);
  }

  end(): void {
    if (this.state === 'ended') return;
    this.state = 'ended';
    this.hub.remove(this);
    this.opts.signal?.removeEventListener('abort', this.onAbort);
    // Nothing is delivered after an abort or close, even what was already queued.
    this.queue = [];
    this.head = 0;
    for (const w of this.waiters.splice(0)) w({ value: undefined, done: true });
  }

  private start(): void {
    const { opts } = this;
    this.state = 'open';
    if (this.hub.isClosed() || opts.signal?.aborted) {
      this.end();
      return;
    }
    const match = parseLabelSelector(opts.labelSelector);
    this.wanted = (o) =>
      (opts.kind === undefined || o.kind === opts.kind) &&
      (opts.name === undefined || o.metadata.name === opts.name) &&
      match(o.metadata.labels ?? {});
    const from = opts.resourceVersion !== undefined && opts.resourceVersion !== '' ? parseRevision(opts.resourceVersion) : undefined;
    const current = this.hub.currentRevision();
    // A revision the store has not reached would deliver nothing until unrelated writes catch up.
    if (from !== undefined && from > current) throw errors.tooLargeResourceVersion(opts.resourceVersion!, current.toString());
    this.hub.add(this);
    opts.signal?.addEventListener('abort', this.onAbort, { once: true });
    this.last = from ?? current;
    if (from !== undefined) for (const e of this.hub.history.since(from)) this.push(e, revOf(e));
  }
}

function parseRevision(v: string): bigint {
  if (!/^\d+$/.test(v)) throw errors.invalid(`invalid resourceVersion "${v}"`, 'resourceVersion', 'pass a resourceVersion from a list or an object, or none to watch from now');
  return BigInt(v);
}

/** Bounded in-memory history, used by the memory backend. */
export class RingHistory implements HistorySource {
  private readonly buf: WatchEvent[] = [];
  constructor(
    private readonly capacity: number,
    private compactedThrough: bigint = 0n,
  ) {}

  add(e: WatchEvent): void {
    this.buf.push(e);
    if (this.buf.length > this.capacity) {
      const dropped = this.buf.shift()!;
      this.compactedThrough = revOf(dropped);
    }
  }

  since(from: bigint): WatchEvent[] {
    if (from < this.compactedThrough) throw errors.gone(from.toString(), (this.compactedThrough + 1n).toString());
    return this.buf.filter((e) => revOf(e) > from);
  }
}
