import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GlobalAcceleratorSpec, Route53Spec } from '../../../src/api/index.js';
import { toByteWeights } from '../../../src/cloud/cluster-weights.js';
import { compileGlobalAccelerator, gaDesiredState } from '../../../src/cloud/global-accelerator/compile.js';
import { compileRoute53 } from '../../../src/cloud/route53/compile.js';
import { cluster, LISTENER, lbArn, plan, policy, prod, world, worldProds } from './cloud-fixtures.js';

const gaSpec = (groups: unknown[] = [{ region: 'ap-northeast-1' }, { region: 'ap-northeast-3' }]) => GlobalAcceleratorSpec.parse({ listenerArn: LISTENER, endpointGroups: groups });

/** region → [dial, {cluster: weight}] */
function ga(clusters = world(), pol = policy([{ domain: 'tokyo', trafficDial: 100 }, { domain: 'osaka', trafficDial: 100 }]), prods = worldProds(), spec = gaSpec()) {
  const d = compileGlobalAccelerator(spec, plan(prods, clusters, pol), clusters);
  const out: Record<string, [number, Record<string, number>]> = {};
  for (const g of d.groups) out[g.region] = [g.trafficDial, Object.fromEntries([...g.endpoints].map(([arn, w]) => [g.clusterOf.get(arn)!, w]))];
  return { groups: out, notes: d.notes, failStatic: d.failStatic, desired: d };
}

describe('Global Accelerator compiler: the GA rules from the plan', () => {
  it('group dials become TrafficDialPercentage per region', () => {
    const { groups } = ga(world(), policy([{ domain: 'tokyo', trafficDial: 100 }, { domain: 'osaka', trafficDial: 20 }]));
    assert.equal(groups['ap-northeast-1']![0], 100);
    assert.equal(groups['ap-northeast-3']![0], 20);
  });

  it('a domain with no group in the policy is a dial-0 group (failover only), as the edge does', () => {
    const { groups } = ga(world(), policy([{ domain: 'tokyo', trafficDial: 100 }]));
    assert.equal(groups['ap-northeast-3']![0], 0);
    // Its endpoints keep their weight: a dial-0 group takes traffic only when GA fails over to it.
    assert.deepEqual(groups['ap-northeast-3']![1], { 'osaka-a': 128, 'osaka-b': 128 });
  });

  it('endpoint weights are the plan weights of the cluster\'s serving Prods, kept as they are within 0–255', () => {
    const { groups } = ga(world(), policy([{ domain: 'tokyo', trafficDial: 100, weights: { p1: 200, p2: 50 } }, { domain: 'osaka', trafficDial: 100, weights: { p4: 0 } }]));
    assert.deepEqual(groups['ap-northeast-1']![1], { 'tokyo-a': 200, 'tokyo-b': 50 });
    // Weight 0 in the plan is weight 0 in GA.
    assert.deepEqual(groups['ap-northeast-3']![1], { 'osaka-a': 128, 'osaka-b': 0 });
  });

  it('a cluster serving more Prods weighs more; sums above 255 are scaled down keeping ratios, never to 0', () => {
    const prods = [...worldProds(), prod('p5', 'tokyo-a'), prod('p6', 'tokyo-a')];
    const { groups } = ga(world(), policy([{ domain: 'tokyo', trafficDial: 100, weights: { p2: 1 } }, { domain: 'osaka', trafficDial: 100 }]), prods);
    // tokyo-a: 3 × 128 = 384 → 255; tokyo-b: 1 → 1 (not 0); osaka: 128 → 85.
    assert.deepEqual(groups['ap-northeast-1']![1], { 'tokyo-a': 255, 'tokyo-b': 1 });
    assert.deepEqual(groups['ap-northeast-3']![1], { 'osaka-a': 85, 'osaka-b': 85 });
    for (const [, ws] of Object.values(groups)) for (const w of Object.values(ws)) assert.ok(Number.isInteger(w) && w >= 0 && w <= 255);
  });

  it('a NotReady, cordoned or draining cluster gets weight 0 at once (GA then fails the group over)', () => {
    const { groups } = ga(world({ 'tokyo-a': { phase: 'NotReady' }, 'tokyo-b': { cordoned: true }, 'osaka-b': { draining: true } }));
    assert.deepEqual(groups['ap-northeast-1']![1], { 'tokyo-a': 0, 'tokyo-b': 0 });
    assert.deepEqual(groups['ap-northeast-3']![1], { 'osaka-a': 128, 'osaka-b': 0 });
    // The dial stays: GA ignores dials for a group with no endpoint of weight > 0.
    assert.equal(groups['ap-northeast-1']![0], 100);
  });

  it('fail static: when every cluster looks lost at once, health-driven zeroing is undone (cordons stay)', () => {
    const r = ga(world({ 'tokyo-a': { phase: 'NotReady' }, 'tokyo-b': { phase: 'Unknown' }, 'osaka-a': { phase: 'NotReady' }, 'osaka-b': { cordoned: true } }));
    assert.equal(r.failStatic, true);
    assert.deepEqual(r.groups['ap-northeast-1']![1], { 'tokyo-a': 128, 'tokyo-b': 128 });
    assert.deepEqual(r.groups['ap-northeast-3']![1], { 'osaka-a': 128, 'osaka-b': 0 });
    // Cordoned everywhere is an operator's decision: no fail static.
    const all = ga(world({ 'tokyo-a': { cordoned: true }, 'tokyo-b': { cordoned: true }, 'osaka-a': { cordoned: true }, 'osaka-b': { cordoned: true } }));
    assert.equal(all.failStatic, false);
  });

  it('clusters behind a group: by region by default, or listed, or by domain; one without a load balancer ARN is a note', () => {
    const clusters = [...world(), cluster('osaka-c', 'ap-northeast-3', 'osaka', { lb: false })];
    const prods = [...worldProds(), prod('p7', 'osaka-c')];
    const byList = ga(clusters, undefined, prods, gaSpec([{ region: 'ap-northeast-1', clusters: ['tokyo-b'] }, { region: 'ap-northeast-3', domains: ['osaka'] }]));
    assert.deepEqual(Object.keys(byList.groups['ap-northeast-1']![1]), ['tokyo-b']);
    assert.deepEqual(Object.keys(byList.groups['ap-northeast-3']![1]), ['osaka-a', 'osaka-b']);
    assert.match(byList.notes.join('\n'), /osaka-c .*no spec\.loadBalancer\.arn/);
  });

  it('flat state: trafficDial, weight[arn], and only the health check fields the spec sets', () => {
    const spec = gaSpec([{ region: 'ap-northeast-1', healthCheck: { path: '/healthz', intervalSeconds: 10 } }]);
    const r = ga(world(), undefined, worldProds(), spec);
    assert.deepEqual(gaDesiredState(r.desired), {
      'endpointGroup/ap-northeast-1': { trafficDial: 100, healthCheckPath: '/healthz', healthCheckIntervalSeconds: 10, [`weight[${lbArn('tokyo-a', 'ap-northeast-1')}]`]: 128, [`weight[${lbArn('tokyo-b', 'ap-northeast-1')}]`]: 128 },
    });
  });
});

