/**
 * Route 53 health checks created and owned by Drover, with the Route 53 client mocked (aws-sdk-client-mock
 * behind FakeZone, answering as the Route 53 API reference describes CreateHealthCheck's CallerReference,
 * UpdateHealthCheck's HealthCheckVersion, ListHealthChecks and DeleteHealthCheck).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ChangeTagsForResourceCommand, CreateHealthCheckCommand, DeleteHealthCheckCommand, UpdateHealthCheckCommand } from '@aws-sdk/client-route-53';
import type { CloudTraffic } from '../../../src/api/index.js';
import { FINALIZER_HEALTH_CHECKS } from '../../../src/api/kinds/cloud-traffic.js';
import { CallMeter } from '../../../src/cloud/aws-call.js';
import { callerReference, syncOwnedHealthChecks, type DesiredHealthCheck } from '../../../src/cloud/route53/health-checks.js';
import { syncOwnedName, weightedRecordSet } from '../../../src/cloud/route53/records.js';
import { mutate } from '../../../src/store/mutate.js';
import { r53CloudTraffic } from './cloud-fixtures.js';
import { cloudHarness } from './cloud-harness.js';
import { clientsOf, FakeZone } from './fake-aws.js';

const CLUSTERS = ['osaka-a', 'osaka-b', 'tokyo-a', 'tokyo-b'];
const HC = { type: 'HTTPS', path: '/healthz', failureThreshold: 2 };

function withChecks(healthCheck: Record<string, unknown> = HC, route53: Record<string, unknown> = {}): CloudTraffic {
  return r53CloudTraffic({ healthCheck, ...route53 });
}

async function setup(ct = withChecks()) {
  const zone = new FakeZone();
  const h = await cloudHarness(ct, { clients: clientsOf(undefined, zone) });
  const recordCheck = (cluster: string) => zone.records.find((r) => r.SetIdentifier === `drover-${cluster}`)?.HealthCheckId;
  const checkOf = (id: string | undefined) => (id ? zone.healthChecks.get(id) : undefined);
  return { zone, h, recordCheck, checkOf };
}

describe('mocked AWS: Route 53 health checks owned by Drover', () => {
  it('one check per cluster record, tagged, created before the records that use it; a second sync writes nothing', async () => {
    const { zone, h, recordCheck, checkOf } = await setup();
    await h.sync();
    assert.equal(zone.healthChecks.size, 4);
    const uid = (await h.object()).metadata.uid!;
    for (const c of CLUSTERS) {
      const x = checkOf(recordCheck(c));
      assert.ok(x, `record of ${c} points at a check that exists`);
      assert.ok(x.hc.CallerReference!.startsWith(`${uid}/`), 'the reference names the CloudTraffic: that is the ownership');
      assert.deepEqual(
        { type: x.hc.HealthCheckConfig!.Type, fqdn: x.hc.HealthCheckConfig!.FullyQualifiedDomainName, port: x.hc.HealthCheckConfig!.Port, path: x.hc.HealthCheckConfig!.ResourcePath, threshold: x.hc.HealthCheckConfig!.FailureThreshold, sni: x.hc.HealthCheckConfig!.EnableSNI },
        { type: 'HTTPS', fqdn: `${c}-1234.${c.startsWith('tokyo') ? 'ap-northeast-1' : 'ap-northeast-3'}.elb.amazonaws.com`, port: 443, path: '/healthz', threshold: 2, sni: true },
      );
      assert.deepEqual(Object.fromEntries(x.tags.map((t) => [t.Key, t.Value])), { 'drover.dev/owner': 'drover-web-dns', 'drover.dev/resource': 'cloudtraffic/web-dns', 'drover.dev/endpoint': c, Name: `drover web-dns ${c}` });
    }
    const order = zone.mock.calls().map((c) => (c.args[0] as { constructor: { name: string } }).constructor.name);
    assert.ok(order.lastIndexOf('CreateHealthCheckCommand') < order.indexOf('ChangeResourceRecordSetsCommand'), 'checks exist before a record names them');
    const st = await h.status();
    assert.deepEqual(Object.keys(st.healthChecks ?? {}).sort(), CLUSTERS);
    assert.ok((await h.object()).metadata.finalizers.includes(FINALIZER_HEALTH_CHECKS));

    zone.mock.resetHistory();
    await h.sync();
    assert.equal(zone.calls(CreateHealthCheckCommand) + zone.calls(UpdateHealthCheckCommand) + zone.calls(DeleteHealthCheckCommand) + zone.batches().length, 0);
    assert.deepEqual((await h.status()).lastSyncCalls, { reads: 3, writes: 0 }, 'two ListResourceRecordSets and one ListHealthChecks');
    assert.equal(await h.diffText().then((t) => t.includes('No changes.')), true);
  });

  it('created once: a create whose answer was lost is retried with the same CallerReference, and a restart after a failed batch creates nothing', async () => {
    const { zone, h, recordCheck } = await setup();
    zone.loseNextCreateAnswer = true;
    zone.rejectNext = true;
    await h.sync();
    assert.equal(zone.calls(CreateHealthCheckCommand), 5, 'four checks, one of them asked twice');
    assert.equal(zone.healthChecks.size, 4, 'Route 53 answered the retry with the check it had made');
    assert.equal(zone.records.length, 0, 'the batch failed');
    assert.equal((await h.status()).lastError?.code, 'InvalidChangeBatch');

    // The control plane restarts: no memory, and the status never recorded the ids.
    h.restart();
    zone.mock.resetHistory();
    await h.sync();
    assert.equal(zone.calls(CreateHealthCheckCommand), 0, 'found by their CallerReference, not created again');
    assert.equal(zone.healthChecks.size, 4);
    for (const c of CLUSTERS) assert.ok(zone.healthChecks.has(recordCheck(c)!), `record of ${c} uses the check made before the restart`);
  });

  it('updated in place when a setting changes; replaced (create, repoint, delete) when the interval changes', async () => {
    const { zone, h, recordCheck, checkOf } = await setup();
    await h.sync();
    const before = Object.fromEntries(CLUSTERS.map((c) => [c, recordCheck(c)!]));
    await mutate<CloudTraffic>(h.store, 'CloudTraffic', 'web-dns', (o) => {
      o.spec.route53!.healthCheck = { ...o.spec.route53!.healthCheck!, path: '/ready', failureThreshold: 4 };
    });
    zone.mock.resetHistory();
    await h.pass();
    assert.equal(zone.calls(UpdateHealthCheckCommand), 4);
    assert.equal(zone.calls(CreateHealthCheckCommand) + zone.calls(DeleteHealthCheckCommand) + zone.batches().length, 0, 'same ids: records untouched');
    const upd = zone.mock.commandCalls(UpdateHealthCheckCommand)[0]!.args[0].input;
    assert.equal(upd.HealthCheckVersion, 1, 'the version read, so a concurrent change is refused, not overwritten');
    for (const c of CLUSTERS) {
      assert.equal(recordCheck(c), before[c]);
      assert.equal(checkOf(before[c])!.hc.HealthCheckConfig!.ResourcePath, '/ready');
    }

    await mutate<CloudTraffic>(h.store, 'CloudTraffic', 'web-dns', (o) => {
      o.spec.route53!.healthCheck = { ...o.spec.route53!.healthCheck!, intervalSeconds: 10 };
    });
    zone.mock.resetHistory();
    await h.pass();
    const order = zone.mock.calls().map((c) => (c.args[0] as { constructor: { name: string } }).constructor.name).filter((n) => /HealthCheckCommand$|ChangeResourceRecordSets/.test(n));
    assert.deepEqual(order, [...Array<string>(4).fill('CreateHealthCheckCommand'), 'ChangeResourceRecordSetsCommand', ...Array<string>(4).fill('DeleteHealthCheckCommand')]);
    assert.equal(zone.healthChecks.size, 4);
    for (const c of CLUSTERS) {
      assert.notEqual(recordCheck(c), before[c]);
      assert.equal(checkOf(recordCheck(c))!.hc.HealthCheckConfig!.RequestInterval, 10);
    }
    zone.mock.resetHistory();
    await h.sync();
    assert.equal(zone.mock.calls().length, 3, 'in sync again: reads only');
  });

  it('a check edited by someone between read and update is not overwritten: HealthCheckVersionMismatch, read again in 10 s', async () => {
    const { zone, h, recordCheck, checkOf } = await setup();
    await h.sync();
    await mutate<CloudTraffic>(h.store, 'CloudTraffic', 'web-dns', (o) => {
      o.spec.route53!.healthCheck = { ...o.spec.route53!.healthCheck!, failureThreshold: 5 };
    });
    const edited = recordCheck('osaka-a')!;
    zone.beforeNextUpdate = () => {
      const x = checkOf(edited)!;
      x.hc.HealthCheckConfig!.ResourcePath = '/by-hand';
      x.hc.HealthCheckVersion = 2;
    };
    const r = await h.pass();
    assert.equal(checkOf(edited)!.hc.HealthCheckConfig!.ResourcePath, '/by-hand', 'the concurrent edit was not overwritten');
    assert.equal((await h.status()).lastError?.code, 'HealthCheckVersionMismatch');
    assert.equal(r.requeueAfterMs, 10_000, 'comes back soon, as for a transient error');
    await h.sync();
    assert.equal(checkOf(edited)!.hc.HealthCheckConfig!.ResourcePath, '/healthz', 'the next sync read version 2 and put Drover\'s settings back');
    assert.equal(checkOf(edited)!.hc.HealthCheckConfig!.FailureThreshold, 5);
    assert.equal((await h.status()).lastError, undefined);
  });

  it('a check deleted by hand is made again (stepping past its deleted CallerReference); drift is reported', async () => {
    const { zone, h, recordCheck } = await setup();
    await h.sync();
    const gone = recordCheck('tokyo-a')!;
    zone.healthChecks.delete(gone);
    zone.deletedRefs.add(callerReference({ kind: 'CloudTraffic', uid: (await h.object()).metadata.uid!, name: 'web-dns' }, { key: 'tokyo-a', settings: { type: 'HTTPS', port: 443, intervalSeconds: 30, failureThreshold: 2 } }));
    zone.mock.resetHistory();
    await h.sync();
    const creates = zone.mock.commandCalls(CreateHealthCheckCommand).map((c) => c.args[0].input.CallerReference!);
    assert.equal(creates.length, 2);
    assert.match(creates[0]!, /\/0$/);
    assert.match(creates[1]!, /\/1$/, 'the next reference after the deleted one');
    assert.ok(zone.healthChecks.has(recordCheck('tokyo-a')!));
    assert.ok((await h.events()).includes('DriftDetected'));
  });

  it('a cluster whose record goes away loses its check after the batch; deleting the CloudTraffic deletes the rest (finalizer)', async () => {
    const { zone, h, recordCheck } = await setup();
    await h.sync();
    const osakaB = recordCheck('osaka-b')!;
    await h.store.delete('Cluster', 'osaka-b');
    zone.mock.resetHistory();
    await h.pass();
    assert.equal(recordCheck('osaka-b'), undefined);
    assert.equal(zone.healthChecks.has(osakaB), false);
    assert.deepEqual(zone.mock.commandCalls(DeleteHealthCheckCommand).map((c) => c.args[0].input.HealthCheckId), [osakaB]);
    assert.deepEqual(Object.keys((await h.status()).healthChecks ?? {}).sort(), ['osaka-a', 'tokyo-a', 'tokyo-b']);

    await h.store.delete('CloudTraffic', 'web-dns');
    assert.ok((await h.object()).metadata.deletionTimestamp, 'held by the finalizer');
    await h.pass();
    assert.equal(zone.healthChecks.size, 0);
    assert.equal(zone.records.filter((r) => r.Type === 'A').length, 3, 'the records stay (the steering is not undone)…');
    assert.ok(zone.records.every((r) => r.HealthCheckId === undefined), '…without a check that no longer exists');
    assert.equal(await h.store.get('CloudTraffic', 'web-dns'), undefined, 'finalizer removed: the object is gone');
    assert.ok((await h.events()).includes('HealthChecksDeleted'));
  });

  it('never touches checks Drover did not create: a bring-your-own id, and another owner\'s checks', async () => {
    const zone = new FakeZone();
    const mine = zone.add('console-2026-11-30', { Type: 'HTTP', FullyQualifiedDomainName: 'tokyo-a.example.com', Port: 80, ResourcePath: '/', RequestInterval: 30, FailureThreshold: 3 });
    const other = zone.add('0b7e2c4e-0000-4000-8000-000000000000/abcdef0123456789/0', { Type: 'TCP', IPAddress: '192.0.2.44', Port: 443, RequestInterval: 10, FailureThreshold: 1 });
    const h = await cloudHarness(withChecks(HC, { healthCheckIds: { 'tokyo-a': mine } }), { clients: clientsOf(undefined, zone) });
    await h.sync();
    assert.equal(zone.records.find((r) => r.SetIdentifier === 'drover-tokyo-a')!.HealthCheckId, mine, 'the user\'s check is attached');
    assert.equal(zone.healthChecks.size, 5, 'three of Drover\'s for the other clusters');
    await mutate<CloudTraffic>(h.store, 'CloudTraffic', 'web-dns', (o) => {
      o.spec.route53!.healthCheck = { ...o.spec.route53!.healthCheck!, failureThreshold: 5 };
    });
    await h.pass();
    await h.store.delete('CloudTraffic', 'web-dns');
    await h.pass();
    const touched = [UpdateHealthCheckCommand, DeleteHealthCheckCommand, ChangeTagsForResourceCommand].flatMap((cmd) => zone.mock.commandCalls(cmd as typeof UpdateHealthCheckCommand).map((c) => c.args[0].input.HealthCheckId ?? (c.args[0].input as { ResourceId?: string }).ResourceId));
    assert.ok(!touched.includes(mine) && !touched.includes(other), `touched: ${touched.join(', ')}`);
    assert.deepEqual([...zone.healthChecks.keys()].sort(), [mine, other].sort());
    assert.equal(zone.healthChecks.get(mine)!.hc.HealthCheckVersion, 1);
  });

  it('dryRun creates nothing and holds no finalizer; the diff shows the checks it would create', async () => {
    const { zone, h } = await setup(withChecks(HC, {}));
    await mutate<CloudTraffic>(h.store, 'CloudTraffic', 'web-dns', (o) => {
      o.spec.mode = 'dryRun';
    });
    await h.sync();
    assert.equal(zone.calls(CreateHealthCheckCommand) + zone.batches().length, 0);
    assert.deepEqual((await h.object()).metadata.finalizers, []);
    const diff = await h.diffText();
    assert.ok(diff.includes('+ healthCheck/tokyo-a'), diff);
    assert.match(diff, /healthCheckId: \(none\) → "healthCheck\/tokyo-a"/);
  });
});

describe('mocked AWS: the Route 53 API another controller calls (load balancer mirror)', () => {
  const owner = { kind: 'LoadBalancerMirror', uid: '5f0c2a7e-9a4b-4c1e-8d2f-0123456789ab', name: 'octavia-web' };
  const side = (key: string, ip: string): DesiredHealthCheck => ({ key, settings: { type: 'TCP', ipAddress: ip, port: 443, intervalSeconds: 10, failureThreshold: 3 } });

  it('syncOwnedHealthChecks + syncOwnedName: two weighted records with checks; idempotent; stale checks deleted after the records', async () => {
    const zone = new FakeZone();
    const meter = new CallMeter();
    const desired = [side('source', '198.51.100.10'), side('target', '203.0.113.20')];
    const first = await syncOwnedHealthChecks(zone.client, owner, desired, {}, { meter, prune: false });
    assert.deepEqual(first.created, ['source', 'target']);
    const ref = { zoneId: zone.zoneId, name: 'api.example.com', type: 'A' as const, ownerId: 'mirror-octavia-web', resourceRef: 'loadbalancermirror/octavia-web' };
    const records = (ids: Record<string, string>, w: [number, number]) => [
      weightedRecordSet(ref.name, 'A', { setIdentifier: 'source', weight: w[0], target: { values: ['198.51.100.10'], ttl: 30 }, healthCheckId: ids.source! }),
      weightedRecordSet(ref.name, 'A', { setIdentifier: 'target', weight: w[1], target: { alias: { hostedZoneId: 'Z31USIVHYNEOWT', dnsName: 'web-nlb-0123.elb.ap-northeast-1.amazonaws.com' } }, healthCheckId: ids.target! }),
    ];
    const dns = await syncOwnedName(meter, zone.client, ref, records(first.ids, [90, 10]));
    assert.equal(dns.written, true);
    assert.equal(dns.ownership.state, 'free');
    assert.deepEqual(zone.records.filter((r) => r.Type === 'A').map((r) => [r.SetIdentifier, r.Weight, r.HealthCheckId]), [['source', 90, first.ids.source], ['target', 10, first.ids.target]]);

    // The next sync, from the ids in the caller's status: nothing to write anywhere.
    zone.mock.resetHistory();
    const again = await syncOwnedHealthChecks(zone.client, owner, desired, first.ids, { meter });
    assert.deepEqual([again.created, again.updated, again.deleted], [[], [], []]);
    assert.equal((await syncOwnedName(meter, zone.client, ref, records(again.ids, [90, 10]))).written, false);
    assert.equal(zone.mock.calls().length, 3, 'one ListHealthChecks, two ListResourceRecordSets');

    // Shift to 100 % target and drop the source check: records first, then the deletion.
    const shifted = await syncOwnedHealthChecks(zone.client, owner, [desired[1]!], again.ids, { meter, prune: false });
    assert.deepEqual(shifted.stale, [first.ids.source]);
    assert.ok(zone.healthChecks.has(first.ids.source!), 'not deleted while a record may still use it');
    const { deleteHealthChecks } = await import('../../../src/cloud/route53/health-checks.js');
    await syncOwnedName(meter, zone.client, ref, [records(shifted.ids, [0, 100])[1]!]);
    await deleteHealthChecks(meter, zone.client, shifted.stale);
    assert.deepEqual([...zone.healthChecks.keys()], [first.ids.target]);
  });
});
