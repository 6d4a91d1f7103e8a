/**
 * How long this process's event loop was stalled, and when: a timer that should fire every `intervalMs`
 * measures how late each tick came. The cluster controller adds the stall since a heartbeat arrived to
 * that heartbeat's grace, so a cluster is never called NotReady because the control plane was too busy
 * to read its heartbeats (issue 12: 22 false NotReady verdicts under a burst of tenant writes).
 */

export interface StallClock {
  /** Milliseconds of stall observed after `sinceMs` (this process's clock). */
  stalledSince(sinceMs: number): number;
}

export interface LoopLagOptions {
  intervalMs?: number;
  /** Lateness below this is scheduling noise, not a stall. */
  toleranceMs?: number;
  /** How much history to keep (longer than any grace it is asked about). */
  keepMs?: number;
  now?: () => number;
}

export class LoopLagMonitor implements StallClock {
  private readonly intervalMs: number;
  private readonly toleranceMs: number;
  private readonly keepMs: number;
  private readonly now: () => number;
  /** End time and length of each stall, oldest first. */
  private readonly stalls: { atMs: number; ms: number }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private last = 0;

  constructor(opts: LoopLagOptions = {}) {
    this.intervalMs = opts.intervalMs ?? 100;
    this.toleranceMs = opts.toleranceMs ?? 50;
    this.keepMs = opts.keepMs ?? 10 * 60_000;
    this.now = opts.now ?? Date.now;
    this.last = this.now();
  }

  /** Idempotent; the timer does not keep the process alive. */
  start(): void {
    if (this.timer) return;
    this.last = this.now();
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One tick of the timer (also how tests drive it). */
  tick(atMs: number = this.now()): void {
    const late = atMs - this.last - this.intervalMs;
    this.last = atMs;
    if (late > this.toleranceMs) this.record(atMs, late);
  }

  record(atMs: number, ms: number): void {
    this.stalls.push({ atMs, ms });
    while (this.stalls.length > 0 && (this.stalls[0]?.atMs ?? 0) < atMs - this.keepMs) this.stalls.shift();
  }

  stalledSince(sinceMs: number): number {
    let sum = 0;
    for (let i = this.stalls.length - 1; i >= 0; i--) {
      const s = this.stalls[i]!;
      if (s.atMs <= sinceMs) break;
      // Only the part of a stall after `sinceMs` delayed anything that arrived at `sinceMs`.
      sum += Math.min(s.ms, s.atMs - sinceMs);
    }
    return sum;
  }
}
