/** The Drover edge beyond the traffic rules: streaming, upgrades, client aborts, passive 5xx, admin API. */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Edge } from '../../../src/edge/edge.js';
import { StaticPlanSource } from '../../../src/edge/plan-source.js';
import type { EdgeStats } from '../../../src/traffic/stats.js';
import { client, endpoint, get, plan } from '../../conformance/edge/harness.js';
import { waitFor } from '../../helpers/wait-for.js';

describe('Drover edge', () => {
  let upstream: http.Server;
  let upUrl = '';
  let edge: Edge;
  let base = '';
  let admin = '';
  const agent = client();
  const seen: { aborted: number; arrived: number; halfSent?: () => void } = { aborted: 0, arrived: 0 };

  before(async () => {
    upstream = http.createServer((req, res) => {
      const path = req.url ?? '/';
      if (path === '/healthz') return void res.end('ok');
      if (path === '/hang') {
        seen.arrived++;
        res.on('close', () => {
          if (!res.writableEnded) seen.aborted++;
        });
        return;
      }
      if (path === '/half') {
        // Content-Length known, body in two parts: the first must reach the client before the second is sent.
        res.writeHead(200, { 'content-length': '10' });
        res.write('01234');
        seen.halfSent = () => res.end('56789');
        return;
      }
      if (path === '/fail') {
        res.writeHead(500);
        return void res.end('boom');
      }
      if (path === '/upload') {
        let bytes = 0;
        let chunks = 0;
        req.on('data', (c: Buffer) => {
          bytes += c.length;
          chunks++;
          // The first chunk arrives while the client is still sending: no buffering at the edge.
          if (chunks === 1) res.writeHead(200, { 'content-type': 'text/plain' });
          if (chunks === 1) res.write('first;');
        });
        req.on('end', () => res.end(`bytes=${bytes}`));
        return;
      }
      res.writeHead(200, { 'x-upstream': 'u1' });
      res.end('hello');
    });
    upstream.on('upgrade', (_req, socket: net.Socket) => {
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
      socket.pipe(socket);
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    upUrl = `http://127.0.0.1:${(upstream.address() as net.AddressInfo).port}`;
    const p = plan({
      endpoints: [endpoint('u1', upUrl, 'tokyo')],
      groups: [{ domain: 'tokyo', trafficDial: 100, endpoints: [{ prod: 'u1', weight: 1 }] }],
      passive: { connectErrors: 1, consecutive5xx: 3 },
      healthCheck: { path: '/healthz', intervalMs: 60_000, timeoutMs: 200, unhealthyThreshold: 2, healthyThreshold: 1 },
    });
    edge = new Edge({ source: new StaticPlanSource([p]), listen: { host: '127.0.0.1', port: 0 }, adminListen: { host: '127.0.0.1', port: 0 }, id: 'edge-test' });
    ({ url: base, adminUrl: admin } = await edge.start());
  });
  after(async () => {
    await edge.stop();
    await agent.close();
    upstream.closeAllConnections();
    await new Promise<void>((r) => upstream.close(() => r()));
  });

  it('streams request bodies to the upstream as they arrive', async () => {
    const text = await new Promise<string>((resolve, reject) => {
      const req = http.request(`${base}/upload`, { method: 'POST', headers: { 'transfer-encoding': 'chunked' } }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          body += c;
          // Only finish sending once the upstream has answered the first chunk through the edge.
          if (body === 'first;') req.end('y'.repeat(100_000));
        });
        res.on('end', () => resolve(body));
      });
      req.on('error', reject);
      req.write('x'.repeat(1000));
    });
    assert.equal(text, 'first;bytes=101000');
  });

  it('passes WebSocket upgrades both ways', async () => {
    const sock = net.connect(Number(new URL(base).port), '127.0.0.1');
    sock.write('GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\r\n');
    let buf = '';
    sock.setEncoding('utf8');
    sock.on('data', (c: string) => (buf += c));
    await waitFor('101 from the upstream through the edge', () => buf.includes('\r\n\r\n'), { timeoutMs: 3000 });
    assert.match(buf, /^HTTP\/1.1 101/);
    assert.match(buf, /x-drover-prod: u1/i);
    const after101 = buf.length;
    sock.write('ping-frame');
    await waitFor('echo through the tunnel', () => buf.slice(after101).includes('ping-frame'), { timeoutMs: 3000 });
    sock.destroy();
  });

  it('a client abort aborts the upstream request', async () => {
    const before = { ...seen };
    const req = http.get(`${base}/hang`);
    req.on('error', () => {});
    await waitFor('the request reached the upstream', () => seen.arrived > before.arrived, { timeoutMs: 3000 });
    req.destroy();
    await waitFor('the upstream request is closed', () => seen.aborted > before.aborted, { timeoutMs: 3000 });
  });

  it('relays a Content-Length body that arrives in parts as it arrives (only a whole one-chunk body is sent with the head)', async () => {
    const got = await new Promise<string>((resolve, reject) => {
      http
        .get(`${base}/half`, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => {
            body += c;
            if (body === '01234') seen.halfSent?.();
          });
          res.on('end', () => resolve(body));
        })
        .on('error', reject);
    });
    assert.equal(got, '0123456789', 'both parts, the second sent only after the first arrived through the edge');
    const head = await get(agent, base, '/', {}, 'HEAD');
    assert.equal(head.status, 200, 'HEAD passes');
    assert.equal(head.body, '', 'HEAD has no body');
  });

  it('answers 504 when a Prod does not start answering within --response-timeout, and aborts it', async () => {
    const quick = new Edge({ source: new StaticPlanSource([plan({ endpoints: [endpoint('u1', upUrl, 'tokyo')], groups: [{ domain: 'tokyo', trafficDial: 100, endpoints: [{ prod: 'u1', weight: 1 }] }], healthCheck: { path: '/healthz', intervalMs: 60_000, timeoutMs: 200, unhealthyThreshold: 2, healthyThreshold: 1 } })]), listen: { host: '127.0.0.1', port: 0 }, adminListen: false, responseTimeoutMs: 300 });
    const { url } = await quick.start();
    try {
      const before = { ...seen };
      const t0 = Date.now();
      const a = await get(agent, url, '/hang');
      const waited = Date.now() - t0;
      assert.equal(a.status, 504, `504 after the response timeout, got ${a.status} ${a.body}`);
      assert.match(a.body, /DROVER_E_GATEWAY_TIMEOUT/, 'the body names the error');
      assert.match(a.body, /did not start answering within 300 ms/, 'the body says what happened');
      assert.ok(waited >= 280 && waited < 3000, `answered after the timeout, not before or much later (${waited} ms)`);
      assert.equal(seen.arrived, before.arrived + 1, 'not retried on another attempt');
      await waitFor('the upstream request is closed', () => seen.aborted > before.aborted, { timeoutMs: 3000 });
    } finally {
      await quick.stop();
    }
  });

  it('answers admin /stats, /metrics, /healthz and /plan', async () => {
    for (let i = 0; i < 20; i++) assert.equal((await get(agent, base, '/')).status, 200);
    const stats = (await (await fetch(`${admin}/stats?windowMs=60000`)).json()) as EdgeStats;
    assert.equal(stats.edge, 'edge-test');
    assert.equal(stats.windowMs, 60_000);
    const u1 = stats.prods.find((p) => p.prod === 'u1');
    assert.ok(u1 && u1.requests >= 20, JSON.stringify(stats));
    assert.ok(u1.latencyMs.p99 >= u1.latencyMs.p50 && u1.latencyMs.p50 > 0);
    const metrics = await (await fetch(`${admin}/metrics`)).text();
    assert.match(metrics, /drover_edge_requests_total\{prod="u1",code="200"\} \d+/);
    assert.match(metrics, /drover_edge_request_duration_seconds_bucket\{le="0.005",prod="u1"\}/);
    assert.match(metrics, /drover_edge_endpoint_healthy\{prod="u1"\} 1/);
    const hz = (await (await fetch(`${admin}/healthz`)).json()) as { ok: boolean; plans: { fleet: string }[] };
    assert.equal(hz.ok, true);
    assert.deepEqual(hz.plans.map((p) => p.fleet), ['web']);
    const planDoc = (await (await fetch(`${admin}/plan`)).json()) as { plans: { fleet: string }[]; health: Record<string, boolean> };
    assert.deepEqual(planDoc.health, { u1: true });
    const bad = await fetch(`${admin}/stats?windowMs=abc`);
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { field: string }).field, 'windowMs');
  });

  it('a burst of 5xx marks the Prod unhealthy (passive); then nothing healthy → 503', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await get(agent, base, '/fail')).status, 500);
    assert.equal(edge.healthState().u1, false);
    const a = await get(agent, base, '/');
    assert.equal(a.status, 503);
    assert.equal((JSON.parse(a.body) as { code: string }).code, 'DROVER_E_UNAVAILABLE');
    const stats = (await (await fetch(`${admin}/stats?windowMs=60000`)).json()) as EdgeStats;
    assert.ok((stats.prods.find((p) => p.prod === 'u1')?.errors ?? 0) >= 3);
  });
});
