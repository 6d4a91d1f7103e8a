/**
 * Per-Prod sliding-window statistics for `/stats` (src/traffic/stats.ts): one-second buckets kept for
 * five minutes, each with a request count, an error count and a log-scale latency histogram (about 5%
 * resolution), so percentiles over any window cost a merge of at most 300 small arrays.
 */
import type { ProdWindowStats } from '../traffic/stats.js';

const BUCKET_MS = 1000;
const MAX_WINDOW_MS = 300_000;
const SLOTS = MAX_WINDOW_MS / BUCKET_MS;
const MIN_MS = 0.01;
const GROWTH = 1.05;
const LOG_GROWTH = Math.log(GROWTH);
const BINS = Math.ceil(Math.log(600_000 / MIN_MS) / LOG_GROWTH) + 1;

function binOf(ms: number): number {
  if (ms <= MIN_MS) return 0;
  const b = Math.floor(Math.log(ms / MIN_MS) / LOG_GROWTH) + 1;
  return b >= BINS ? BINS - 1 : b;
}

/** Upper bound of a bin, in ms. */
function binValue(b: number): number {
  return b === 0 ? MIN_MS : MIN_MS * Math.pow(GROWTH, b);
}

interface Slot {
  second: number;
  requests: number;
  errors: number;
  hist: Uint32Array;
}

class ProdWindow {
  private readonly slots: Slot[] = Array.from({ length: SLOTS }, () => ({ second: -1, requests: 0, errors: 0, hist: new Uint32Array(BINS) }));

  record(nowMs: number, latencyMs: number, error: boolean): void {
    const second = Math.floor(nowMs / BUCKET_MS);
    const slot = this.slots[second % SLOTS]!;
    if (slot.second !== second) {
      slot.second = second;
      slot.requests = 0;
      slot.errors = 0;
      slot.hist.fill(0);
    }
    slot.requests++;
    if (error) slot.errors++;
    slot.hist[binOf(latencyMs)]!++;
  }

  summarize(prod: string, nowMs: number, windowMs: number): ProdWindowStats {
    const now = Math.floor(nowMs / BUCKET_MS);
    const oldest = now - Math.max(1, Math.ceil(windowMs / BUCKET_MS)) + 1;
    const hist = new Float64Array(BINS);
    let requests = 0;
    let errors = 0;
    for (const s of this.slots) {
      if (s.second < oldest || s.second > now) continue;
      requests += s.requests;
      errors += s.errors;
      for (let b = 0; b < BINS; b++) hist[b]! += s.hist[b]!;
    }
    const pct = (q: number): number => {
      if (requests === 0) return 0;
      const target = Math.ceil(q * requests);
      let acc = 0;
      for (let b = 0; b < BINS; b++) {
        acc += hist[b]!;
        if (acc >= target) return Math.round(binValue(b) * 1000) / 1000;
      }
      return binValue(BINS - 1);
    };
    return { prod, requests, errors, latencyMs: { p50: pct(0.5), p90: pct(0.9), p99: pct(0.99) } };
  }
}

export class WindowStats {
  private readonly prods = new Map<string, ProdWindow>();
  readonly maxWindowMs = MAX_WINDOW_MS;

  constructor(private readonly now: () => number = Date.now) {}

  record(prod: string, latencyMs: number, error: boolean): void {
    let w = this.prods.get(prod);
    if (!w) {
      w = new ProdWindow();
      this.prods.set(prod, w);
    }
    w.record(this.now(), latencyMs, error);
  }

  snapshot(windowMs: number): ProdWindowStats[] {
    const now = this.now();
    const win = Math.min(Math.max(windowMs, BUCKET_MS), MAX_WINDOW_MS);
    return [...this.prods.entries()]
      .map(([prod, w]) => w.summarize(prod, now, win))
      .sort((a, b) => (a.prod < b.prod ? -1 : a.prod > b.prod ? 1 : 0));
  }
}
