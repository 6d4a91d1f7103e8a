/**
 * PromQL gates against Prometheus's HTTP API (`GET /api/v1/query`). `$prods` in the query becomes an
 * anchored regex alternative of the wave's Prod names (Prometheus anchors `=~` matchers itself).
 * A vector answer is judged by its worst series (the largest value against `max`, the smallest against
 * `min`); no series, NaN, an error answer or an unreachable Prometheus are inconclusive.
 */
import type { Gate } from '../../api/kinds/release.js';
import type { GateResult } from './types.js';

type PromGate = Extract<Gate, { type: 'promql' }>;

export function prodsRegex(prods: readonly string[]): string {
  return prods.map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|');
}

export function renderQuery(query: string, prods: readonly string[]): string {
  return query.replaceAll('$prods', prodsRegex(prods));
}

interface PromAnswer {
  status: 'success' | 'error';
  error?: string;
  data?: { resultType: 'vector' | 'scalar' | 'matrix' | 'string'; result: unknown };
}

/** Values of the answer's samples (one per series for a vector). */
export function sampleValues(a: PromAnswer): number[] {
  const d = a.data;
  if (!d) return [];
  if (d.resultType === 'scalar') {
    const v = d.result as [number, string];
    return [Number(v[1])];
  }
  if (d.resultType === 'vector') return (d.result as { value: [number, string] }[]).map((s) => Number(s.value[1]));
  return [];
}

export async function evaluatePromQL(g: PromGate, prometheusUrl: string | undefined, wave: readonly string[], opts: { timeoutMs?: number } = {}): Promise<GateResult> {
  const q = renderQuery(g.query, wave);
  if (!prometheusUrl) return { gate: 'promql', outcome: 'inconclusive', reason: `no Prometheus configured for "${q}" (start the server with a Prometheus URL)` };
  let answer: PromAnswer;
  try {
    const url = `${prometheusUrl.replace(/\/+$/, '')}/api/v1/query?query=${encodeURIComponent(q)}`;
    const res = await fetch(url, { signal: AbortSignal.timeout(opts.timeoutMs ?? 3000) });
    answer = (await res.json()) as PromAnswer;
    if (answer.status !== 'success') return { gate: 'promql', outcome: 'inconclusive', reason: `Prometheus error for "${q}": ${answer.error ?? `HTTP ${res.status}`}` };
  } catch (e) {
    return { gate: 'promql', outcome: 'inconclusive', reason: `Prometheus unreachable at ${prometheusUrl}: ${e instanceof Error ? e.message : String(e)}` };
  }
  const values = sampleValues(answer).filter((v) => !Number.isNaN(v));
  if (values.length === 0) return { gate: 'promql', outcome: 'inconclusive', reason: `no data for "${q}"` };
  if (g.max !== undefined) {
    const worst = Math.max(...values);
    if (worst > g.max) return { gate: 'promql', outcome: 'fail', reason: `"${q}" = ${worst} > ${g.max}` };
  }
  if (g.min !== undefined) {
    const worst = Math.min(...values);
    if (worst < g.min) return { gate: 'promql', outcome: 'fail', reason: `"${q}" = ${worst} < ${g.min}` };
  }
  return { gate: 'promql', outcome: 'pass', reason: `"${q}" = ${values.join(',')}` };
}
