/**
 * A work queue of keys (after client-go's workqueue):
 * - a key is queued at most once however often it is added (dedup);
 * - a key handed out by `get` is not handed out again until `done`; adds in between are remembered and
 *   the key is queued again on `done`, so no key is ever processed concurrently with itself;
 * - `addAfter` delays an add (the earliest pending delay wins); `addRateLimited` delays by the rate
 *   limiter's backoff for that key, `forget` resets it.
 */
import { Fifo } from './fifo.js';
import { defaultRateLimiter, type RateLimiter } from './rate-limiter.js';

export interface WorkQueueOptions {
  rateLimiter?: RateLimiter;
  /** Called whenever the number of queued keys changes (for the depth gauge). */
  onDepth?: (depth: number) => void;
}

export class WorkQueue {
  private readonly queue = new Fifo<string>();
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly delayed = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly waiters: ((key: string | undefined) => void)[] = [];
  private readonly limiter: RateLimiter;
  private readonly onDepth: (depth: number) => void;
  private shuttingDown = false;

  constructor(opts: WorkQueueOptions = {}) {
    this.limiter = opts.rateLimiter ?? defaultRateLimiter();
    this.onDepth = opts.onDepth ?? (() => {});
  }

  get length(): number {
    return this.queue.length;
  }

  get isShutDown(): boolean {
    return this.shuttingDown;
  }

  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return; // queued again by done()
    this.enqueue(key);
  }

  addAfter(key: string, delayMs: number): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const at = Date.now() + delayMs;
    const pending = this.delayed.get(key);
    if (pending) {
      if (pending.at <= at) return;
      clearTimeout(pending.timer);
    }
    const timer = setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, delayMs);
    this.delayed.set(key, { at, timer });
  }

  addRateLimited(key: string): void {
    this.addAfter(key, this.limiter.when(key));
  }

  forget(key: string): void {
    this.limiter.forget(key);
  }

  retries(key: string): number {
    return this.limiter.retries(key);
  }

  /** The next key to process, or undefined once the queue is shut down. Call `done(key)` after. */
  get(): Promise<string | undefined> {
    if (this.shuttingDown) return Promise.resolve(undefined);
    const key = this.queue.shift();
    if (key !== undefined) {
      this.startProcessing(key);
      this.onDepth(this.queue.length);
      return Promise.resolve(key);
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.has(key) && !this.shuttingDown) this.enqueue(key);
  }

  /** Stops handing out keys (waiting `get`s return undefined) and drops delayed adds. */
  shutdown(): void {
    this.shuttingDown = true;
    for (const { timer } of this.delayed.values()) clearTimeout(timer);
    this.delayed.clear();
    for (const w of this.waiters.splice(0)) w(undefined);
  }

  private enqueue(key: string): void {
    const waiter = this.waiters.shift();
    if (waiter) {
      this.startProcessing(key);
      waiter(key);
      return;
    }
    this.queue.push(key);
    this.onDepth(this.queue.length);
  }

  private startProcessing(key: string): void {
    this.dirty.delete(key);
    this.processing.add(key);
  }
}
