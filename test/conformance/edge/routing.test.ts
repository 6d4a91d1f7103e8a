/**
 * Conformance: traffic rules 1–4 (tenant match, affinity, dials and weights, health, failover, fail
 * mode) against a real data plane and real upstream HTTP servers on loopback.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { client, clientAfterUpdate, dataPlanes, distribution, endpoint, get, plan, type DataPlane } from './harness.js';
import { waitFor } from '../../helpers/wait-for.js';
import { startUpstream, type UpstreamServer } from './upstream.js';

const share = (m: Map<string, number>, k: string, n: number) => ((m.get(k) ?? 0) * 100) / n;

for (const dp of dataPlanes) {
  describe(`traffic rules (${dp.name})`, { skip: dp.unavailable }, () => {
    const ups = new Map<string, UpstreamServer>();
    const planes: DataPlane[] = [];
    const agent = client();
    const url = (n: string) => ups.get(n)!.url;

    before(async () => {
      for (const n of ['a1', 'a2', 'b1', 'b2', 'c1', 'd1']) ups.set(n, await startUpstream(n));
    });
    after(async () => {
      for (const p of planes) await p.stop();
      await agent.close();
      for (const u of ups.values()) await u.close();
    });
    const startPlane = async (p: ReturnType<typeof plan>): Promise<{ base: string; plane: DataPlane }> => {
      for (const u of ups.values()) u.healthy = true;
      const plane = dp.make();
      planes.push(plane);
      return { base: await plane.start(p), plane };
    };
    const healthySeen = async (base: string, prod: string, healthy: boolean, plane: DataPlane) => {
      if (plane.healthy) await waitFor(`${prod} ${healthy ? 'healthy' : 'unhealthy'} at the data plane`, () => plane.healthy!(prod) === healthy, { timeoutMs: 5000 });
      else await waitFor(`${prod} ${healthy ? 'served' : 'not served'}`, async () => (await distribution(agent, base, 50)).has(prod) === healthy, { timeoutMs: 10_000 });
    };

    it('spreads unmatched traffic by dial and weight within ±3 points over 10,000 requests', async () => {
      const { base } = await startPlane(
        plan({
          endpoints: [endpoint('a1', url('a1'), 'tokyo'), endpoint('a2', url('a2'), 'tokyo'), endpoint('b1', url('b1'), 'osaka')],
          groups: [
            { domain: 'tokyo', trafficDial: 100, endpoints: [{ prod: 'a1', weight: 200 }, { prod: 'a2', weight: 50 }] },
            { domain: 'osaka', trafficDial: 100, endpoints: [{ prod: 'b1', weight: 100 }] },
          ],
        }),
      );
      const n = 10_000;
      const d = await distribution(agent, base, n, 48);
      assert.equal((d.get('a1') ?? 0) + (d.get('a2') ?? 0) + (d.get('b1') ?? 0), n, `every request answered by an upstream: ${JSON.stringify([...d])}`);
      assert.ok(Math.abs(share(d, 'a1', n) - 40) <= 3, `a1 ${share(d, 'a1', n)}% vs 40%`);
      assert.ok(Math.abs(share(d, 'a2', n) - 10) <= 3, `a2 ${share(d, 'a2', n)}% vs 10%`);
      assert.ok(Math.abs(share(d, 'b1', n) - 50) <= 3, `b1 ${share(d, 'b1', n)}% vs 50%`);
    });

    it('a dial-0 group gets nothing until the other group fails, then everything', async () => {
      const { base, plane } = await startPlane(
        plan({
          endpoints: [endpoint('a1', url('a1'), 'tokyo'), endpoint('b1', url('b1'), 'osaka')],
          groups: [
            { domain: 'tokyo', trafficDial: 100, endpoints: [{ prod: 'a1', weight: 128 }] },
            { domain: 'osaka', trafficDial: 0, endpoints: [{ prod: 'b1', weight: 128 }] },
          ],
        }),
      );
      const before = await distribution(agent, base, 300);
      assert.deepEqual([...before], [['a1', 300]]);
      ups.get('a1')!.healthy = false;
      await healthySeen(base, 'a1', false, plane);
      const afterFail = await distribution(agent, base, 300);
      assert.deepEqual([...afterFail], [['b1', 300]]);
      ups.get('a1')!.healthy = true;
      await healthySeen(base, 'a1', true, plane);
      assert.deepEqual([...(await distribution(agent, base, 200))], [['a1', 200]]);
    });

    it("an all-unhealthy group's share goes to the other groups by weight, ignoring dials", async () => {
      const { base, plane } = await startPlane(
        plan({
          endpoints: [endpoint('a1', url('a1'), 'tokyo'), endpoint('b1', url('b1'), 'osaka'), endpoint('c1', url('c1'), 'nagoya')],
          groups: [
            { domain: 'tokyo', trafficDial: 50, endpoints: [{ prod: 'a1', weight: 100 }] },
            { domain: 'osaka', trafficDial: 100, endpoints: [{ prod: 'b1', weight: 200 }] },
            { domain: 'nagoya', trafficDial: 0, endpoints: [{ prod: 'c1', weight: 100 }] },
          ],
        }),
      );
      const n = 2000;
      const d0 = await distribution(agent, base, n);
      assert.ok(Math.abs(share(d0, 'a1', n) - 33.3) <= 3 && Math.abs(share(d0, 'b1', n) - 66.7) <= 3 && !d0.has('c1'), JSON.stringify([...d0]));
      ups.get('a1')!.healthy = false;
      await healthySeen(base, 'a1', false, plane);
      const d1 = await distribution(agent, base, n);
      // osaka keeps its 2/3 and takes 2/3 of tokyo's third; nagoya (dial 0) takes the other 1/3 of it.
      assert.ok(!d1.has('a1'), JSON.stringify([...d1]));
      assert.ok(Math.abs(share(d1, 'b1', n) - 88.9) <= 3, `b1 ${share(d1, 'b1', n)}% vs 88.9%`);
      assert.ok(Math.abs(share(d1, 'c1', n) - 11.1) <= 3, `c1 ${share(d1, 'c1', n)}% vs 11.1%`);
    });

    it('drained and non-failover-target Prods never get failover traffic; nothing healthy answers 503 (failClosed)', async () => {
      const p = plan({
        endpoints: [
          endpoint('a1', url('a1'), 'tokyo'),
          endpoint('b1', url('b1'), 'osaka', { failoverTarget: false }),
          endpoint('b2', url('b2'), 'osaka', { state: 'draining', failoverTarget: false }),
          endpoint('c1', url('c1'), 'nagoya'),
        ],
        groups: [
          { domain: 'tokyo', trafficDial: 100, endpoints: [{ prod: 'a1', weight: 100 }] },
          { domain: 'osaka', trafficDial: 0, endpoints: [{ prod: 'b1', weight: 100 }, { prod: 'b2', weight: 100 }] },
          { domain: 'nagoya', trafficDial: 0, endpoints: [{ prod: 'c1', weight: 100 }] },
        ],
        tenants: [{ name: 'shop', hosts: ['shop.example.com'], redundancy: 1, prods: ['a1'] }],
      });
      const { base, plane } = await startPlane(p);
      ups.get('a1')!.healthy = false;
      await healthySeen(base, 'a1', false, plane);
      assert.deepEqual([...(await distribution(agent, base, 300))], [['c1', 300]]);
      assert.deepEqual([...(await distribution(agent, base, 100, 16, { host: 'shop.example.com' }))], [['c1', 100]]);
      ups.get('c1')!.healthy = false;
      await healthySeen(base, 'c1', false, plane);
      const d = await distribution(agent, base, 200);
      assert.deepEqual([...d], [['status:503', 200]], 'b1 (not a failover target) and b2 (draining) stay out');
      const a = await get(agent, base, '/');
      assert.equal(a.status, 503);
      const body = JSON.parse(a.body) as { code: string; message: string; fix?: string };
      assert.equal(body.code, 'DROVER_E_UNAVAILABLE');
      assert.match(body.message, /no healthy Prod/);
      assert.ok(body.fix);
      // failOpen: the unhealthy ones are tried instead.
      await plane.update({ ...p, revision: 2, failMode: 'failOpen' });
      const later = clientAfterUpdate(dp, agent);
      const open = await distribution(later, base, 200);
      if (later !== agent) await later.close();
      assert.equal((open.get('a1') ?? 0) + (open.get('c1') ?? 0), 200, JSON.stringify([...open]));
      assert.ok(!open.has('b2'), 'draining is never chosen');
    });

    it('matches tenants by exact host, wildcard host, then header; the rest go to the groups', async () => {
      const { base } = await startPlane(
        plan({
          endpoints: ['a1', 'b1', 'c1', 'd1'].map((n) => endpoint(n, url(n), 'tokyo')),
          groups: [{ domain: 'tokyo', trafficDial: 100, endpoints: [{ prod: 'd1', weight: 1 }] }],
          tenants: [
            { name: 'shop', hosts: ['shop.example.com'], redundancy: 1, prods: ['a1'] },
            { name: 'wild', hosts: ['*.wild.example.com'], redundancy: 1, prods: ['b1'] },
            { name: 'gold', hosts: [], header: { name: 'x-drover-tenant', value: 'gold' }, redundancy: 1, prods: ['c1'] },
          ],
        }),
      );
      const at = async (headers: Record<string, string>) => (await get(agent, base, '/', headers)).upstream;
      assert.equal(await at({ host: 'shop.example.com' }), 'a1');
      assert.equal(await at({ host: 'SHOP.example.com:8080' }), 'a1');
      assert.equal(await at({ host: 'x.wild.example.com' }), 'b1');
      assert.equal(await at({ host: 'wild.example.com' }), 'd1', 'a wildcard needs one more label');
      assert.equal(await at({ host: 'other.example.com', 'x-drover-tenant': 'gold' }), 'c1');
      assert.equal(await at({ host: 'shop.example.com', 'x-drover-tenant': 'gold' }), 'a1', 'host wins over header');
      assert.equal(await at({ host: 'other.example.com' }), 'd1');
      const a = await get(agent, base, '/', { host: 'shop.example.com' });
      const echo = JSON.parse(a.body) as { xff: string; xfproto: string; xfhost: string; host: string };
      assert.equal(a.headers['x-drover-prod'], 'a1');
      assert.equal(echo.xff, '127.0.0.1');
      assert.equal(echo.xfproto, 'http');
      assert.equal(echo.xfhost, 'shop.example.com');
      assert.equal(echo.host, 'shop.example.com');
    });

    it('redundancy 2: both Prods serve, each client stays on one (client IP, then cookie affinity)', async () => {
      const p = plan({
        endpoints: [endpoint('a1', url('a1'), 'tokyo'), endpoint('b1', url('b1'), 'osaka')],
        groups: [],
        tenants: [{ name: 'shop', hosts: ['shop.example.com'], redundancy: 2, prods: ['a1', 'b1'] }],
      });
      const { base, plane } = await startPlane(p);
      const seen = new Set<string>();
      for (let i = 2; i < 22; i++) {
        const c = client({ localAddress: `127.0.0.${i}`, connections: 2 });
        const d = await distribution(c, base, 20, 4, { host: 'shop.example.com' });
        await c.close();
        assert.equal(d.size, 1, `client 127.0.0.${i} stayed on one Prod: ${JSON.stringify([...d])}`);
        seen.add([...d.keys()][0]!);
      }
      assert.deepEqual([...seen].sort(), ['a1', 'b1'], 'both Prods serve (active-active)');

      await plane.update({ ...p, revision: 2, affinity: 'cookie' });
      const later = clientAfterUpdate(dp, agent);
      const cookieSeen = new Set<string>();
      for (let i = 0; i < 16; i++) {
        const first = await get(later, base, '/', { host: 'shop.example.com' });
        const setCookie = String(first.headers['set-cookie'] ?? '');
        assert.match(setCookie, /drover-affinity=/);
        const cookie = setCookie.split(';')[0]!;
        for (let j = 0; j < 10; j++) {
          const again = await get(later, base, '/', { host: 'shop.example.com', cookie });
          assert.equal(again.upstream, first.upstream, 'the cookie keeps the client on its Prod');
          assert.equal(again.headers['set-cookie'], undefined);
        }
        cookieSeen.add(first.upstream!);
      }
      if (later !== agent) await later.close();
      assert.deepEqual([...cookieSeen].sort(), ['a1', 'b1']);
    });
  });
}
