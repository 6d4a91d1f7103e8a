/**
 * `spec.source.service`: a Kubernetes Service of type LoadBalancer as the mirror's source, read from a fake
 * Kubernetes API (an object set of Services and EndpointSlices, test/unit/mirror/mirror-fake-kube.ts) into the
 * Octavia reader's model, then mirrored by the unchanged compiler and NLB adapter on mocked AWS (ELBv2,
 * Route 53). The real API server: test/integration/kubernetes/mirror-service.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Cluster } from '../../../src/api/kinds/cluster.js';
import { OctaviaMeter } from '../../../src/cloud/octavia/reader.js';
import { readServiceSource } from '../../../src/cloud/service-source/reader.js';
import { mirrorController } from '../../../src/controllers/mirror-controller.js';
import { MemoryStore } from '../../../src/store/memory/memory-store.js';
import { FakeZone } from '../cloud/fake-aws.js';
import { FakeElb } from './mirror-fake-elb.js';
import { FakeKubeApi } from './mirror-fake-kube.js';
import { harness, mirror } from './mirror-harness.js';

const ref = { cluster: 'tokyo', namespace: 'shop', name: 'web' };
const cluster = (provider: 'kubernetes' | 'local' = 'kubernetes') =>
  Cluster.parse({ apiVersion: 'drover.dev/v1alpha1', kind: 'Cluster', metadata: { name: 'tokyo' }, spec: { provider, ...(provider === 'kubernetes' ? { kubernetes: { context: 'kind-tokyo' } } : {}) } });
const spec = (extra: Record<string, unknown> = {}) => ({ source: { service: ref }, target: { nlb: { region: 'eu-west-1', subnets: ['subnet-0a1'] } }, ...extra });

/** Service shop/web: https 443 → 8443 (TCP) and dns 53 (UDP), two slices; one pod not ready, one IPv6 slice. */
function webService(): FakeKubeApi {
  return new FakeKubeApi()
    .service('shop', 'web', { type: 'LoadBalancer', ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 'https' }, { name: 'dns', port: 53, protocol: 'UDP', targetPort: 5353 }] }, { ip: '203.0.113.7' })
    .slice('shop', 'web', 'web-a', [{ name: 'https', port: 8443, protocol: 'TCP' }, { name: 'dns', port: 5353, protocol: 'UDP' }], [{ addresses: ['10.8.0.11'] }, { addresses: ['10.8.0.12'], ready: true }, { addresses: ['10.8.0.13'], ready: false }])
    .slice('shop', 'web', 'web-b', [{ name: 'https', port: 8443, protocol: 'TCP' }], [{ addresses: ['10.8.1.21'] }, { addresses: ['10.8.0.11'] }])
    .slice('shop', 'web', 'web-v6', [{ name: 'https', port: 8443, protocol: 'TCP' }], [{ addresses: ['fd00::5'] }], 'IPv6')
    .slice('shop', 'other', 'other-a', [{ name: 'https', port: 9443, protocol: 'TCP' }], [{ addresses: ['10.9.9.9'] }]);
}

describe('mirror Service reader (fake Kubernetes API)', () => {
  it('each port is a listener on the same port; its ready IPv4 endpoints at the targetPort are the members; the ingress IP is the source address', async () => {
    const meter = new OctaviaMeter();
    const { lb, notes } = await readServiceSource(meter, { provider: 'kubernetes', api: webService() }, ref);
    assert.equal(meter.calls, 2, 'the Service and one EndpointSlice list');
    assert.equal(lb.vipAddress, '203.0.113.7');
    assert.equal(lb.operatingStatus, 'DEGRADED', 'one endpoint is not ready');
    assert.deepEqual(lb.listeners.map((l) => `${l.protocol}:${l.protocolPort}`), ['TCP:443', 'UDP:53']);
    const members = (port: number) => lb.pools.find((p) => lb.listeners.find((l) => l.protocolPort === port)?.defaultPoolId === p.id)!.members.map((m) => `${m.address}:${m.protocolPort}`);
    assert.deepEqual(members(443), ['10.8.0.11:8443', '10.8.0.12:8443', '10.8.1.21:8443'], 'not ready and IPv6 left out; the same address in two slices once; other Services\' slices not read');
    assert.deepEqual(members(53), ['10.8.0.11:5353', '10.8.0.12:5353']);
    assert.ok(lb.pools.every((p) => p.healthMonitor?.type === 'TCP'));
    assert.match(notes.map((n) => n.message).join('\n'), /NLB checks TCP on each port's traffic port/);
    assert.match(notes.map((n) => `${n.resource} ${n.message}`).join('\n'), /UDP:53\) the NLB checks a UDP group over TCP/);
    assert.match(notes.map((n) => n.message).join('\n'), /IPv6 fd00::5/);
  });

  it('errors name the field: unknown cluster, a cluster that is not Kubernetes, no such Service, a Service not of type LoadBalancer, an unreachable API', async () => {
    const api = webService().service('shop', 'internal', { type: 'ClusterIP', ports: [{ port: 80 }] });
    const fail = async (c: Parameters<typeof readServiceSource>[1], r = ref) => readServiceSource(new OctaviaMeter(), c, r).then(() => assert.fail('no error'), (e: { code: string; field: string; message: string }) => `${e.code} ${e.field}: ${e.message}`);
    assert.match(await fail(undefined), /^ServiceClusterNotFound spec\.source\.service\.cluster: there is no Cluster tokyo/);
    assert.match(await fail({ provider: 'local' }), /^ServiceClusterNotKubernetes spec\.source\.service\.cluster: Cluster tokyo is of provider local/);
    assert.match(await fail({ provider: 'kubernetes', api }, { ...ref, name: 'nope' }), /^ServiceNotFound spec\.source\.service\.name: cluster tokyo has no Service shop\/nope/);
    assert.match(await fail({ provider: 'kubernetes', api }, { ...ref, name: 'internal' }), /^ServiceNotLoadBalancer spec\.source\.service\.name: Service shop\/internal is of type ClusterIP, not LoadBalancer/);
    api.failure = Object.assign(new Error('connect ECONNREFUSED'), { httpStatus: 0 });
    assert.match(await fail({ provider: 'kubernetes', api }), /^ServiceUnreachable spec\.source\.service\.cluster: connect ECONNREFUSED/);
  });
});

