/**
 * Conformance: a non-redundant tenant whose only Prod (a real child process) is SIGKILLed under steady
 * load is served at once, with no client-visible error, by its plan `fallback` — the Prod the scheduler
 * will move it to — and not spread over the fleet's failover pool. The plan never changes here: all of
 * it happens before any control plane could reassign the tenant.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { client, dataPlanes, endpoint, get, plan, spawnUpstream, type ChildUpstream, type DataPlane } from './harness.js';
import { waitFor } from '../../helpers/wait-for.js';
import { startUpstream, type UpstreamServer } from './upstream.js';

for (const dp of dataPlanes) {
  describe(`per-tenant fallback (${dp.name})`, { skip: dp.unavailable }, () => {
    const planes: DataPlane[] = [];
    const ups: UpstreamServer[] = [];
    const children: ChildUpstream[] = [];
    const agent = client({ connections: 8 });
    after(async () => {
      for (const c of children) await c.kill('SIGKILL');
      for (const p of planes) await p.stop();
      await agent.close();
      for (const u of ups) await u.close();
    });

    it("a tenant's dead cluster: 0 failed requests, all on its fallback within a second", async () => {
      const a = await spawnUpstream('a');
      children.push(a);
      const b = await startUpstream('b');
      const c = await startUpstream('c');
      ups.push(b, c);
      const plane = dp.make();
      planes.push(plane);
      const base = await plane.start(
        plan({
          endpoints: [endpoint('a', a.url, 'tokyo'), endpoint('b', b.url, 'osaka'), endpoint('c', c.url, 'oregon')],
          // Without the fallback, the fleet's failover pool would send almost everything to c.
          groups: [
            { domain: 'tokyo', trafficDial: 100, endpoints: [{ prod: 'a', weight: 128 }] },
            { domain: 'osaka', trafficDial: 100, endpoints: [{ prod: 'b', weight: 1 }] },
            { domain: 'oregon', trafficDial: 100, endpoints: [{ prod: 'c', weight: 255 }] },
          ],
          tenants: [{ name: 'shop', hosts: ['shop.test'], redundancy: 1, prods: ['a'], fallback: ['b'] }],
          // A refused connection takes a out at once; the checks are lenient so that a loaded test
          // machine cannot fail the in-process upstreams' checks.
          healthCheck: { path: '/healthz', intervalMs: 200, timeoutMs: 2000, unhealthyThreshold: 3, healthyThreshold: 2 },
        }),
      );
      const answers: { at: number; status: number; upstream: string | undefined }[] = [];
      let killedAt = Infinity;
      let running = true;
      const load = Array.from({ length: 8 }, async () => {
        while (running) {
          const r = await get(agent, base, '/', { host: 'shop.test' });
          answers.push({ at: performance.now(), status: r.status, upstream: r.upstream });
        }
      });
      await waitFor('traffic on a', () => answers.filter((x) => x.upstream === 'a').length >= 50, { timeoutMs: 10_000 });
      killedAt = performance.now();
      await a.kill('SIGKILL');
      await waitFor('traffic after the kill', () => answers.filter((x) => x.at > killedAt + 1000).length >= 100, { timeoutMs: 15_000 });
      running = false;
      await Promise.all(load);
      const failed = answers.filter((x) => x.status !== 200);
      assert.equal(failed.length, 0, `failed: ${JSON.stringify(failed.slice(0, 5))}`);
      const afterKill = answers.filter((x) => x.at > killedAt);
      const firstOnB = afterKill.find((x) => x.upstream === 'b');
      assert.ok(firstOnB && firstOnB.at - killedAt < 1000, 'served by the fallback within a second');
      // Once a was out: b only, never the fleet's pool.
      const settled = afterKill.filter((x) => x.at > killedAt + 1000);
      assert.deepEqual([...new Set(settled.map((x) => x.upstream))], ['b']);
      // HAProxy redispatches a retry over the backend's balancing (its declared limit): the requests in
      // flight at the kill may land on the pool; the Drover edge retries on the tenant's fallback.
      if (dp.name === 'drover-edge') assert.equal(afterKill.filter((x) => x.upstream === 'c').length, 0, 'nothing went to the failover pool');
    });
  });
}
