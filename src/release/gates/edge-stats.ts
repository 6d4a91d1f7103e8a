/**
 * Reads the edges' own per-Prod statistics (src/traffic/stats.ts) and merges them per Prod.
 *
 * Merging percentiles from several edges cannot be exact without histograms; we take the
 * request-weighted mean of each edge's percentile, which is exact with one edge (the common case) and
 * close when the edges see similar traffic. Requests and errors are summed exactly.
 */
import type { EdgeStats, ProdWindowStats } from '../../traffic/stats.js';

export type ProdStatsMap = Map<string, ProdWindowStats>;

export interface FetchedStats {
  stats: ProdStatsMap;
  /** Edges that did not answer, with the reason; the gates turn missing data into "inconclusive". */
  failures: string[];
}

export function statsUrl(edgeUrl: string, windowMs: number): string {
  const base = edgeUrl.replace(/\/+$/, '');
  const path = base.endsWith('/stats') ? base : `${base}/stats`;
  return `${path}?windowMs=${Math.max(1, Math.round(windowMs))}`;
}

export async function fetchEdgeStats(edgeUrls: readonly string[], windowMs: number, opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<FetchedStats> {
  const failures: string[] = [];
  const answers = await Promise.all(
    edgeUrls.map(async (u): Promise<EdgeStats | undefined> => {
      const signals = [AbortSignal.timeout(opts.timeoutMs ?? 2000), ...(opts.signal ? [opts.signal] : [])];
      try {
        const res = await fetch(statsUrl(u, windowMs), { signal: AbortSignal.any(signals) });
        if (!res.ok) {
          failures.push(`${u}: HTTP ${res.status}`);
          return undefined;
        }
        return (await res.json()) as EdgeStats;
      } catch (e) {
        failures.push(`${u}: ${e instanceof Error ? e.message : String(e)}`);
        return undefined;
      }
    }),
  );
  return { stats: mergeEdgeStats(answers.filter((a): a is EdgeStats => a !== undefined)), failures };
}

export function mergeEdgeStats(all: readonly EdgeStats[]): ProdStatsMap {
  const out: ProdStatsMap = new Map();
  for (const edge of all) {
    for (const p of edge.prods ?? []) {
      const cur = out.get(p.prod);
      if (!cur) {
        out.set(p.prod, { prod: p.prod, requests: p.requests, errors: p.errors, latencyMs: { ...p.latencyMs } });
        continue;
      }
      const n = cur.requests + p.requests;
      const w = (a: number, b: number) => (n === 0 ? Math.max(a, b) : (a * cur.requests + b * p.requests) / n);
      cur.latencyMs = { p50: w(cur.latencyMs.p50, p.latencyMs.p50), p90: w(cur.latencyMs.p90, p.latencyMs.p90), p99: w(cur.latencyMs.p99, p.latencyMs.p99) };
      cur.requests = n;
      cur.errors += p.errors;
    }
  }
  return out;
}

/** Sum of a set of Prods' stats (the wave's, or the known-good baseline's). */
export function sumStats(stats: ProdStatsMap, prods: readonly string[]): ProdWindowStats {
  const parts = prods.map((p) => stats.get(p)).filter((s): s is ProdWindowStats => s !== undefined);
  return mergeEdgeStats([{ edge: 'sum', windowMs: 0, at: '', prods: parts.map((s) => ({ ...s, prod: 'sum' })) }]).get('sum') ?? {
    prod: 'sum',
    requests: 0,
    errors: 0,
    latencyMs: { p50: 0, p90: 0, p99: 0 },
  };
}
