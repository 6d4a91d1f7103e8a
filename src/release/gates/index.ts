/** Runs a release's gates for one wave: edge stats once for all stats gates, PromQL per query. */
import type { Gate } from '../../api/kinds/release.js';
import { fetchEdgeStats } from './edge-stats.js';
import { evaluatePromQL } from './promql.js';
import { evaluateErrorRate, evaluateLatency } from './stats-gates.js';
import { combine, type GateResult, type GateVerdict } from './types.js';

export { combine, type GateOutcome, type GateResult, type GateVerdict } from './types.js';

export interface GateCheck {
  gates: readonly Gate[];
  /** The wave's new Prods. */
  wave: readonly string[];
  /** Prods still on the known-good version. */
  baseline: readonly string[];
  windowMs: number;
  edgeStatsUrls: readonly string[];
  prometheusUrl?: string | undefined;
}

export type GateRunner = (check: GateCheck) => Promise<GateVerdict>;

export const runGates: GateRunner = async (c) => {
  const results: GateResult[] = [];
  const statsGates = c.gates.filter((g) => g.type !== 'promql');
  if (statsGates.length > 0) {
    if (c.edgeStatsUrls.length === 0) {
      for (const g of statsGates) results.push({ gate: g.type, outcome: 'inconclusive', reason: 'no edge stats URLs configured' });
    } else {
      const { stats, failures } = await fetchEdgeStats(c.edgeStatsUrls, c.windowMs);
      const input = { stats, wave: c.wave, baseline: c.baseline };
      for (const g of statsGates) {
        if (failures.length === c.edgeStatsUrls.length) {
          results.push({ gate: g.type, outcome: 'inconclusive', reason: `no edge answered: ${failures.join('; ')}` });
        } else if (g.type === 'errorRate') results.push(evaluateErrorRate(g, input));
        else if (g.type === 'latency') results.push(evaluateLatency(g, input));
      }
    }
  }
  for (const g of c.gates) if (g.type === 'promql') results.push(await evaluatePromQL(g, c.prometheusUrl, c.wave));
  return combine(results);
};