describe('mirror of a Service (fake Kubernetes API, mocked AWS)', () => {
  it('the endpoints become IP targets; an endpoint removed is deregistered; deleting the mirror deletes the NLB', async () => {
    const kube = webService();
    const elb = new FakeElb();
    const zone = new FakeZone('ZSHOP');
    const h = await harness(mirror('web', spec({ dns: { route53: { hostedZoneId: 'ZSHOP', recordName: 'web.shop.example.com' } } })), elb, { kube: () => kube, route53: zone.client });
    await h.store.create(cluster());
    await h.sync();
    let st = await h.status();
    assert.equal(st.lastError, undefined, JSON.stringify(st.lastError));
    assert.deepEqual(Object.keys(st.built.listeners).sort(), ['TCP:443', 'UDP:53']);
    const groupOf = (proto: string) => [...elb.tgs.values()].find((t) => t.Protocol === proto)!.TargetGroupName!;
    assert.deepEqual(elb.registered(groupOf('TCP')), ['10.8.0.11:8443', '10.8.0.12:8443', '10.8.1.21:8443']);
    assert.deepEqual(elb.registered(groupOf('UDP')), ['10.8.0.11:5353', '10.8.0.12:5353']);
    assert.equal([...elb.tgs.values()].find((t) => t.Protocol === 'UDP')?.HealthCheckProtocol, 'TCP');
    assert.deepEqual(st.source, { name: 'shop/web', vipAddress: '203.0.113.7', operatingStatus: 'DEGRADED', provisioningStatus: 'ACTIVE', listeners: 2, pools: 2, members: 5 });
    assert.equal(zone.records.find((r) => r.SetIdentifier === 'drover-source')?.ResourceRecords?.[0]?.Value, '203.0.113.7', 'the ingress IP is the source side of the split');
    assert.ok(st.notes.some((n) => n.resource === 'service/shop/web' && /NLB checks TCP/.test(n.message)));

    kube.removeAddress('10.8.1.21');
    elb.calls.length = 0;
    await h.sync();
    st = await h.status();
    assert.deepEqual(elb.writes(), ['DeregisterTargets']);
    assert.deepEqual(elb.registered(groupOf('TCP')), ['10.8.0.11:8443', '10.8.0.12:8443']);
    assert.deepEqual(st.lastDiff.map((c) => `${c.action} ${c.resource}`), [`delete target/${groupOf('TCP')}/10.8.1.21:8443`]);

    // Deleting with no status left (lost before a status write): the finalizer finds the NLB by the name it
    // was built under (the hash of the Service's id, not of the mirror's name), and the groups by its listeners.
    await h.store.updateStatus({ ...(await h.get()), status: undefined });
    await h.store.delete('LoadBalancerMirror', 'web');
    await h.sync();
    assert.equal(elb.lbs.size, 0);
    assert.equal(elb.tgs.size, 0);
    assert.equal(await h.store.get('LoadBalancerMirror', 'web'), undefined);
  });

  it('the controller watches Clusters (the manager\'s cache holds only the kinds a reconciler watches) without a pass per heartbeat', async () => {
    const w = mirrorController().watches.find((x) => x.kind === 'Cluster');
    assert.ok(w, 'ctx.cache.get(\'Cluster\') throws in the manager for a kind the reconciler does not watch');
    assert.deepEqual(await w.mapToKeys?.(cluster(), { type: 'MODIFIED', store: new MemoryStore() }), []);
  });

  it('the source errors reach status with the field and AWS is not touched; an ingress hostname cannot be the source A record', async () => {
    const elb = new FakeElb();
    const kube = webService();
    const h = await harness(mirror('web', spec()), elb, { kube: () => kube });
    await h.sync();
    assert.deepEqual([(await h.status()).lastError?.code, (await h.status()).lastError?.field], ['ServiceClusterNotFound', 'spec.source.service.cluster']);
    await h.store.create(cluster('local'));
    await h.sync();
    assert.deepEqual([(await h.status()).lastError?.code, (await h.status()).lastError?.field], ['ServiceClusterNotKubernetes', 'spec.source.service.cluster']);
    assert.deepEqual(elb.calls, []);

    const kube2 = new FakeKubeApi().service('shop', 'web', { type: 'LoadBalancer', ports: [{ port: 443 }] }, { hostname: 'a1b2.elb.example.com' });
    const h2 = await harness(mirror('web', spec({ dns: { route53: { hostedZoneId: 'ZSHOP', recordName: 'web.shop.example.com' } } })), new FakeElb(), { kube: () => kube2 });
    await h2.store.create(cluster());
    await h2.sync();
    const st = await h2.status();
    assert.equal(st.lastError?.code, 'SourceAddressMissing');
    assert.equal(st.lastError?.field, 'spec.dns.route53.sourceAddress');
    assert.match(st.lastError.message, /a1b2\.elb\.example\.com is not an IPv4 address/);
  });
});
