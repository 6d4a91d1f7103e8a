/**
 * Error-rate and latency gates over the edges' stats: pure decisions, tested on their own.
 *
 * Each gate checks the wave's new Prods against an absolute limit and, when `maxRatioToBaseline` is set,
 * against the Prods still on the known-good version over the same window. Too few requests on the wave
 * (or on the baseline, for a ratio) make the gate inconclusive rather than passing: no news is not good
 * news. A known-good error rate of 0 is floored at 0.1% (`BASELINE_ERROR_FLOOR`) so that a single error
 * on the wave does not read as "infinitely worse than the baseline".
 */
import type { Gate } from '../../api/kinds/release.js';
import type { ProdStatsMap } from './edge-stats.js';
import { sumStats } from './edge-stats.js';
import type { GateResult } from './types.js';

export const BASELINE_ERROR_FLOOR = 0.001;

type ErrorRateGate = Extract<Gate, { type: 'errorRate' }>;
type LatencyGate = Extract<Gate, { type: 'latency' }>;

export interface StatsGateInput {
  stats: ProdStatsMap;
  /** The wave's new Prods. */
  wave: readonly string[];
  /** Prods serving the known-good version over the same window. */
  baseline: readonly string[];
}

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;

export function evaluateErrorRate(g: ErrorRateGate, input: StatsGateInput): GateResult {
  const w = sumStats(input.stats, input.wave);
  if (w.requests === 0 || w.requests < g.minRequests) {
    return { gate: 'errorRate', outcome: 'inconclusive', reason: `only ${w.requests} requests on ${input.wave.join(',')} (need ${g.minRequests})` };
  }
  const rate = w.errors / w.requests;
  if (rate > g.max) return { gate: 'errorRate', outcome: 'fail', reason: `error rate ${pct(rate)} (${w.errors}/${w.requests}) > ${pct(g.max)}` };
  if (g.maxRatioToBaseline !== undefined && rate > 0) {
    const b = sumStats(input.stats, input.baseline);
    if (b.requests === 0 || b.requests < g.minRequests) {
      return { gate: 'errorRate', outcome: 'inconclusive', reason: `baseline has only ${b.requests} requests (need ${g.minRequests})` };
    }
    const base = Math.max(b.errors / b.requests, BASELINE_ERROR_FLOOR);
    if (rate > g.maxRatioToBaseline * base) {
      return { gate: 'errorRate', outcome: 'fail', reason: `error rate ${pct(rate)} > ${g.maxRatioToBaseline}× baseline ${pct(base)}` };
    }
  }
  return { gate: 'errorRate', outcome: 'pass', reason: `error rate ${pct(rate)} over ${w.requests} requests` };
}

export function evaluateLatency(g: LatencyGate, input: StatsGateInput): GateResult {
  const key = `p${g.percentile}` as const;
  const w = sumStats(input.stats, input.wave);
  if (w.requests === 0 || w.requests < g.minRequests) {
    return { gate: 'latency', outcome: 'inconclusive', reason: `only ${w.requests} requests on ${input.wave.join(',')} (need ${g.minRequests})` };
  }
  const ms = w.latencyMs[key];
  if (ms > g.maxMs) return { gate: 'latency', outcome: 'fail', reason: `${key} ${ms.toFixed(1)}ms > ${g.maxMs}ms` };
  if (g.maxRatioToBaseline !== undefined) {
    const b = sumStats(input.stats, input.baseline);
    if (b.requests === 0 || b.requests < g.minRequests) {
      return { gate: 'latency', outcome: 'inconclusive', reason: `baseline has only ${b.requests} requests (need ${g.minRequests})` };
    }
    const base = Math.max(b.latencyMs[key], 1);
    if (ms > g.maxRatioToBaseline * base) {
      return { gate: 'latency', outcome: 'fail', reason: `${key} ${ms.toFixed(1)}ms > ${g.maxRatioToBaseline}× baseline ${base.toFixed(1)}ms` };
    }
  }
  return { gate: 'latency', outcome: 'pass', reason: `${key} ${ms.toFixed(1)}ms over ${w.requests} requests` };
}
