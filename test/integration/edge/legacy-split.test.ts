/**
 * The edge's legacy endpoint set (a Migration on the edge), on real sockets: a covered tenant's users are
 * split between its fleet Prod and the legacy backend by the hash of their affinity cookie — measured
 * shares within ±3 % over 5,000 users, each user staying on its side, nobody going from the fleet back
 * to legacy while the weight grows, everyone on legacy in one plan update at 0 %, legacy endpoints
 * health-checked (a dead one hands its users to the fleet) and counted in /stats like a Prod.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { PlanLegacy, TrafficPlanSpec } from '../../../src/api/kinds/traffic-plan.js';
import { Edge } from '../../../src/edge/edge.js';
import { StaticPlanSource } from '../../../src/edge/plan-source.js';
import { client, endpoint, get, plan } from '../../conformance/edge/harness.js';
import { startUpstream, type UpstreamServer } from '../../conformance/edge/upstream.js';
import { waitFor } from '../../helpers/wait-for.js';

const HOST = { host: 'shop.test' };
const USERS = 5_000;

describe('edge: legacy endpoint set of a migration', () => {
  let fleetUp: UpstreamServer;
  let legacyUp: UpstreamServer;
  let otherUp: UpstreamServer;
  let edge: Edge;
  let url = '';
  let adminUrl = '';
  const source = new StaticPlanSource();
  const agent = client({ connections: 32 });
  let revision = 1;

  const legacy = (fleetPercent: number, extra: Partial<PlanLegacy> = {}): PlanLegacy => ({
    migration: 'mig',
    affinity: 'cookie',
    endpoints: [{ name: 'legacy:mig:0', url: legacyUp.url, healthPath: '/healthz' }],
    tenants: ['shop'],
    fleetPercent,
    ...extra,
  });
  const planWith = (l: PlanLegacy[] | undefined): TrafficPlanSpec =>
    plan({
      revision: revision++,
      endpoints: [endpoint('web-1', fleetUp.url, 'tokyo'), endpoint('web-2', otherUp.url, 'osaka')],
      groups: [{ domain: 'tokyo', trafficDial: 100, endpoints: [{ prod: 'web-1', weight: 128 }] }],
      tenants: [
        { name: 'shop', hosts: ['shop.test'], redundancy: 1, prods: ['web-1'] },
        { name: 'other', hosts: ['other.test'], redundancy: 1, prods: ['web-2'] },
      ],
      ...(l ? { legacy: l } : {}),
    });

  /** One request as a user: with its cookie, or as a new user (returns the cookie the edge set). */
  async function visit(cookie: string | undefined, headers: Record<string, string> = HOST): Promise<{ upstream: string; cookie: string }> {
    const a = await get(agent, url, '/', cookie ? { ...headers, cookie } : headers);
    assert.equal(a.status, 200, a.body);
    const set = a.headers['set-cookie'];
    const c = cookie ?? (typeof set === 'string' ? set : (set?.[0] ?? '')).split(';')[0]!;
    return { upstream: a.upstream ?? '?', cookie: c };
  }

  async function users(n: number): Promise<{ upstream: string; cookie: string }[]> {
    const out: { upstream: string; cookie: string }[] = new Array<{ upstream: string; cookie: string }>(n);
    let next = 0;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < n) {
          const i = next++;
          out[i] = await visit(undefined);
        }
      }),
    );
    return out;
  }

  async function revisit(cookies: readonly string[]): Promise<string[]> {
    const out: string[] = new Array<string>(cookies.length);
    let next = 0;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < cookies.length) {
          const i = next++;
          out[i] = (await visit(cookies[i])).upstream;
        }
      }),
    );
    return out;
  }

  before(async () => {
    fleetUp = await startUpstream('web-1');
    otherUp = await startUpstream('web-2');
    legacyUp = await startUpstream('legacy');
    source.set([planWith([legacy(30)])]);
    edge = new Edge({ source, listen: { host: '127.0.0.1', port: 0 }, adminListen: { host: '127.0.0.1', port: 0 } });
    ({ url, adminUrl } = await edge.start());
  });
  after(async () => {
    await edge.stop();
    await agent.close();
    await Promise.all([fleetUp.close(), otherUp.close(), legacyUp.close()]);
  });

  it('splits new users by the weight (±3 % over 5,000), each user stays on its side, and only moves forward', async () => {
    const first = await users(USERS);
    const onFleet = first.filter((u) => u.upstream === 'web-1').length / USERS;
    assert.ok(Math.abs(onFleet - 0.3) <= 0.03, `30 % step: ${(onFleet * 100).toFixed(1)} % of new users on the fleet`);
    assert.equal(first.filter((u) => u.upstream !== 'web-1' && u.upstream !== 'legacy').length, 0, 'only the tenant\'s Prod or legacy');
    const cookies = first.map((u) => u.cookie);
    assert.ok(cookies.every((c) => c.startsWith('drover-affinity=')), 'the edge gives each new user its affinity cookie');

    // Sticky: the same users land where they landed before.
    const again = await revisit(cookies);
    assert.deepEqual(again, first.map((u) => u.upstream), 'every user stays on its side at a constant weight');

    // Forward only: raising the weight moves users from legacy to the fleet, never back.
    let before = again;
    for (const w of [50, 80]) {
      source.set([planWith([legacy(w)])]);
      const now = await revisit(cookies);
      const back = now.filter((u, i) => before[i] === 'web-1' && u !== 'web-1').length;
      assert.equal(back, 0, `${w} %: no user went from the fleet back to legacy`);
      const share = now.filter((u) => u === 'web-1').length / USERS;
      assert.ok(Math.abs(share - w / 100) <= 0.03, `${w} % step: ${(share * 100).toFixed(1)} % of the same users on the fleet`);
      before = now;
    }
  });

  it('a rollback to 0 % puts every user on legacy in one plan update; other tenants are untouched', async () => {
    source.set([planWith([legacy(80)])]);
    const some = await users(400);
    assert.ok(some.some((u) => u.upstream === 'web-1'));
    source.set([planWith([legacy(0)])]);
    const after = await revisit(some.map((u) => u.cookie));
    assert.ok(after.every((u) => u === 'legacy'), 'every user on legacy right after the update');
    const other = await visit(undefined, { host: 'other.test' });
    assert.equal(other.upstream, 'web-2', 'a tenant the migration does not cover stays on its Prod');
  });

  it('a moved tenant (tenants mode) and a removed legacy set send everyone to the fleet', async () => {
    source.set([planWith([legacy(0, { moved: ['shop'] })])]);
    const moved = await users(200);
    assert.ok(moved.every((u) => u.upstream === 'web-1'), 'a moved tenant is wholly on the fleet');
    source.set([planWith(undefined)]);
    const gone = await users(50);
    assert.ok(gone.every((u) => u.upstream === 'web-1'));
  });

  it('counts legacy endpoints in /stats and health-checks them: a dead legacy backend hands its users to the fleet', async () => {
    source.set([planWith([legacy(0)])]);
    await users(50);
    const stats = (await (await fetch(`${adminUrl}/stats?windowMs=60000`)).json()) as { prods: { prod: string; requests: number }[] };
    assert.ok((stats.prods.find((p) => p.prod === 'legacy:mig:0')?.requests ?? 0) >= 50, 'legacy requests counted under legacy:mig:0');
    const metrics = await (await fetch(`${adminUrl}/metrics`)).text();
    assert.match(metrics, /drover_edge_endpoint_healthy\{prod="legacy:mig:0"\} 1/);

    legacyUp.healthy = false;
    await waitFor('the edge marks the legacy endpoint unhealthy', () => edge.healthState()['legacy:mig:0'] === false || undefined, { timeoutMs: 5_000 });
    const served = await users(100);
    assert.ok(served.every((u) => u.upstream === 'web-1'), 'legacy down: the fleet serves its users rather than fail them');
    legacyUp.healthy = true;
    await waitFor('healthy again', () => edge.healthState()['legacy:mig:0'] === true || undefined, { timeoutMs: 5_000 });
  });
});
