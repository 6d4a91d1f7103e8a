import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DeregisterTargetsCommand, DescribeTargetHealthCommand, RegisterTargetsCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { TargetGroupSpec, type CloudTraffic, type Cluster, type Prod } from '../../../src/api/index.js';
import { CallMeter } from '../../../src/cloud/aws-call.js';
import { compileCloud } from '../../../src/cloud/compile.js';
import { diffStates } from '../../../src/cloud/state.js';
import { targetGroupTarget } from '../../../src/cloud/target-group/target.js';
import { plan, podProd, podProds, policy, TARGET_GROUP, tgCloudTraffic, world } from './cloud-fixtures.js';
import { cloudHarness } from './cloud-harness.js';
import { awsError, clientsOf, FakeTargetGroup } from './fake-aws.js';

const ALL = ['10.0.1.11:8080', '10.0.2.12:8080', '10.1.1.13:8080', '10.1.2.14:8080'];

function harness(ct: CloudTraffic, tg: FakeTargetGroup, opts: { clusters?: Cluster[]; prods?: Prod[] } = {}) {
  return cloudHarness(ct, { clients: clientsOf(undefined, undefined, tg), prods: opts.prods ?? podProds(), ...(opts.clusters ? { clusters: opts.clusters } : {}) });
}

describe('mocked AWS: ELBv2 target group shared by several clusters', () => {
  it('the first sync registers every serving endpoint in one call; the second sync reads once and writes nothing', async () => {
    const tg = new FakeTargetGroup();
    const h = await harness(tgCloudTraffic(), tg);
    await h.sync();
    assert.deepEqual(tg.registerCalls(), [ALL]);
    assert.equal(tg.mock.commandCalls(DeregisterTargetsCommand).length, 0);
    assert.deepEqual(tg.registered(), ALL);
    let st = await h.status();
    assert.deepEqual(st.registered, ALL);
    assert.deepEqual(st.lastSyncCalls, { reads: 1, writes: 1 });
    assert.equal(st.provider, 'targetGroup');
    assert.equal(st.conditions.find((c) => c.type === 'Synced')?.reason, 'Applied');
    assert.match((await h.eventMessages()).join('\n'), /Updated: 4 to create \(target\/10\.0\.1\.11:8080: registered \(none\)→true/);

    tg.settle();
    tg.mock.resetHistory();
    await h.sync();
    assert.equal(tg.mock.commandCalls(DescribeTargetHealthCommand).length, 1);
    assert.equal(tg.mock.commandCalls(RegisterTargetsCommand).length + tg.mock.commandCalls(DeregisterTargetsCommand).length, 0);
    st = await h.status();
    assert.deepEqual(st.lastSyncCalls, { reads: 1, writes: 0 });
    assert.deepEqual(st.registered, ALL);

    // A pass prompted by a heartbeat (nothing compiled differently, within the sync period) calls nothing.
    tg.mock.resetHistory();
    await h.pass();
    assert.equal(tg.mock.calls().length, 0);
  });

  it('a killed cluster: one DeregisterTargets of only its targets; then idle again while they drain', async () => {
    const tg = new FakeTargetGroup();
    const h = await harness(tgCloudTraffic(), tg);
    await h.sync();
    tg.settle();
    tg.mock.resetHistory();
    await h.setPhase('tokyo-a', 'NotReady');
    await h.pass();
    assert.deepEqual(tg.deregisterCalls(), [['10.0.1.11:8080']]);
    assert.equal(tg.mock.commandCalls(RegisterTargetsCommand).length, 0);
    const st = await h.status();
    assert.deepEqual(st.registered, ALL.slice(1));
    assert.deepEqual(st.lastSyncCalls, { reads: 1, writes: 1 });

    // The target is draining (deregistration delay): not deregistered again on every sync.
    tg.mock.resetHistory();
    await h.sync();
    assert.equal(tg.mock.commandCalls(DeregisterTargetsCommand).length, 0);

    // The cluster comes back: its target is registered again.
    await h.setPhase('tokyo-a', 'Ready');
    await h.pass();
    assert.deepEqual(tg.registerCalls(), [['10.0.1.11:8080']]);
    assert.deepEqual((await h.status()).registered, ALL);
  });

  it('a foreign target is never deregistered, even at an address Drover wants; it is reported in status', async () => {
    const tg = new FakeTargetGroup();
    // Another cluster's aws-load-balancer-controller registered tokyo-a's pod itself, and someone a VM.
    tg.add('10.0.1.11', 8080);
    tg.add('10.9.9.9', 80);
    const h = await harness(tgCloudTraffic(), tg);
    await h.sync();
    assert.deepEqual(tg.registerCalls(), [ALL.slice(1)], 'what is already registered is not registered again');
    let st = await h.status();
    assert.deepEqual(st.registered, ALL.slice(1), 'not recorded as Drover\'s: it did not register it');
    assert.deepEqual(st.notOwned, [
      'target/10.0.1.11:8080: registered by someone else (a target Drover wants, already serving); Drover never deregisters it',
      'target/10.9.9.9:80: registered by someone else; Drover never deregisters it',
    ]);
    assert.equal(st.conditions.find((c) => c.type === 'Owned')?.status, 'False');
    assert.match((await h.eventMessages()).join('\n'), /NotOwned: not touched, not owned by Drover: target\/10\.0\.1\.11:8080/);

    // tokyo-a dies: its target was not registered by Drover, so nothing is deregistered.
    tg.mock.resetHistory();
    await h.setPhase('tokyo-a', 'NotReady');
    await h.pass();
    assert.equal(tg.mock.commandCalls(DeregisterTargetsCommand).length, 0);
    assert.ok(tg.registered().includes('10.0.1.11:8080') && tg.registered().includes('10.9.9.9:80'));

    // Every other cluster dies but one: only Drover's own targets are deregistered.
    await h.setPhase('tokyo-b', 'NotReady');
    await h.setPhase('osaka-a', 'NotReady');
    await h.pass();
    assert.deepEqual(tg.deregisterCalls(), [['10.0.2.12:8080', '10.1.1.13:8080']]);
    st = await h.status();
    assert.deepEqual(st.registered, ['10.1.2.14:8080']);
    assert.ok(tg.registered().includes('10.9.9.9:80'));
  });

  it('a throttled call is retried with backoff', async () => {
    const tg = new FakeTargetGroup();
    const h = await harness(tgCloudTraffic(), tg);
    const throttled = awsError('Throttling', 'Rate exceeded', 400);
    tg.mock.on(DescribeTargetHealthCommand).rejectsOnce(throttled).callsFake(() => ({ TargetHealthDescriptions: [] }));
    tg.mock.on(RegisterTargetsCommand).rejectsOnce(throttled).rejectsOnce(awsError('ServiceUnavailable', 'Service Unavailable', 503, 'server')).resolves({});
    await h.sync();
    assert.equal(tg.mock.commandCalls(DescribeTargetHealthCommand).length, 2);
    assert.equal(tg.mock.commandCalls(RegisterTargetsCommand).length, 3);
    const st = await h.status();
    assert.deepEqual(st.lastSyncCalls, { reads: 2, writes: 3 });
    assert.equal(st.lastError, undefined);
    assert.deepEqual(st.registered, ALL);
  });

  it('a write that fails for good is a condition; what it may have registered is pruned by the next read', async () => {
    const tg = new FakeTargetGroup();
    const h = await harness(tgCloudTraffic(), tg);
    tg.mock.on(RegisterTargetsCommand).rejectsOnce(awsError('InvalidTargetException', 'The following targets are not in the target group VPC: 10.0.1.11'));
    await h.sync();
    let st = await h.status();
    assert.equal(st.lastError?.code, 'InvalidTargetException');
    assert.equal(st.conditions.find((c) => c.type === 'Synced')?.status, 'False');
    // Nothing was registered: the next read drops the ids, and the sync registers them again.
    tg.mock.on(RegisterTargetsCommand).callsFake(() => ({}));
    tg.mock.resetHistory();
    await h.sync();
    assert.equal(tg.mock.commandCalls(RegisterTargetsCommand).length, 1);
    st = await h.status();
    assert.equal(st.lastError, undefined);
  });

  it('dryRun writes nothing, shows the planned change in status, an Event and `drover cloud diff`', async () => {
    const tg = new FakeTargetGroup();
    tg.add('10.9.9.9', 80);
    const h = await harness(tgCloudTraffic({}, { mode: 'dryRun' }), tg);
    await h.sync();
    assert.equal(tg.mock.commandCalls(RegisterTargetsCommand).length + tg.mock.commandCalls(DeregisterTargetsCommand).length, 0);
    const st = await h.status();
    assert.deepEqual(st.registered ?? [], []);
    assert.deepEqual(st.planned.map((c) => `${c.action} ${c.resource}`), ALL.map((id) => `create target/${id}`));
    assert.match((await h.eventMessages()).join('\n'), /WouldUpdate: dryRun, not written: 4 to create/);
    const text = await h.diffText();
    assert.match(text, /The next sync would plan these changes \(dryRun: nothing is written\):/);
    assert.match(text, /\+ target\/10\.0\.1\.11:8080\n {6}registered: \(none\) → true/);
    assert.match(text, /Plan: 4 to create, 0 to update, 0 to delete\./);
    assert.match(text, /! target\/10\.9\.9\.9:80: registered by someone else/);
  });

  it('dryRun without credentials: a killed cluster shows its deregistration, its return the registration again', async () => {
    const tg = new FakeTargetGroup();
    tg.mock.on(DescribeTargetHealthCommand).rejects(Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }));
    const h = await harness(tgCloudTraffic({}, { mode: 'dryRun' }), tg);
    await h.sync();
    assert.equal((await h.status()).observedSource, 'unknown');
    await h.setPhase('tokyo-a', 'NotReady');
    await h.pass();
    assert.deepEqual((await h.status()).planned, [{ action: 'delete', resource: 'target/10.0.1.11:8080', fields: [{ name: 'registered', from: true }] }]);
    // The simulated state lost the target with its planned deregistration: its return is a change again.
    await h.setPhase('tokyo-a', 'Ready');
    await h.pass();
    assert.deepEqual((await h.status()).planned, [{ action: 'create', resource: 'target/10.0.1.11:8080', fields: [{ name: 'registered', to: true }] }]);
    assert.equal(tg.mock.commandCalls(RegisterTargetsCommand).length + tg.mock.commandCalls(DeregisterTargetsCommand).length, 0);
  });

  it('fail static: every cluster lost at once keeps the current registrations, and says so', async () => {
    const tg = new FakeTargetGroup();
    const h = await harness(tgCloudTraffic(), tg);
    await h.sync();
    tg.settle();
    tg.mock.resetHistory();
    for (const c of ['tokyo-a', 'tokyo-b', 'osaka-a', 'osaka-b']) await h.setPhase(c, 'NotReady');
    await h.pass();
    assert.equal(tg.mock.commandCalls(DeregisterTargetsCommand).length, 0);
    assert.deepEqual(tg.registered(), ALL);
    const st = await h.status();
    assert.equal(st.conditions.find((c) => c.type === 'FailStatic')?.status, 'True');
    assert.match((await h.eventMessages()).join('\n'), /FailStatic: every cluster looks lost at once: keeping the current registrations/);
    assert.match(await h.diffText(), /Fail static: every cluster looks lost at once; current registrations kept/);
  });

  it('instance targets (node ports): registered per node, foreign instances kept, a killed cluster deregisters only its nodes', async () => {
    const tg = new FakeTargetGroup();
    tg.add('i-0fff9999eeee8888a', 30080); // another controller's node
    const ct = tgCloudTraffic({ targetType: 'instance', instanceIds: { 'tokyo-a': ['i-0aaa1111bbbb2222c', 'i-0aaa1111bbbb2222d'], 'osaka-a': ['i-0ccc3333dddd4444e'] } });
    const prods = [podProd('p1', 'tokyo-a', '10.0.1.11', 30080), podProd('p3', 'osaka-a', '10.1.1.13', 30081)];
    const h = await harness(ct, tg, { prods });
    await h.sync();
    assert.deepEqual(tg.registerCalls(), [['i-0aaa1111bbbb2222c:30080', 'i-0aaa1111bbbb2222d:30080', 'i-0ccc3333dddd4444e:30081']]);
    assert.equal(tg.mock.commandCalls(RegisterTargetsCommand)[0]!.args[0].input.Targets![0]!.AvailabilityZone, undefined, 'no zone for instance targets');
    tg.settle();
    tg.mock.resetHistory();
    await h.sync();
    assert.equal(tg.mock.commandCalls(RegisterTargetsCommand).length + tg.mock.commandCalls(DeregisterTargetsCommand).length, 0, 'idle');
    await h.setPhase('tokyo-a', 'NotReady');
    await h.pass();
    assert.deepEqual(tg.deregisterCalls(), [['i-0aaa1111bbbb2222c:30080', 'i-0aaa1111bbbb2222d:30080']]);
    assert.deepEqual(tg.registered(), ['i-0ccc3333dddd4444e:30081', 'i-0fff9999eeee8888a:30080']);
  });

  it('a change of more than 500 targets is split into calls of 500', async () => {
    const tg = new FakeTargetGroup();
    const prods = Array.from({ length: 1100 }, (_, i) => podProd(`p${i}`, i % 2 ? 'tokyo-a' : 'osaka-a', `10.2.${Math.floor(i / 250)}.${(i % 250) + 1}`));
    const clusters = world();
    const compiled = compileCloud(tgCloudTraffic().spec, plan(prods, clusters, policy([{ domain: 'tokyo', trafficDial: 100 }, { domain: 'osaka', trafficDial: 100 }])), clusters);
    assert.equal(compiled.provider, 'targetGroup');
    if (compiled.provider !== 'targetGroup') return;
    assert.equal(compiled.tg.targets.size, 1100);
    const target = targetGroupTarget(tg.client, TargetGroupSpec.parse({ targetGroupArn: TARGET_GROUP }), compiled.tg, []);
    const meter = new CallMeter();
    const seen = await target.observe(meter, undefined);
    await target.apply(meter, seen, diffStates(seen.state, compiled.state), undefined);
    assert.deepEqual(tg.registerCalls().map((c) => c.length), [500, 500, 100]);
    assert.deepEqual({ reads: meter.reads, writes: meter.writes }, { reads: 1, writes: 3 });
  });
});
