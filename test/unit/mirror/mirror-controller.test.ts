/**
 * Mirror controller decisions at the unit level: a fake Octavia answering over an injected fetch (named
 * so; the real octavia-api runs in test/integration/mirror-octavia.test.ts) and mocked AWS (ELBv2).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { awsError, FakeElb } from './mirror-fake-elb.js';
import { harness, mirror } from './mirror-harness.js';

const LB = '9cc72e60-4e37-4c16-9215-652a2f03d85f';

/** Octavia's v2 answers for one LB with a TCP:443 listener and a pool of `members`. */
function fakeOctavia(members: string[], protocol = () => 'TCP'): typeof fetch {
  const docs: Record<string, unknown> = {
    [`/v2/lbaas/loadbalancers/${LB}`]: { loadbalancer: { id: LB, name: 'web', vip_address: '10.20.0.5', operating_status: 'ONLINE', provisioning_status: 'ACTIVE', listeners: [{ id: 'l1' }], pools: [{ id: 'p1' }] } },
    [`/v2/lbaas/listeners?loadbalancer_id=${LB}`]: () => ({ listeners: [{ id: 'l1', name: 'tls', protocol: protocol(), protocol_port: 443, default_pool_id: 'p1', admin_state_up: true, l7policies: [] }] }),
    [`/v2/lbaas/pools?loadbalancer_id=${LB}`]: () => ({ pools: [{ id: 'p1', name: 'web', protocol: protocol(), lb_algorithm: 'ROUND_ROBIN', healthmonitor_id: null }] }),
    '/v2/lbaas/pools/p1/members': { members: members.map((ip) => ({ id: ip, address: ip, protocol_port: 8443, weight: 1, admin_state_up: true, backup: false })) },
  };
  return async (input: string | URL | Request) => {
    const path = (input instanceof Request ? input.url : input.toString()).replace(/^http:\/\/octavia\.test/, '');
    const entry = docs[path];
    const doc: unknown = typeof entry === 'function' ? (entry as () => unknown)() : entry;
    return doc ? new Response(JSON.stringify(doc), { status: 200 }) : new Response('{"faultstring": "not found"}', { status: 404 });
  };
}

const spec = (extra: Record<string, unknown> = {}) => ({
  source: { octavia: { loadBalancerId: LB } },
  target: { nlb: { region: 'eu-west-1', subnets: ['subnet-0a1'] } },
  ...extra,
});
const env = { OS_ENDPOINT: 'http://octavia.test' };

describe('mirror controller (fake Octavia, mocked AWS)', () => {
  it('an NLB with the mirror\'s name that Drover does not own is never written; Owned=False names it', async () => {
    const elb = new FakeElb();
    const h = await harness(mirror('web', spec()), elb, { octavia: { fetch: fakeOctavia(['10.0.0.1']), env } });
    await h.sync();
    const built = (await h.status()).built;
    // Someone else's NLB takes the name (the owner tag says another owner) after Drover's is gone.
    elb.lbs.clear();
    elb.tgs.clear();
    elb.listeners.clear();
    await h.store.updateStatus({ ...(await h.get()), status: undefined });
    elb.mock.resetHistory();
    const name = built.loadBalancerArn!.split('/').slice(-2, -1)[0]!;
    elb.calls.length = 0;
    await elb.client.send(new (await import('@aws-sdk/client-elastic-load-balancing-v2')).CreateLoadBalancerCommand({ Name: name, Subnets: ['subnet-0a1'], Tags: [{ Key: 'drover.dev/owner', Value: 'someone-else' }] }));
    elb.calls.length = 0;
    await h.sync();
    const st = await h.status();
    assert.deepEqual(elb.writes(), []);
    assert.equal(st.conditions.find((c) => c.type === 'Owned')?.status, 'False');
    assert.match(st.conditions.find((c) => c.type === 'Owned')!.message, /exists without the tag drover\.dev\/owner=drover-web/);
    assert.equal(st.inSync, false);
    assert.match((await h.events()).join('\n'), /NotOwned: loadBalancer /);
  });

  it('throttling that outlasts the retries comes back in 10 s; a permanent error waits for the sync period', async () => {
    const elb = new FakeElb();
    const h = await harness(mirror('web', spec({ syncPeriod: '5m' })), elb, { octavia: { fetch: fakeOctavia(['10.0.0.1']), env } });
    elb.failNext('DescribeLoadBalancers', awsError('Throttling', 'Rate exceeded'), 3);
    assert.deepEqual(await h.sync(), { requeueAfterMs: 10_000 });
    assert.equal((await h.status()).lastError?.code, 'Throttling');
    elb.failNext('DescribeLoadBalancers', awsError('AccessDenied', 'not authorized to perform elasticloadbalancing:DescribeLoadBalancers', 403), 1);
    assert.deepEqual(await h.sync(), { requeueAfterMs: 300_000 });
    assert.equal((await h.status()).lastError?.code, 'AccessDenied');
    // Within the period nothing is asked again; after it, the sync goes through.
    elb.calls.length = 0;
    await h.sync(60_000);
    assert.deepEqual(elb.calls, []);
    await h.sync(300_000);
    assert.equal((await h.status()).lastError, undefined);
    assert.deepEqual((await h.events()).filter((e) => e.startsWith('SyncFailed')).map((e) => e.split(': ')[2]).sort(), ['AccessDenied', 'Throttling'], 'one Event per distinct error');
  });

  it('a scheme change (immutable in ELBv2) is refused once, naming the field, and never written', async () => {
    const elb = new FakeElb();
    const h = await harness(mirror('web', spec()), elb, { octavia: { fetch: fakeOctavia(['10.0.0.1']), env } });
    await h.sync();
    const cur = await h.get();
    await h.store.update({ ...cur, spec: { ...cur.spec, target: { nlb: { ...cur.spec.target.nlb, scheme: 'internal' } } } });
    elb.calls.length = 0;
    await h.sync();
    await h.sync();
    const st = await h.status();
    assert.deepEqual(elb.writes(), []);
    assert.equal(st.lastError?.field, 'spec.target.nlb.scheme');
    assert.match(st.lastError.message, /was built internet-facing; an NLB's scheme cannot be changed to internal/);
    assert.equal((await h.events()).filter((e) => e.startsWith('SyncFailed')).length, 1, 'one Event, not one per sync');
    assert.equal((await h.events()).filter((e) => e.startsWith('Updated')).length, 0);
  });

  it('Octavia replacing TCP:443 by UDP:443: the old listener goes first, then the new one and its group; the old group is deleted', async () => {
    let proto = 'TCP';
    const elb = new FakeElb();
    const h = await harness(mirror('web', spec()), elb, { octavia: { fetch: fakeOctavia(['10.0.0.1'], () => proto), env } });
    await h.sync();
    const oldGroup = [...elb.tgs.values()][0]!.TargetGroupName!;
    proto = 'UDP';
    elb.calls.length = 0;
    await h.sync();
    const st = await h.status();
    assert.equal(st.lastError, undefined, JSON.stringify(st.lastError));
    assert.deepEqual(elb.writes(), ['CreateTargetGroup', 'DeleteListener', 'CreateListener', 'RegisterTargets', 'DeleteTargetGroup']);
    assert.deepEqual([...elb.listeners.values()].map((l) => `${l.Protocol}:${l.Port}`), ['UDP:443']);
    assert.deepEqual([...elb.tgs.values()].map((t) => t.Protocol), ['UDP']);
    assert.ok(![...elb.tgs.values()].some((t) => t.TargetGroupName === oldGroup));
    assert.deepEqual(Object.keys(st.built.listeners), ['UDP:443']);
  });
});
