/**
 * The Drover edge under clients that misbehave, beyond what the conformance suite asks of every data
 * plane: slow-loris bodies cannot starve a Prod's connection pool, a slow request head gets 408, streamed
 * slow uploads are capped per Prod and aborted upstream on 408, and a client's own mistakes are counted
 * as client errors — never in the per-Prod `/stats` the release gates read.
 */
import assert from 'node:assert/strict';
import { after, afterEach, describe, it } from 'node:test';
import { Edge, type EdgeOptions } from '../../../src/edge/edge.js';
import { StaticPlanSource } from '../../../src/edge/plan-source.js';
import type { EdgeStats } from '../../../src/traffic/stats.js';
import { client, endpoint, get, plan } from '../../conformance/edge/harness.js';
import { waitFor } from '../../helpers/wait-for.js';
import { rawRequest } from '../../conformance/edge/raw-client.js';
import { startUpstream, type UpstreamServer } from '../../conformance/edge/upstream.js';

const lenientChecks = { path: '/healthz', intervalMs: 500, timeoutMs: 2000, unhealthyThreshold: 10, healthyThreshold: 1 };

describe('Drover edge under hostile clients', () => {
  const agent = client();
  let up: UpstreamServer | undefined;
  let edge: Edge | undefined;

  async function start(opts: Partial<EdgeOptions>): Promise<{ base: string; admin: string; up: UpstreamServer }> {
    up = await startUpstream('a1');
    const source = new StaticPlanSource([
      plan({ endpoints: [endpoint('a1', up.url, 'tokyo')], groups: [{ domain: 'tokyo', trafficDial: 100, endpoints: [{ prod: 'a1', weight: 1 }] }], healthCheck: lenientChecks }),
    ]);
    edge = new Edge({ source, listen: { host: '127.0.0.1', port: 0 }, adminListen: { host: '127.0.0.1', port: 0 }, ...opts });
    const { url, adminUrl } = await edge.start();
    return { base: url, admin: adminUrl, up };
  }
  afterEach(async () => {
    await edge?.stop();
    await up?.close();
    edge = undefined;
    up = undefined;
  });
  after(async () => agent.close());

  const stats = async (admin: string) => (await (await fetch(`${admin}/stats?windowMs=60000`)).json()) as EdgeStats;
  const metric = async (admin: string, line: string) => {
    const text = await (await fetch(`${admin}/metrics`)).text();
    return Number(new RegExp(`^${line.replace(/[{}"]/g, (c) => `\\${c}`)} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
  };

  it('serves a normal client promptly while more slow-body clients than the Prod has connections trickle, and answers them 408', async () => {
    // Four connections to the Prod; sixteen clients each trickling a 64-byte body over 6.4 s. Holding a
    // connection each (as the edge did), they would leave none for anyone else until they finished.
    const { base, admin, up } = await start({ maxSocketsPerUpstream: 4, bodyTimeoutMs: 1500 });
    const slow = Array.from({ length: 16 }, () =>
      rawRequest(base, 'POST / HTTP/1.1\r\nHost: shop.test\r\nContent-Length: 64\r\n\r\n', { trickle: 'x'.repeat(64), everyMs: 100, timeoutMs: 15_000 }),
    );
    let worst = 0;
    const t0 = Date.now();
    for (let i = 0; i < 200 && Date.now() - t0 < 1000; i++) {
      const s = Date.now();
      const a = await get(agent, base, '/');
      assert.equal(a.status, 200);
      worst = Math.max(worst, Date.now() - s);
    }
    assert.ok(worst < 1000, `a normal request waited ${worst} ms behind slow clients`);
    const answers = await Promise.all(slow);
    for (const a of answers) {
      assert.equal(a.status, 408, a.body);
      assert.equal((JSON.parse(a.body) as { code: string }).code, 'DROVER_E_REQUEST_TIMEOUT');
      assert.equal(a.headers.get('connection')?.[0], 'close');
    }
    assert.equal(up.aborted, 0, 'the slow bodies never reached the Prod (buffered at the edge)');
    const a1 = (await stats(admin)).prods.find((p) => p.prod === 'a1');
    assert.equal(a1?.errors, 0, 'slow clients are not the Prod\'s errors');
    assert.equal(await metric(admin, 'drover_edge_client_errors_total{reason="body_timeout"}'), 16);
  });

  it('aborts the upstream request of a streamed (chunked) body that times out, and caps streamed bodies per Prod', async () => {
    const { base, admin, up } = await start({ bodyTimeoutMs: 1000, maxStreamingBodiesPerProd: 2 });
    const chunked = () => rawRequest(base, 'POST / HTTP/1.1\r\nHost: shop.test\r\nTransfer-Encoding: chunked\r\n\r\n', { trickle: '1\r\nx\r\n'.repeat(40), everyMs: 50, timeoutMs: 15_000 });
    const first = [chunked(), chunked()];
    await waitFor('both streamed bodies reached the Prod', () => up.count >= 2, { timeoutMs: 5000 });
    const third = await chunked();
    assert.equal(third.status, 503, third.body);
    assert.match(third.body, /streamed request bodies/);
    const answers = await Promise.all(first);
    for (const a of answers) assert.equal(a.status, 408, a.body);
    await waitFor('the Prod saw both upstream requests aborted', () => up.aborted === 2, { timeoutMs: 5000 });
    // The slots are free again: a streamed body that arrives in time is served.
    const ok = await rawRequest(base, 'POST / HTTP/1.1\r\nHost: shop.test\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n');
    assert.equal(ok.status, 200, ok.body);
    assert.equal((await stats(admin)).prods.find((p) => p.prod === 'a1')?.errors, 0);
  });

  it('answers a request head that does not arrive in time 408', async () => {
    const { base, admin } = await start({ headerTimeoutMs: 500 });
    const a = await rawRequest(base, 'GET / HTTP/1.1\r\nHost: shop.test\r\n', { timeoutMs: 10_000 });
    assert.equal(a.status, 408, a.body);
    assert.equal((JSON.parse(a.body) as { code: string }).code, 'DROVER_E_REQUEST_TIMEOUT');
    assert.ok(a.ms < 5000, `408 after ${a.ms} ms`);
    assert.equal(await metric(admin, 'drover_edge_client_errors_total{reason="header_timeout"}'), 1);
  });

  it('answers two Host headers 400 and counts it as a client error, not as the Prod\'s', async () => {
    const { base, admin, up } = await start({});
    for (let i = 0; i < 3; i++) {
      const a = await rawRequest(base, 'GET / HTTP/1.1\r\nHost: shop.test\r\nHost: other.test\r\nConnection: close\r\n\r\n');
      assert.equal(a.status, 400, a.body);
      assert.equal((JSON.parse(a.body) as { code: string }).code, 'DROVER_E_BAD_REQUEST');
    }
    assert.equal((await get(agent, base, '/')).status, 200);
    assert.equal(up.count, 1, 'only the good request reached the Prod');
    const a1 = (await stats(admin)).prods.find((p) => p.prod === 'a1');
    assert.deepEqual({ requests: a1?.requests, errors: a1?.errors }, { requests: 1, errors: 0 });
    assert.equal(await metric(admin, 'drover_edge_client_errors_total{reason="bad_request"}'), 3);
  });
});
