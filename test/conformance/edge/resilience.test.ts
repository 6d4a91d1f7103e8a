/**
 * Conformance: traffic rules 5 and 6 (retry, drain on removal), plan updates without dropped
 * connections, and zero client-visible errors when a Prod (a real child process) is SIGKILLed under
 * steady load.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { client, clientAfterUpdate, dataPlanes, distribution, endpoint, get, needs, plan, spawnUpstream, type ChildUpstream, type DataPlane } from './harness.js';
import { waitFor } from '../../helpers/wait-for.js';
import { startUpstream, type UpstreamServer } from './upstream.js';

function nodeGet(agent: http.Agent, base: string, path: string): Promise<{ status: number; upstream: string | undefined; reused: boolean }> {
  return new Promise((resolve, reject) => {
    const req = http.get(base + path, { agent }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, upstream: res.headers['x-upstream'] as string | undefined, reused: req.reusedSocket }));
    });
    req.on('error', reject);
  });
}

for (const dp of dataPlanes) {
  describe(`resilience (${dp.name})`, { skip: dp.unavailable }, () => {
    const planes: DataPlane[] = [];
    const ups: UpstreamServer[] = [];
    const children: ChildUpstream[] = [];
    const agent = client();
    let a1: UpstreamServer;
    let b1: UpstreamServer;

    before(async () => {
      a1 = await startUpstream('a1');
      b1 = await startUpstream('b1');
      ups.push(a1, b1);
    });
    after(async () => {
      for (const c of children) await c.kill('SIGKILL');
      for (const p of planes) await p.stop();
      await agent.close();
      for (const u of ups) await u.close();
    });
    const startPlane = async (p: ReturnType<typeof plan>) => {
      const plane = dp.make();
      planes.push(plane);
      return { base: await plane.start(p), plane };
    };

    it('retries a refused connection once on another Prod: zero client errors, POST included', async () => {
      // A Prod the data plane has seen healthy, then gone: its port refuses connections.
      const dead = await startUpstream('dead');
      ups.push(dead);
      const { base, plane } = await startPlane(
        plan({
          endpoints: [endpoint('dead', dead.url, 'tokyo'), endpoint('b1', b1.url, 'osaka')],
          groups: [
            { domain: 'tokyo', trafficDial: 100, endpoints: [{ prod: 'dead', weight: 255 }] },
            { domain: 'osaka', trafficDial: 100, endpoints: [{ prod: 'b1', weight: 1 }] },
          ],
          // Slow active checks and high passive thresholds: the retry, not health, must save these.
          healthCheck: { path: '/healthz', intervalMs: 60_000, timeoutMs: 200, unhealthyThreshold: 3, healthyThreshold: 1 },
          passive: { connectErrors: 1000, consecutive5xx: 1000 },
        }),
      );
      await waitFor('the data plane checked dead once', () => dead.checks >= 1, { timeoutMs: 5000 });
      await dead.close();
      for (let i = 0; i < 100; i++) {
        const method = i % 2 === 0 ? 'GET' : 'POST';
        const a = await get(agent, base, '/', { 'content-type': 'text/plain' }, method, method === 'POST' ? 'x'.repeat(1000) : undefined);
        assert.equal(a.status, 200, `request ${i} (${method}) answered: ${a.body}`);
        assert.equal(a.upstream, 'b1');
        if (method === 'POST') assert.equal((JSON.parse(a.body) as { bytes: number }).bytes, 1000, 'the body arrives whole after a retry');
      }
      if (plane.healthy) assert.equal(plane.healthy('dead'), true, 'dead was never marked unhealthy: retries, not health, saved these requests');
    });

    const twoGroups = () =>
      plan({
        endpoints: [endpoint('a1', a1.url, 'tokyo'), endpoint('b1', b1.url, 'osaka')],
        groups: [{ domain: 'tokyo', trafficDial: 100, endpoints: [{ prod: 'a1', weight: 1 }] }, { domain: 'osaka', trafficDial: 0, endpoints: [{ prod: 'b1', weight: 1 }] }],
      });
    const withoutA1 = (p: ReturnType<typeof plan>) => ({ ...p, revision: 2, endpoints: [endpoint('b1', b1.url, 'osaka')], groups: [{ domain: 'osaka', trafficDial: 100, endpoints: [{ prod: 'b1', weight: 1 }] }] });

    it('a removed Prod drains: its in-flight requests finish, new requests follow the new plan', async () => {
      const p = twoGroups();
      const { base, plane } = await startPlane(p);
      assert.deepEqual([...(await distribution(agent, base, 20))], [['a1', 20]]);
      const slowAgent = client({ connections: 8 });
      const inFlight = a1.count;
      const slow = Array.from({ length: 5 }, () => get(slowAgent, base, '/?delay=600'));
      await waitFor('slow requests in flight at a1', () => a1.count >= inFlight + 5, { timeoutMs: 3000 });
      // a1 leaves the plan while five of its requests are still in flight.
      await plane.update(withoutA1(p));
      const later = clientAfterUpdate(dp, agent);
      try {
        assert.equal((await get(later, base, '/')).upstream, 'b1', 'new requests follow the new plan');
        const done = await Promise.all(slow);
        assert.deepEqual(done.map((d) => [d.status, d.upstream]), Array.from({ length: 5 }, () => [200, 'a1']), 'in-flight requests finish on the removed Prod');
        assert.deepEqual([...(await distribution(later, base, 100))], [['b1', 100]]);
      } finally {
        await slowAgent.close();
        if (later !== agent) await later.close();
      }
    });

    it('a plan update applies to keep-alive client connections that are already open', needs(dp, 'update-on-open-connections'), async () => {
      const p = twoGroups();
      const { base, plane } = await startPlane(p);
      const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 1 });
      try {
        assert.equal((await nodeGet(keepAlive, base, '/')).upstream, 'a1');
        await plane.update(withoutA1(p));
        const next = await nodeGet(keepAlive, base, '/');
        assert.equal(next.upstream, 'b1', 'the next request on the open connection follows the new plan');
        assert.equal(next.reused, true, 'on the same client connection');
      } finally {
        keepAlive.destroy();
      }
    });

    it('zero client-visible errors when one of two Prods is SIGKILLed under steady load (≥ 200 req/s, 20 s)', async () => {
      const p1 = await spawnUpstream('k1');
      const p2 = await spawnUpstream('k2');
      children.push(p1, p2);
      const { base, plane } = await startPlane(
        plan({
          endpoints: [endpoint('k1', p1.url, 'tokyo'), endpoint('k2', p2.url, 'osaka')],
          groups: [
            { domain: 'tokyo', trafficDial: 100, endpoints: [{ prod: 'k1', weight: 100 }] },
            { domain: 'osaka', trafficDial: 100, endpoints: [{ prod: 'k2', weight: 100 }] },
          ],
          healthCheck: { path: '/healthz', intervalMs: 1000, timeoutMs: 500, unhealthyThreshold: 3, healthyThreshold: 2 },
        }),
      );
      const durationMs = 20_500;
      const killAtMs = 6_000;
      const targetRps = 250;
      const load = client({ connections: 16 });
      const started = Date.now();
      let killedAt = 0;
      let lastOnKilled = 0;
      let errors = 0;
      let total = 0;
      const errorSamples: string[] = [];
      const worker = async (w: number, workers: number) => {
        // Paced: request i of this worker is due at started + (i * workers + w) / rate.
        for (let i = 0; ; i++) {
          const due = started + ((i * workers + w) * 1000) / targetRps;
          if (due - started >= durationMs) return;
          const wait = due - Date.now();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
          try {
            const a = await get(load, base, '/');
            total++;
            if (a.status !== 200) {
              errors++;
              if (errorSamples.length < 5) errorSamples.push(`${a.status} ${a.body}`);
            } else if (a.upstream === 'k1' && killedAt > 0) lastOnKilled = Date.now();
          } catch (e) {
            total++;
            errors++;
            if (errorSamples.length < 5) errorSamples.push(String(e));
          }
        }
      };
      const killer = (async () => {
        await new Promise((r) => setTimeout(r, killAtMs));
        killedAt = Date.now();
        await p1.kill('SIGKILL');
      })();
      const workers = 16;
      await Promise.all([...Array.from({ length: workers }, (_, w) => worker(w, workers)), killer]);
      const elapsed = (Date.now() - started) / 1000;
      await load.close();
      let unhealthyAfterMs: number | undefined;
      if (plane.healthy) {
        await waitFor('k1 unhealthy', () => plane.healthy!('k1') === false, { timeoutMs: 5000 });
      }
      // Time from the kill until every request lands on the healthy Prod: the data plane's own view if it
      // has one (the passive check flips on the first refused connection), else the last answer from k1.
      const flipped = plane.healthChangedAt?.('k1');
      if (flipped !== undefined) unhealthyAfterMs = flipped - killedAt;
      const rps = total / elapsed;
      console.log(
        `# [${dp.name}] SIGKILL under load: ${total} requests in ${elapsed.toFixed(1)} s (${rps.toFixed(0)} req/s), ${errors} client errors; ` +
          `all traffic on healthy Prods ${unhealthyAfterMs !== undefined ? `${unhealthyAfterMs.toFixed(0)} ms` : `by ${Math.max(0, lastOnKilled - killedAt)} ms`} after the kill`,
      );
      assert.equal(errors, 0, `client-visible errors: ${errorSamples.join(' | ')}`);
      assert.ok(rps >= 200, `steady load of at least 200 req/s (was ${rps.toFixed(0)})`);
      assert.ok(elapsed >= 20, 'for at least 20 s');
      assert.ok(killedAt > 0 && lastOnKilled - killedAt < 1000, 'answers from the killed Prod stop at once (only those already sent arrive late)');
      if (unhealthyAfterMs !== undefined) assert.ok(unhealthyAfterMs < 1000, `failover within 1 s (was ${unhealthyAfterMs} ms)`);
    });
  });
}