describe('toByteWeights', () => {
  it('keeps integers that fit, scales the rest so the largest is 255, never rounds a positive to 0', () => {
    assert.deepEqual([...toByteWeights(new Map([['a', 10], ['b', 0]]))], [['a', 10], ['b', 0]]);
    assert.deepEqual([...toByteWeights(new Map([['a', 1000], ['b', 1]]))], [['a', 255], ['b', 1]]);
    assert.deepEqual([...toByteWeights(new Map([['a', 0.5], ['b', 0.25]]))], [['a', 255], ['b', 128]]);
  });
});

describe('Route 53 compiler', () => {
  const weights = (route53: Record<string, unknown> = {}, clusters = world(), pol = policy([{ domain: 'tokyo', trafficDial: 100 }, { domain: 'osaka', trafficDial: 20 }])) => {
    const d = compileRoute53(Route53Spec.parse({ hostedZoneId: 'Z1', recordName: 'WWW.example.com', ...route53 }), plan(worldProds(), clusters, pol), clusters);
    return { d, by: Object.fromEntries(d.records.map((r) => [r.SetIdentifier!, r.Weight ?? r.Failover])) };
  };

  it('weighted: dials folded into weights (dial share × cluster share × 255)', () => {
    const { d, by } = weights();
    // tokyo: 100/120 of the traffic over two clusters; osaka: 20/120.
    assert.deepEqual(by, { 'drover-osaka-a': 21, 'drover-osaka-b': 21, 'drover-tokyo-a': 106, 'drover-tokyo-b': 106 });
    const r = d.records[0]!;
    assert.equal(r.Name, 'www.example.com.');
    assert.equal(r.Type, 'A');
    assert.deepEqual(r.AliasTarget, { HostedZoneId: 'Z14GRHDCWA56QT', DNSName: 'osaka-a-1234.ap-northeast-3.elb.amazonaws.com.', EvaluateTargetHealth: true });
  });

  it('weighted: a domain with no live cluster hands its share to the live ones, ignoring dials', () => {
    const { by } = weights({}, world({ 'tokyo-a': { phase: 'NotReady' }, 'tokyo-b': { draining: true } }));
    assert.equal(by['drover-tokyo-a'], 0);
    assert.equal(by['drover-osaka-a'], 128);
    assert.equal(by['drover-osaka-b'], 128);
  });

  it('failover: PRIMARY in the highest-dial live domain, SECONDARY in another domain; a dead primary moves', () => {
    assert.deepEqual(weights({ routing: 'failover' }).by, { 'drover-primary': 'PRIMARY', 'drover-secondary': 'SECONDARY' });
    const healthy = weights({ routing: 'failover' }).d.records;
    assert.match(healthy.find((r) => r.Failover === 'PRIMARY')!.AliasTarget!.DNSName!, /^tokyo-a-/);
    assert.match(healthy.find((r) => r.Failover === 'SECONDARY')!.AliasTarget!.DNSName!, /^osaka-a-/);
    const lost = weights({ routing: 'failover' }, world({ 'tokyo-a': { phase: 'NotReady' }, 'tokyo-b': { phase: 'NotReady' } })).d.records;
    assert.match(lost.find((r) => r.Failover === 'PRIMARY')!.AliasTarget!.DNSName!, /^osaka-a-/);
    assert.match(lost.find((r) => r.Failover === 'SECONDARY')!.AliasTarget!.DNSName!, /^osaka-b-/);
  });

  it('CNAME records point at the load balancer DNS name with the TTL; health check ids attach per cluster', () => {
    const { d } = weights({ type: 'CNAME', ttl: 30, healthCheckIds: { 'tokyo-a': 'hc-1' } });
    const t = d.records.find((r) => r.SetIdentifier === 'drover-tokyo-a')!;
    assert.deepEqual(t.ResourceRecords, [{ Value: 'tokyo-a-1234.ap-northeast-1.elb.amazonaws.com' }]);
    assert.equal(t.TTL, 30);
    assert.equal(t.HealthCheckId, 'hc-1');
  });
  it('owned health checks: one per cluster record (not for bring-your-own ids), at the address else the DNS name; records name them', () => {
    const clusters = world();
    clusters[2]!.spec.loadBalancer = { ...clusters[2]!.spec.loadBalancer, address: '203.0.113.7' };
    const { d } = weights({ healthCheck: { type: 'TCP', port: 443, intervalSeconds: 10 }, healthCheckIds: { 'tokyo-b': 'hc-mine' } }, clusters);
    assert.deepEqual(d.healthChecks.map((h) => h.key), ['osaka-a', 'osaka-b', 'tokyo-a']);
    assert.deepEqual(d.healthChecks[0]!.settings, { type: 'TCP', port: 443, intervalSeconds: 10, failureThreshold: 3, ipAddress: '203.0.113.7' });
    assert.equal(d.healthChecks[1]!.settings.fqdn, 'osaka-b-1234.ap-northeast-3.elb.amazonaws.com');
    const hc = Object.fromEntries(d.records.map((r) => [r.SetIdentifier!, r.HealthCheckId]));
    assert.deepEqual(hc, { 'drover-osaka-a': 'healthCheck/osaka-a', 'drover-osaka-b': 'healthCheck/osaka-b', 'drover-tokyo-a': 'healthCheck/tokyo-a', 'drover-tokyo-b': 'hc-mine' });
    // failover: the two records name the checks of the clusters they point at; every candidate keeps its check.
    const f = weights({ routing: 'failover', healthCheck: {} }).d;
    assert.deepEqual(f.records.map((r) => [r.SetIdentifier, r.HealthCheckId]), [['drover-primary', 'healthCheck/tokyo-a'], ['drover-secondary', 'healthCheck/osaka-a']]);
    assert.equal(f.healthChecks.length, 4);
    assert.throws(() => Route53Spec.parse({ hostedZoneId: 'Z1', recordName: 'x', healthCheck: { type: 'TCP' } }), /a TCP health check needs `port`/);
    assert.throws(() => Route53Spec.parse({ hostedZoneId: 'Z1', recordName: 'x', healthCheck: { regions: ['us-east-1'] } }), /at least 3 checker regions/);
  });
});
