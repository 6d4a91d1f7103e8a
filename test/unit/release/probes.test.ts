/** The synthetic probe runner against real HTTP servers on port 0, and how the gates judge its counts. */
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { runGates } from '../../../src/release/gates/index.js';
import { createProbeRunner, defaultProbeRate, type ProbeRequest } from '../../../src/release/probes.js';
import { waitFor } from '../../helpers/wait-for.js';

interface App {
  url: string;
  seen: IncomingHttpHeaders[];
  server: Server;
}

/** An app that answers every `failEvery`-th request with 500 (0: never). */
async function app(failEvery: number): Promise<App> {
  const seen: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    seen.push(req.headers);
    const bad = failEvery > 0 && seen.length % failEvery === 0;
    res.writeHead(bad ? 500 : 200).end(bad ? 'injected' : 'ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server };
}

describe('release probes', () => {
  const servers: Server[] = [];
  after(() => {
    for (const s of servers) {
      s.closeAllConnections();
      s.close();
    }
  });

  it('probes each target at the rate with the tenant headers, counts 5xx apart per Prod, and stops when told', async () => {
    const bad = await app(2);
    const good = await app(0);
    servers.push(bad.server, good.server);
    const runner = createProbeRunner();
    const want: ProbeRequest = {
      targets: [
        { prod: 'bad-v2', url: bad.url, headers: { host: 'qa.shop.test' } },
        { prod: 'good-v2', url: good.url, headers: { 'x-drover-tenant': 'acme' } },
        { prod: 'nowhere-v2', url: 'http://127.0.0.1:1', headers: {} },
      ],
      ratePerProd: 100,
      path: '/',
      timeoutMs: 1000,
      label: 'shop-v2/wave-0',
    };
    try {
      runner.sync('shop-v2', want);
      await waitFor('20 probes on each reachable Prod', () => {
        const r = runner.results('shop-v2', 60_000);
        return (r.stats.get('bad-v2')?.requests ?? 0) >= 20 && (r.stats.get('good-v2')?.requests ?? 0) >= 20 ? r : undefined;
      });
      const r = runner.results('shop-v2', 60_000);
      const b = r.stats.get('bad-v2')!;
      assert.ok(Math.abs(b.errors / b.requests - 0.5) < 0.1, `${b.errors}/${b.requests}`);
      assert.equal(r.stats.get('good-v2')?.errors, 0);
      assert.deepEqual(r.unreachable, ['nowhere-v2']);
      assert.equal(bad.seen[0]?.host, 'qa.shop.test');
      assert.equal(bad.seen[0]?.['x-drover-probe'], 'shop-v2/wave-0');
      assert.equal(good.seen[0]?.['x-drover-tenant'], 'acme');
      assert.ok((runner.coverageMs('shop-v2') ?? 0) > 0);
      assert.ok((runner.fewestRequests('shop-v2') ?? 0) >= 20, 'the fewest counts reachable Prods only');
      assert.equal(runner.results('shop-v2').stats.get('bad-v2')?.requests, runner.results('shop-v2', 60_000).stats.get('bad-v2')?.requests);
      runner.sync('shop-v2', undefined);
      assert.equal(runner.coverageMs('shop-v2'), undefined);
      assert.equal(runner.results('shop-v2', 60_000).stats.size, 0);
    } finally {
      await runner.close();
    }
  });

  it('stops by itself when nobody renews it (the controller that wanted it is gone)', async () => {
    const a = await app(0);
    servers.push(a.server);
    const runner = createProbeRunner({ leaseMs: 100 });
    try {
      runner.sync('r', { targets: [{ prod: 'p', url: a.url, headers: {} }], ratePerProd: 20, path: '/', timeoutMs: 500, label: 'r' });
      await waitFor('the probes to stop after their lease', () => runner.coverageMs('r') === undefined, { timeoutMs: 5000 });
    } finally {
      await runner.close();
    }
  });

  it('the default rate gives twice the gates\' minimum within one bake, 1 to 20 per second', () => {
    assert.equal(defaultProbeRate(10_000, [20]), 4);
    assert.equal(defaultProbeRate(30_000, [20]), 2);
    assert.equal(defaultProbeRate(600_000, [20]), 1);
    assert.equal(defaultProbeRate(1_000, [20]), 20);
  });

  it('gates judge probes apart from users: a failing probe fails, a passing one decides when users are too few', async () => {
    const gate = { type: 'errorRate' as const, max: 0.01, minRequests: 20 };
    const stats = (errors: number) => new Map([['w', { prod: 'w', requests: 40, errors, latencyMs: { p50: 1, p90: 1, p99: 1 } }]]);
    const base = { gates: [gate], wave: ['w'], baseline: [], windowMs: 10_000, edgeStatsUrls: [] };
    const failing = await runGates({ ...base, probes: { stats: stats(20), unreachable: [] } });
    assert.equal(failing.outcome, 'fail');
    assert.match(failing.reason, /users: no edge stats URLs configured; probes: error rate 50\.00% \(20\/40\)/);
    assert.equal((await runGates({ ...base, probes: { stats: stats(0), unreachable: [] } })).outcome, 'pass');
    const unreachable = await runGates({ ...base, probes: { stats: new Map(), unreachable: ['w'] } });
    assert.equal(unreachable.outcome, 'inconclusive');
    assert.match(unreachable.reason, /no answer from w/);
  });
});
