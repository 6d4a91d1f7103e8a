import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Cluster, TargetGroupSpec, type CloudChange } from '../../../src/api/index.js';
import { compileTargetGroup, registeredAfter, targetGroupDesiredState } from '../../../src/cloud/target-group/compile.js';
import { chunks, regionOfArn } from '../../../src/cloud/target-group/target.js';
import { cluster, plan, podProd, podProds, policy, prod, TARGET_GROUP, world } from './cloud-fixtures.js';

const spec = (extra: Record<string, unknown> = {}) => TargetGroupSpec.parse({ targetGroupArn: TARGET_GROUP, ...extra });
const both = policy([{ domain: 'tokyo', trafficDial: 100 }, { domain: 'osaka', trafficDial: 100 }]);

/** target id → cluster */
function tg(clusters = world(), prods = podProds(), pol = both, s = spec()) {
  const d = compileTargetGroup(s, plan(prods, clusters, pol), clusters);
  return { targets: Object.fromEntries([...d.targets].map(([id, t]) => [id, t.cluster])), notes: d.notes, failStatic: d.failStatic, desired: d };
}

describe('target group compiler: the serving Prods of every live cluster, as ip:port targets', () => {
  it('every serving Prod of every Ready cluster is one target, at its endpoint IP and port', () => {
    const r = tg();
    assert.deepEqual(r.targets, { '10.0.1.11:8080': 'tokyo-a', '10.0.2.12:8080': 'tokyo-b', '10.1.1.13:8080': 'osaka-a', '10.1.2.14:8080': 'osaka-b' });
    assert.deepEqual(r.notes, []);
    assert.deepEqual(targetGroupDesiredState(r.desired)['target/10.0.1.11:8080'], { registered: true });
  });

  it('a NotReady, cordoned or draining cluster has no targets; neither has a draining Prod or a Prod of weight 0', () => {
    const prods = [...podProds(), podProd('p5', 'osaka-a', '10.1.1.15', 8080, 'Draining'), podProd('p6', 'osaka-a', '10.1.1.16')];
    const r = tg(world({ 'tokyo-a': { phase: 'NotReady' }, 'tokyo-b': { cordoned: true }, 'osaka-b': { draining: true } }), prods, policy([{ domain: 'tokyo', trafficDial: 100 }, { domain: 'osaka', trafficDial: 100, weights: { p6: 0 } }]));
    assert.deepEqual(r.targets, { '10.1.1.13:8080': 'osaka-a' });
    assert.equal(r.failStatic, false);
  });

  it('a dial-0 domain keeps its targets (a target group has no dials: registration is about serving)', () => {
    assert.equal(Object.keys(tg(world(), podProds(), policy([{ domain: 'tokyo', trafficDial: 100 }, { domain: 'osaka', trafficDial: 0 }])).targets).length, 4);
  });

  it('a loopback endpoint is registered at the cluster\'s address with the Prod\'s port; without one it is a note', () => {
    const withAddress = (name: string, region: string, domain: string): Cluster => {
      const c = cluster(name, region, domain);
      c.spec.loadBalancer = { address: '192.0.2.40' };
      return c;
    };
    const clusters = [withAddress('tokyo-a', 'ap-northeast-1', 'tokyo'), cluster('osaka-a', 'ap-northeast-3', 'osaka')];
    const prods = [prod('p1', 'tokyo-a'), podProd('p2', 'tokyo-a', '127.0.0.1', 31001), prod('p3', 'osaka-a')];
    const r = tg(clusters, prods, policy([{ domain: 'tokyo', trafficDial: 100 }, { domain: 'osaka', trafficDial: 100 }]));
    // p1's endpoint is http://127.0.0.1:9/p1.
    assert.deepEqual(r.targets, { '192.0.2.40:9': 'tokyo-a', '192.0.2.40:31001': 'tokyo-a' });
    assert.equal(r.notes.length, 1);
    assert.match(r.notes[0]!, /Prod p3 \(cluster osaka-a\).*no spec\.loadBalancer\.address/);
  });

  it('targetGroup.port overrides every Prod\'s port (Prods sharing an address then share a target); IPv6 ids are bracketed', () => {
    const prods = [podProd('p1', 'tokyo-a', '10.0.1.11', 8080), podProd('p2', 'tokyo-a', '10.0.1.11', 8081), podProd('p3', 'osaka-a', '2001:db8::13', 8080)];
    const r = tg(world(), prods, both, spec({ port: 443 }));
    assert.deepEqual(r.targets, { '10.0.1.11:443': 'tokyo-a', '[2001:db8::13]:443': 'osaka-a' });
    assert.deepEqual(r.desired.targets.get('10.0.1.11:443')!.prods, ['p1', 'p2']);
    assert.equal(r.desired.targets.get('[2001:db8::13]:443')!.id, '2001:db8::13');
  });

  it('fail static: every cluster lost for health reasons keeps its targets; a cordoned one stays out', () => {
    const r = tg(world({ 'tokyo-a': { phase: 'NotReady' }, 'tokyo-b': { phase: 'Unknown' }, 'osaka-a': { phase: 'NotReady' }, 'osaka-b': { cordoned: true } }));
    assert.equal(r.failStatic, true);
    assert.deepEqual(Object.keys(r.targets).sort(), ['10.0.1.11:8080', '10.0.2.12:8080', '10.1.1.13:8080']);
  });

  it('instance targets: each serving Prod on every node of its cluster, at its endpoint port (the node port)', () => {
    const s = spec({ targetType: 'instance', instanceIds: { 'tokyo-a': ['i-0aaa1111bbbb2222c', 'i-0aaa1111bbbb2222d'], 'osaka-a': ['i-0ccc3333dddd4444e'] } });
    const prods = [podProd('p1', 'tokyo-a', '10.0.1.11', 30080), podProd('p2', 'tokyo-a', '10.0.1.11', 30081), podProd('p3', 'osaka-a', '10.1.1.13', 30080), podProd('p4', 'osaka-b', '10.1.2.14', 30080)];
    const r = tg(world(), prods, both, s);
    assert.deepEqual(r.targets, {
      'i-0aaa1111bbbb2222c:30080': 'tokyo-a',
      'i-0aaa1111bbbb2222c:30081': 'tokyo-a',
      'i-0aaa1111bbbb2222d:30080': 'tokyo-a',
      'i-0aaa1111bbbb2222d:30081': 'tokyo-a',
      'i-0ccc3333dddd4444e:30080': 'osaka-a',
    });
    assert.deepEqual(r.desired.targets.get('i-0aaa1111bbbb2222d:30081'), { id: 'i-0aaa1111bbbb2222d', port: 30081, cluster: 'tokyo-a', prods: ['p2'] });
    assert.match(r.notes.join('\n'), /Prod p4 \(cluster osaka-b\).*targetGroup\.instanceIds has no instances for cluster osaka-b/);
    // A NotReady cluster's nodes leave with it.
    assert.deepEqual(Object.keys(tg(world({ 'tokyo-a': { phase: 'NotReady' } }), prods, both, s).targets), ['i-0ccc3333dddd4444e:30080']);
  });

  it('the schema: instance ids only with targetType instance, and well formed; no availability zone for instances', () => {
    assert.throws(() => spec({ instanceIds: { 'tokyo-a': ['i-0aaa1111bbbb2222c'] } }), /`instanceIds` needs `targetType: instance`/);
    assert.throws(() => spec({ targetType: 'instance', instanceIds: { 'tokyo-a': ['web-node-1'] } }), /an EC2 instance id/);
    assert.throws(() => spec({ targetType: 'instance', availabilityZone: 'all' }), /applies to ip targets only/);
    assert.equal(spec().targetType, 'ip');
  });

  it('the schema wants a target group ARN', () => {
    assert.throws(() => TargetGroupSpec.parse({ targetGroupArn: 'arn:aws:elasticloadbalancing:ap-northeast-1:123456789012:loadbalancer/app/x/1' }), /target group ARN/);
    assert.equal(regionOfArn(TARGET_GROUP), 'ap-northeast-1');
  });
});

describe('target group bookkeeping', () => {
  const ch = (action: CloudChange['action'], id: string): CloudChange => ({ action, resource: `target/${id}`, fields: [] });

  it('registered = held + registered now − deregistered now; a failed write keeps both (the next read prunes)', () => {
    assert.deepEqual(registeredAfter(['a:1', 'b:1'], [ch('create', 'c:1'), ch('delete', 'b:1')], true), ['a:1', 'c:1']);
    assert.deepEqual(registeredAfter(['a:1', 'b:1'], [ch('create', 'c:1'), ch('delete', 'b:1')], false), ['a:1', 'b:1', 'c:1']);
  });

  it('splits a change into calls of at most 500 targets', () => {
    assert.deepEqual(chunks(Array.from({ length: 1201 }, (_, i) => i)).map((c) => c.length), [500, 500, 201]);
    assert.deepEqual(chunks([]), []);
  });
});
