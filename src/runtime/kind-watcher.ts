/**
 * Follows one kind in the store: list, then watch from the list's resourceVersion. When the watch fails
 * (DROVER_E_GONE after compaction, a broken stream, the stream ending) it lists again after a backoff and
 * resumes, diffing the new list against what it last saw: objects that changed are reported MODIFIED,
 * objects that vanished in the gap DELETED (with their last known state). No change is lost; a change
 * may be reported twice, which level-based reconcilers do not mind.
 */
import type { AnyResource } from '../api/resource.js';
import { isDroverError } from '../errors.js';
import type { Store, WatchEventType } from '../store/store.js';
import { errorText, type Logger } from './logger.js';
import { sleep } from './sleep.js';

export type ChangeHandler = (obj: AnyResource, type: WatchEventType) => void;

export interface KindWatcherOptions {
  /** Backoff between re-lists after a failure: baseMs · 2^n capped at maxMs. */
  backoff?: { baseMs: number; maxMs: number };
}

export class KindWatcher {
  private readonly known = new Map<string, AnyResource>();
  private readonly handlers: ChangeHandler[] = [];
  private readonly backoff: { baseMs: number; maxMs: number };
  /** Times this watcher has listed (the first list included). */
  lists = 0;
  /** Resolves once the first list is in: from then on `items` and `get` answer for the whole kind. */
  readonly synced: Promise<void>;
  private markSynced: () => void = () => {};

  constructor(
    private readonly store: Store,
    readonly kind: string,
    private readonly logger: Logger,
    opts: KindWatcherOptions = {},
  ) {
    this.backoff = opts.backoff ?? { baseMs: 100, maxMs: 5_000 };
    this.synced = new Promise((resolve) => (this.markSynced = resolve));
  }

  /** Every object of the kind as last seen (shared with the watch: read, never change). */
  items(): AnyResource[] {
    return [...this.known.values()];
  }

  get(name: string): AnyResource | undefined {
    return this.known.get(name);
  }

  onChange(h: ChangeHandler): void {
    this.handlers.push(h);
  }

  /** Runs until `signal` aborts. Never throws. */
  async run(signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      try {
        const from = await this.relist();
        for await (const ev of this.store.watch({ kind: this.kind, resourceVersion: from, signal })) {
          failures = 0;
          if (ev.type === 'DELETED') this.known.delete(ev.object.metadata.name);
          else this.known.set(ev.object.metadata.name, ev.object);
          this.emit(ev.object, ev.type);
        }
        if (signal.aborted) return;
        this.logger.log('warn', 'watch stream ended; listing again', { kind: this.kind });
      } catch (e) {
        if (signal.aborted) return;
        if (isDroverError(e, 'DROVER_E_GONE')) this.logger.log('warn', 'watch expired; listing again', { kind: this.kind, error: errorText(e) });
        else this.logger.log('error', 'watch failed; listing again', { kind: this.kind, error: errorText(e) });
      }
      const delay = Math.min(this.backoff.maxMs, this.backoff.baseMs * 2 ** Math.min(failures, 20));
      failures++;
      await sleep(delay, signal);
    }
  }

  private async relist(): Promise<string> {
    const { items, resourceVersion } = await this.store.list(this.kind);
    this.lists++;
    const seen = new Set<string>();
    for (const item of items) {
      const name = item.metadata.name;
      seen.add(name);
      const prev = this.known.get(name);
      if (prev?.metadata.resourceVersion === item.metadata.resourceVersion) continue;
      this.known.set(name, item);
      this.emit(item, prev ? 'MODIFIED' : 'ADDED');
    }
    for (const [name, prev] of [...this.known]) {
      if (seen.has(name)) continue;
      this.known.delete(name);
      this.emit(prev, 'DELETED');
    }
    this.markSynced();
    return resourceVersion;
  }

  private emit(obj: AnyResource, type: WatchEventType): void {
    for (const h of this.handlers) {
      try {
        h(obj, type);
      } catch (e) {
        this.logger.log('error', 'watch handler failed', { kind: this.kind, name: obj.metadata.name, error: errorText(e) });
      }
    }
  }
}
