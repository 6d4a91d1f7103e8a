import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Gate } from '../../../src/api/kinds/release.js';
import { mergeEdgeStats, statsUrl } from '../../../src/release/gates/edge-stats.js';
import { runGates } from '../../../src/release/gates/index.js';
import { prodsRegex, renderQuery } from '../../../src/release/gates/promql.js';
import { evaluateErrorRate, evaluateLatency } from '../../../src/release/gates/stats-gates.js';
import type { EdgeStats, ProdWindowStats } from '../../../src/traffic/stats.js';

const s = (prod: string, requests: number, errors: number, p99 = 10): ProdWindowStats => ({ prod, requests, errors, latencyMs: { p50: p99 / 2, p90: p99 * 0.8, p99 } });
const edge = (name: string, prods: ProdWindowStats[]): EdgeStats => ({ edge: name, windowMs: 1000, at: new Date().toISOString(), prods });
const errorRate = (extra: Partial<Extract<Gate, { type: 'errorRate' }>> = {}): Extract<Gate, { type: 'errorRate' }> => ({ type: 'errorRate', max: 0.05, minRequests: 20, ...extra });

describe('stats gates (pure)', () => {
  const stats = mergeEdgeStats([edge('e1', [s('new', 100, 3, 40), s('old', 100, 1, 20)]), edge('e2', [s('new', 100, 1, 60), s('old', 100, 1, 20)])]);

  it('merges edges: sums counts, request-weighted percentiles', () => {
    assert.deepEqual(stats.get('new'), { prod: 'new', requests: 200, errors: 4, latencyMs: { p50: 25, p90: 40, p99: 50 } });
  });

  it('errorRate: absolute limit, ratio to baseline, too few requests', () => {
    const input = { stats, wave: ['new'], baseline: ['old'] };
    assert.equal(evaluateErrorRate(errorRate(), input).outcome, 'pass');
    assert.equal(evaluateErrorRate(errorRate({ max: 0.01 }), input).outcome, 'fail');
    const ratio = evaluateErrorRate(errorRate({ maxRatioToBaseline: 1.5 }), input);
    assert.equal(ratio.outcome, 'fail', ratio.reason);
    assert.match(ratio.reason, /baseline 1\.00%/);
    assert.equal(evaluateErrorRate(errorRate({ maxRatioToBaseline: 3 }), input).outcome, 'pass');
    const few = evaluateErrorRate(errorRate({ minRequests: 500 }), input);
    assert.equal(few.outcome, 'inconclusive');
    assert.match(few.reason, /only 200 requests/);
  });

  it('latency: absolute and relative to the known-good Prods', () => {
    const input = { stats, wave: ['new'], baseline: ['old'] };
    assert.equal(evaluateLatency({ type: 'latency', percentile: 99, maxMs: 100, minRequests: 1 }, input).outcome, 'pass');
    assert.equal(evaluateLatency({ type: 'latency', percentile: 99, maxMs: 45, minRequests: 1 }, input).outcome, 'fail');
    const rel = evaluateLatency({ type: 'latency', percentile: 99, maxMs: 1000, maxRatioToBaseline: 2, minRequests: 1 }, input);
    assert.equal(rel.outcome, 'fail');
    assert.match(rel.reason, /2× baseline 20\.0ms/);
  });

  it('PromQL: $prods becomes an alternative of the wave names', () => {
    assert.equal(prodsRegex(['a-1', 'b.2']), 'a-1|b\\.2');
    assert.equal(renderQuery('sum(x{prod=~"$prods"})', ['a-1', 'b-1']), 'sum(x{prod=~"a-1|b-1"})');
  });
});

describe('runGates against edges over HTTP', () => {
  let server: Server;
  let base = '';
  const windows: string[] = [];
  before(async () => {
    server = createServer((req, res) => {
      const u = new URL(req.url ?? '/', 'http://x');
      if (u.pathname !== '/stats') {
        res.writeHead(404).end();
        return;
      }
      windows.push(u.searchParams.get('windowMs') ?? '');
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(edge('e1', [s('c-2-v2', 200, 40), s('a-1', 500, 0)])));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  it('fails a wave with 20% errors, asking for the bake window', async () => {
    const v = await runGates({ gates: [errorRate()], wave: ['c-2-v2'], baseline: ['a-1'], windowMs: 5000, edgeStatsUrls: [base] });
    assert.equal(v.outcome, 'fail');
    assert.match(v.reason, /errorRate: error rate 20\.00% \(40\/200\)/);
    assert.equal(windows.at(-1), '5000');
    assert.equal(statsUrl(`${base}/stats`, 10), `${base}/stats?windowMs=10`);
  });

  it('passes a healthy wave and is inconclusive for a Prod without traffic or an edge that is down', async () => {
    assert.equal((await runGates({ gates: [errorRate()], wave: ['a-1'], baseline: [], windowMs: 1000, edgeStatsUrls: [base] })).outcome, 'pass');
    const none = await runGates({ gates: [errorRate()], wave: ['b-1-v2'], baseline: ['a-1'], windowMs: 1000, edgeStatsUrls: [base] });
    assert.equal(none.outcome, 'inconclusive');
    const down = await runGates({ gates: [errorRate()], wave: ['a-1'], baseline: [], windowMs: 1000, edgeStatsUrls: ['http://127.0.0.1:1'] });
    assert.equal(down.outcome, 'inconclusive');
    assert.match(down.reason, /no edge answered/);
    const noProm = await runGates({ gates: [{ type: 'promql', query: 'up', max: 1 }], wave: ['a-1'], baseline: [], windowMs: 1000, edgeStatsUrls: [] });
    assert.equal(noProm.outcome, 'inconclusive');
    assert.match(noProm.reason, /no Prometheus configured/);
  });
});
