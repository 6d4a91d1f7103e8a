/**
 * Fan-out of committed changes to watchers, with replay from a revision. Backends call `publish` after a
 * change is durable; `watch` replays retained history after `from` and then streams live events, with no
 * gap and no duplicate between the two.
 */
import type { AnyResource } from '../api/resource.js';
import { errors } from '../errors.js';
import { parseLabelSelector } from './label-selector.js';
import type { WatchEvent, WatchOptions } from './store.js';

export interface HistorySource {
  /** Changes with revision > from, oldest first; throws DROVER_E_GONE if `from` is compacted. */
  since(from: bigint): WatchEvent[];
}

interface Subscriber {
  push(e: WatchEvent): void;
}

export class WatchHub {
  private readonly subs = new Set<Subscriber>();
  private closed = false;
  private readonly closers = new Set<() => void>();

  constructor(
    private readonly history: HistorySource,
    private readonly currentRevision: () => bigint,
  ) {}

  publish(e: WatchEvent): void {
    for (const s of this.subs) s.push(e);
  }

  close(): void {
    this.closed = true;
    for (const c of this.closers) c();
  }

  async *watch(opts: WatchOptions): AsyncGenerator<WatchEvent> {
    if (this.closed) return;
    const match = parseLabelSelector(opts.labelSelector);
    const wanted = (o: AnyResource) =>
      (opts.kind === undefined || o.kind === opts.kind) &&
      (opts.name === undefined || o.metadata.name === opts.name) &&
      match(o.metadata.labels ?? {});

    const queue: WatchEvent[] = [];
    let wake: (() => void) | undefined;
    let done = false;
    const sub: Subscriber = {
      push: (e) => {
        queue.push(e);
        wake?.();
      },
    };
    const stop = () => {
      done = true;
      wake?.();
    };
    // Subscribe before reading history so nothing committed in between is missed; duplicates are
    // dropped below by revision.
    this.subs.add(sub);
    this.closers.add(stop);
    opts.signal?.addEventListener('abort', stop, { once: true });
    try {
      let last = opts.resourceVersion !== undefined && opts.resourceVersion !== '' ? BigInt(opts.resourceVersion) : this.currentRevision();
      if (opts.resourceVersion !== undefined && opts.resourceVersion !== '') {
        for (const e of this.history.since(last)) {
          const rv = BigInt(e.object.metadata.resourceVersion ?? '0');
          if (rv <= last) continue;
          last = rv;
          if (wanted(e.object)) yield e;
        }
      }
      while (!done && !opts.signal?.aborted) {
        if (queue.length === 0) {
          await new Promise<void>((r) => (wake = r));
          wake = undefined;
          continue;
        }
        const e = queue.shift()!;
        const rv = BigInt(e.object.metadata.resourceVersion ?? '0');
        if (rv <= last) continue;
        last = rv;
        if (wanted(e.object)) yield e;
      }
    } finally {
      this.subs.delete(sub);
      this.closers.delete(stop);
      opts.signal?.removeEventListener('abort', stop);
    }
  }
}

/** Bounded in-memory history, used by the memory backend and as the SQLite backend's hot cache. */
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
      this.compactedThrough = BigInt(dropped.object.metadata.resourceVersion ?? '0');
    }
  }

  since(from: bigint): WatchEvent[] {
    if (from < this.compactedThrough) throw errors.gone(from.toString(), (this.compactedThrough + 1n).toString());
    return this.buf.filter((e) => BigInt(e.object.metadata.resourceVersion ?? '0') > from);
  }
}
