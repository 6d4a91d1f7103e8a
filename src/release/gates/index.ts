/**
 * Runs a release's gates for one wave: edge stats once for all stats gates, PromQL per query, CloudWatch
 * per metric (a Migration on an ALB passes the `cloudwatch` context: region and the fleet target group's
 * dimensions; without it a cloudwatch gate that names no dimensions is inconclusive).
 *
 * Two sources feed the stats gates: the users' requests (every edge's `/stats`) and, when the release
 * probes, the synthetic probes' own counts (src/release/probes.ts), kept apart. Each stats gate is judged
 * on each source, then: either fails → fail (a new version that answers 5xx to a plain request is bad,
 * whoever sent it); else either passes → pass (one conclusive source is enough); else inconclusive.
 * Ratios to the baseline apply to users only (the known-good Prods are not probed).
 */
import type { Gate } from '../../api/kinds/release.js';
import type { ProbeResults } from '../probes.js';
import { fetchEdgeStats, type ProdStatsMap } from './edge-stats.js';
import { evaluateCloudWatch, type CloudWatchContext } from './cloudwatch.js';
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
  /** The probes' counts over the window, when the release probes. */
  probes?: ProbeResults | undefined;
  /** Where the `cloudwatch` gates read: set by a Migration on an ALB (src/cloud/alb/arns.ts albMetricContext). */
  cloudwatch?: CloudWatchContext | undefined;
}

export type GateRunner = (check: GateCheck) => Promise<GateVerdict>;

type StatsGate = Exclude<Gate, { type: 'promql' } | { type: 'cloudwatch' }>;

function evaluate(g: StatsGate, stats: ProdStatsMap, wave: readonly string[], baseline: readonly string[]): GateResult {
  const input = { stats, wave, baseline };
  return g.type === 'errorRate' ? evaluateErrorRate(g, input) : evaluateLatency(g, input);
}

/** Users' and probes' results of one gate as one: fail > pass > inconclusive. */
export function mergeSources(users: GateResult, probes: GateResult): GateResult {
  const outcome = users.outcome === 'fail' || probes.outcome === 'fail' ? 'fail' : users.outcome === 'pass' || probes.outcome === 'pass' ? 'pass' : 'inconclusive';
  return { gate: users.gate, outcome, reason: `users: ${users.reason}; probes: ${probes.reason}` };
}

function probeResult(g: StatsGate, c: GateCheck, probes: ProbeResults): GateResult {
  const reached = c.wave.filter((p) => probes.stats.has(p));
  if (reached.length === 0) {
    const why = probes.unreachable.length > 0 ? `no answer from ${probes.unreachable.join(',')} (no route from the control plane?)` : 'none sent';
    return { gate: g.type, outcome: 'inconclusive', reason: why };
  }
  const { maxRatioToBaseline: _r, ...absolute } = g;
  return evaluate(absolute, probes.stats, reached, []);
}

export const runGates: GateRunner = async (c) => {
  const results: GateResult[] = [];
  const statsGates = c.gates.filter((g): g is StatsGate => g.type !== 'promql' && g.type !== 'cloudwatch');
  if (statsGates.length > 0) {
    let users: (g: StatsGate) => GateResult;
    if (c.edgeStatsUrls.length === 0) {
      users = (g) => ({ gate: g.type, outcome: 'inconclusive', reason: 'no edge stats URLs configured' });
    } else {
      const { stats, failures } = await fetchEdgeStats(c.edgeStatsUrls, c.windowMs);
      users =
        failures.length === c.edgeStatsUrls.length
          ? (g) => ({ gate: g.type, outcome: 'inconclusive', reason: `no edge answered: ${failures.join('; ')}` })
          : (g) => evaluate(g, stats, c.wave, c.baseline);
    }
    for (const g of statsGates) results.push(c.probes ? mergeSources(users(g), probeResult(g, c, c.probes)) : users(g));
  }
  for (const g of c.gates) if (g.type === 'promql') results.push(await evaluatePromQL(g, c.prometheusUrl, c.wave));
  for (const g of c.gates) if (g.type === 'cloudwatch') results.push(await evaluateCloudWatch(g, c.cloudwatch, c.windowMs));
  return combine(results);
};
