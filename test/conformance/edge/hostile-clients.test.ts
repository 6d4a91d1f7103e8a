/**
 * Conformance: clients that misbehave. Hop-by-hop headers stay on their hop (RFC 9110 §7.6.1), a request
 * with two Host headers is the client's mistake (400, RFC 9112 §3.2) and reaches no Prod, and a request
 * body trickled in byte by byte is answered 408 after the policy's body timeout without holding the
 * Prod, while other clients of the same Prod are served meanwhile.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { client, dataPlanes, endpoint, get, needs, plan, type DataPlane } from './harness.js';
import { rawRequest } from './raw-client.js';
import { startUpstream, type UpstreamServer } from './upstream.js';
import { waitFor } from '../../helpers/wait-for.js';

for (const dp of dataPlanes) {
  describe(`hostile clients (${dp.name})`, { skip: dp.unavailable }, () => {
    let up: UpstreamServer;
    let plane: DataPlane;
    let base: string;
    const agent = client();

    before(async () => {
      up = await startUpstream('a1');
      plane = dp.make();
      base = await plane.start(
        plan({
          endpoints: [endpoint('a1', up.url, 'tokyo')],
          groups: [{ domain: 'tokyo', trafficDial: 100, endpoints: [{ prod: 'a1', weight: 1 }] }],
          timeouts: { requestBodyMs: 1000 },
          // Lenient checks: these tests are about clients, and a loaded machine must not fail the Prod.
          healthCheck: { path: '/healthz', intervalMs: 500, timeoutMs: 2000, unhealthyThreshold: 10, healthyThreshold: 1 },
        }),
      );
      // The plane serves before the tests start.
      await waitFor('the data plane answers', async () => (await get(agent, base, '/').catch(() => ({ status: 0 }))).status === 200, { timeoutMs: 10_000 });
    });
    after(async () => {
      await plane?.stop();
      await agent.close();
      await up?.close();
    });

    it('forwards none of the standard hop-by-hop headers, in either direction', async () => {
      const a = await rawRequest(
        base,
        'GET /?echo=headers HTTP/1.1\r\nHost: shop.test\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\nTrailer: x-sum\r\nProxy-Authorization: Basic eDp5\r\n' +
          'Proxy-Connection: keep-alive\r\nX-Kept: yes\r\nConnection: close\r\n\r\n',
      );
      assert.equal(a.status, 200, a.body);
      const seen = (JSON.parse(a.body) as { headers: string[] }).headers.filter((_, i) => i % 2 === 0).map((h) => h.toLowerCase());
      for (const h of ['keep-alive', 'te', 'trailer', 'proxy-authorization', 'proxy-connection']) assert.ok(!seen.includes(h), `the Prod received ${h}: ${seen.join(', ')}`);
      assert.ok(seen.includes('x-kept'), 'an ordinary header is forwarded');
    });

    it('forwards no header a Connection header names, in either direction', needs(dp, 'connection-named-headers'), async () => {
      const a = await rawRequest(base, 'GET /?echo=headers&hop=1 HTTP/1.1\r\nHost: shop.test\r\nConnection: keep-alive, X-Secret\r\nX-Secret: for the edge only\r\nX-Kept: yes\r\n\r\n');
      assert.equal(a.status, 200, a.body);
      const seen = (JSON.parse(a.body) as { headers: string[] }).headers.filter((_, i) => i % 2 === 0).map((h) => h.toLowerCase());
      assert.ok(!seen.includes('x-secret'), `the Prod received the header the client's Connection named: ${seen.join(', ')}`);
      assert.ok(seen.includes('x-kept'), 'an ordinary header is forwarded');
      assert.equal(a.headers.get('x-hop'), undefined, "the header the Prod's Connection named is not relayed to the client");
    });

    it('answers a request with two Host headers 400 without sending it to a Prod', async () => {
      const before = up.count;
      const a = await rawRequest(base, 'GET / HTTP/1.1\r\nHost: shop.test\r\nHost: other.test\r\nConnection: close\r\n\r\n');
      assert.equal(a.status, 400, a.body);
      assert.equal(up.count, before, 'the Prod saw nothing');
    });

    it('answers a trickled request body 408 after the body timeout and serves other clients meanwhile', needs(dp, 'request-body-timeout'), async () => {
      const countBefore = up.count;
      const slow = Array.from({ length: 12 }, () =>
        rawRequest(base, 'POST / HTTP/1.1\r\nHost: shop.test\r\nContent-Type: text/plain\r\nContent-Length: 64\r\n\r\n', { trickle: 'x'.repeat(64), everyMs: 100, timeoutMs: 15_000 }),
      );
      // While the slow bodies trickle (6.4 s if nobody cut them off), a normal client is served.
      let gets = 0;
      const t0 = Date.now();
      while (Date.now() - t0 < 800) {
        const s = Date.now();
        const a = await get(agent, base, '/');
        assert.equal(a.status, 200);
        assert.ok(Date.now() - s < 2000, `a normal request took ${Date.now() - s} ms while slow clients trickled`);
        gets++;
      }
      const answers = await Promise.all(slow);
      for (const a of answers) {
        assert.equal(a.status, 408, `a trickled body was answered ${a.status}: ${a.body}`);
        assert.ok(a.ms < 5000, `the 408 came after ${a.ms} ms (body timeout 1000 ms)`);
      }
      // Whatever of the slow requests reached the Prod was aborted: nothing of them stays open there.
      await waitFor('every slow request that reached the Prod was aborted', () => up.count - countBefore - gets === up.aborted, { timeoutMs: 5000 });
    });
  });
}
