import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ListEndpointGroupsCommand, ListTagsForResourceCommand, TagResourceCommand, UpdateEndpointGroupCommand } from '@aws-sdk/client-global-accelerator';
import type { CloudTraffic, Cluster, Event, TrafficPolicy } from '../../../src/api/index.js';
import { mutate } from '../../../src/store/mutate.js';
import { ownerRecordName } from '../../../src/cloud/route53/records.js';
import { ACCELERATOR, gaCloudTraffic, lbArn, policy, r53CloudTraffic } from './cloud-fixtures.js';
import { cloudHarness } from './cloud-harness.js';
import { awsError, clientsOf, FakeGa, FakeZone } from './fake-aws.js';

const TAG = (region: string) => `drover.dev/owner/0123vxyz/${region}`;
const OWNER = 'drover-web-ga';
const FOREIGN_EP = 'arn:aws:ec2:ap-northeast-1:123456789012:instance/i-0123456789abcdef0';

function harness(ct: CloudTraffic, opts: { ga?: FakeGa; zone?: FakeZone; pol?: TrafficPolicy; clusters?: Cluster[] } = {}) {
  return cloudHarness(ct, { clients: clientsOf(opts.ga, opts.zone), ...(opts.pol ? { pol: opts.pol } : {}), ...(opts.clusters ? { clusters: opts.clusters } : {}) });
}

function ownedGa(): FakeGa {
  const ga = new FakeGa();
  ga.addGroup('ap-northeast-1', { [lbArn('tokyo-a', 'ap-northeast-1')]: 128, [lbArn('tokyo-b', 'ap-northeast-1')]: 128, [FOREIGN_EP]: 7 });
  ga.addGroup('ap-northeast-3', { [lbArn('osaka-a', 'ap-northeast-3')]: 128, [lbArn('osaka-b', 'ap-northeast-3')]: 128 });
  ga.tags = [
    { Key: TAG('ap-northeast-1'), Value: OWNER },
    { Key: TAG('ap-northeast-3'), Value: OWNER },
    { Key: 'team', Value: 'web' },
  ];
  return ga;
}

describe('mocked AWS: Global Accelerator', () => {
  it('writes one UpdateEndpointGroup per changed group, and nothing on an idempotent second sync', async () => {
    const ga = ownedGa();
    const h = await harness(gaCloudTraffic(), { ga, pol: policy([{ domain: 'tokyo', trafficDial: 100 }, { domain: 'osaka', trafficDial: 20 }]) });
    await h.sync();
    assert.equal(ga.updates(), 1, 'only the osaka group differs (dial 100 → 20)');
    assert.equal(ga.groups.get('ap-northeast-3')!.TrafficDialPercentage, 20);
    const st = await h.status();
    assert.deepEqual(st.lastSyncCalls, { reads: 2, writes: 1 });
    assert.deepEqual(st.planned.map((c) => c.resource), ['endpointGroup/ap-northeast-3']);
    assert.ok((await h.events()).includes('Updated'));

    ga.mock.resetHistory();
    await h.sync();
    assert.equal(ga.updates(), 0, 'second sync: nothing to write');
    assert.equal(ga.mock.commandCalls(ListEndpointGroupsCommand).length + ga.mock.commandCalls(ListTagsForResourceCommand).length, 2);
    assert.deepEqual((await h.status()).lastSyncCalls, { reads: 2, writes: 0 });

    // A pass prompted by a heartbeat (nothing compiled differently, within the sync period) calls nothing.
    ga.mock.resetHistory();
    await h.pass();
    assert.equal(ga.mock.calls().length, 0);
  });

  it('a killed cluster produces one update: its weight 0, the rest and endpoints Drover does not own kept', async () => {
    const ga = ownedGa();
    const h = await harness(gaCloudTraffic(), { ga });
    await h.sync();
    assert.equal(ga.updates(), 0);
    await h.setPhase('tokyo-a', 'NotReady');
    await h.pass();
    assert.equal(ga.updates(), 1);
    const req = ga.mock.commandCalls(UpdateEndpointGroupCommand)[0]!.args[0].input;
    assert.equal(req.EndpointGroupArn, ga.groups.get('ap-northeast-1')!.EndpointGroupArn);
    assert.equal(req.TrafficDialPercentage, 100);
    assert.deepEqual(ga.weights('ap-northeast-1'), { [lbArn('tokyo-a', 'ap-northeast-1')]: 0, [lbArn('tokyo-b', 'ap-northeast-1')]: 128, [FOREIGN_EP]: 7 });
    assert.match((await h.eventMessages()).join('\n'), /Updated: 1 to update \(endpointGroup\/ap-northeast-1: weight\[.*tokyo-a.*\] 128→0\)/);
  });

  it('refuses groups it does not own and says so; adopt claims an untagged group with one TagResource', async () => {
    const ga = ownedGa();
    ga.tags = [{ Key: TAG('ap-northeast-1'), Value: 'someone-else' }];
    const h = await harness(gaCloudTraffic(), { ga, pol: policy([{ domain: 'tokyo', trafficDial: 50 }, { domain: 'osaka', trafficDial: 50 }]) });
    await h.sync();
    assert.equal(ga.updates(), 0);
    const st = await h.status();
    assert.equal(st.notOwned.length, 2);
    assert.match(st.notOwned[0]!, /^endpointGroup\/ap-northeast-1: owned by "someone-else"/);
    assert.match(st.notOwned[1]!, /^endpointGroup\/ap-northeast-3: not owned by Drover \(no tag/);
    assert.equal(st.conditions.find((c) => c.type === 'Owned')?.status, 'False');
    assert.ok((await h.events()).includes('NotOwned'));

    const adopt = await harness(gaCloudTraffic({ globalAccelerator: { listenerArn: gaCloudTraffic().spec.globalAccelerator!.listenerArn, endpointGroups: [{ region: 'ap-northeast-1' }, { region: 'ap-northeast-3' }], adopt: true } }), { ga, pol: policy([{ domain: 'tokyo', trafficDial: 50 }, { domain: 'osaka', trafficDial: 50 }]) });
    ga.mock.resetHistory();
    await adopt.sync();
    assert.equal(ga.updates(), 1, 'the untagged osaka group is claimed and written; tokyo stays someone else\'s');
    const tagCalls = ga.mock.commandCalls(TagResourceCommand);
    assert.equal(tagCalls.length, 1);
    assert.deepEqual(tagCalls[0]!.args[0].input, { ResourceArn: ACCELERATOR, Tags: [{ Key: TAG('ap-northeast-3'), Value: OWNER }] });
    assert.equal(ga.groups.get('ap-northeast-1')!.TrafficDialPercentage, 100);
  });

  it('drift made by hand: a Warning Event, reverted in apply mode, left alone in dryRun', async () => {
    const ga = ownedGa();
    const h = await harness(gaCloudTraffic(), { ga, pol: policy([{ domain: 'tokyo', trafficDial: 100 }, { domain: 'osaka', trafficDial: 30 }]) });
    await h.sync();
    ga.groups.get('ap-northeast-3')!.TrafficDialPercentage = 100; // someone in the console
    ga.mock.resetHistory();
    await h.sync();
    assert.equal(ga.updates(), 1);
    assert.equal(ga.groups.get('ap-northeast-3')!.TrafficDialPercentage, 30);
    const reasons = await h.events();
    assert.ok(reasons.includes('DriftDetected') && reasons.includes('DriftReverted'), reasons.join(','));

    // dryRun: the drift is reported, nothing is written.
    await mutate<CloudTraffic>(h.store, 'CloudTraffic', 'web-ga', (o) => {
      o.spec.mode = 'dryRun';
    });
    ga.groups.get('ap-northeast-3')!.TrafficDialPercentage = 90;
    ga.mock.resetHistory();
    await h.sync();
    assert.equal(ga.updates(), 0);
    const st = await h.status();
    assert.equal(st.drift[0]?.resource, 'endpointGroup/ap-northeast-3');
    assert.deepEqual(st.planned[0]?.fields, [{ name: 'trafficDial', from: 90, to: 30 }]);
  });

  it('throttling is retried with backoff; throttling that outlasts the retries is a condition, not a crash', async () => {
    const ga = ownedGa();
    const h = await harness(gaCloudTraffic(), { ga, pol: policy([{ domain: 'tokyo', trafficDial: 100 }, { domain: 'osaka', trafficDial: 10 }]) });
    const throttled = awsError('ThrottlingException', 'Rate exceeded', 400);
    // Two throttled answers, then the fake again.
    const groups = () => ({ EndpointGroups: [...ga.groups.values()].map((g) => structuredClone(g)) });
    ga.mock.on(ListEndpointGroupsCommand).rejectsOnce(throttled).rejectsOnce(awsError('InternalServiceErrorException', 'There was an internal error for AWS Global Accelerator.')).callsFake(groups);
    await h.sync();
    assert.equal(ga.updates(), 1);
    assert.deepEqual((await h.status()).lastSyncCalls, { reads: 4, writes: 1 });

    ga.mock.on(ListEndpointGroupsCommand).rejects(throttled);
    const r = await h.sync();
    const st = await h.status();
    assert.equal(st.lastError?.code, 'ThrottlingException');
    assert.equal(st.conditions.find((c) => c.type === 'Synced')?.status, 'False');
    assert.equal(r.requeueAfterMs, 10_000, 'comes back soon, not in a hot loop');
  });

  it('a permanent error (AccessDenied, no such listener) is a condition and one Event, then waits for the sync period', async () => {
    const ga = ownedGa();
    const h = await harness(gaCloudTraffic(), { ga });
    ga.mock.on(ListEndpointGroupsCommand).rejects(awsError('AccessDeniedException', 'User: arn:aws:iam::123456789012:user/drover is not authorized to perform: globalaccelerator:ListEndpointGroups'));
    const r = await h.sync();
    assert.equal(ga.mock.commandCalls(ListEndpointGroupsCommand).length, 1, 'not retried');
    assert.equal(r.requeueAfterMs, 60_000);
    await h.sync();
    const st = await h.status();
    assert.equal(st.conditions.find((c) => c.type === 'Synced')?.reason, 'AccessDeniedException');
    const evs = (await h.store.list('Event')).items.filter((e: Event) => e.spec.reason === 'SyncFailed');
    assert.equal(evs.length, 1);
    assert.equal(evs[0]!.spec.count, 1, 'the same error twice is one Event, not one per sync');
  });
});

describe('mocked AWS: Route 53', () => {
  it('claims a free name in one batch with its TXT ownership record; the second sync writes nothing', async () => {
    const zone = new FakeZone();
    const h = await harness(r53CloudTraffic(), { zone });
    await h.sync();
    const batches = zone.batches();
    assert.equal(batches.length, 1);
    assert.deepEqual(batches[0]!.map((c) => `${c.Action} ${c.ResourceRecordSet!.Type} ${c.ResourceRecordSet!.SetIdentifier ?? c.ResourceRecordSet!.Name}`), [
      'UPSERT A drover-osaka-a',
      'UPSERT A drover-osaka-b',
      'UPSERT A drover-tokyo-a',
      'UPSERT A drover-tokyo-b',
      `CREATE TXT ${ownerRecordName('www.example.com')}`,
    ]);
    assert.equal(batches[0]!.at(-1)!.ResourceRecordSet!.ResourceRecords![0]!.Value, '"heritage=drover,drover/owner=drover-web-dns,drover/resource=cloudtraffic/web-dns"');
    zone.mock.resetHistory();
    await h.sync();
    assert.equal(zone.batches().length, 0);
    assert.deepEqual((await h.status()).lastSyncCalls, { reads: 2, writes: 0 });
  });

  it('a killed cluster is one batch: its record to weight 0', async () => {
    const zone = new FakeZone();
    const h = await harness(r53CloudTraffic(), { zone });
    await h.sync();
    zone.mock.resetHistory();
    await h.setPhase('osaka-b', 'NotReady');
    await h.pass();
    const b = zone.batches();
    assert.equal(b.length, 1);
    assert.deepEqual(b[0]!.map((c) => `${c.Action} ${c.ResourceRecordSet!.SetIdentifier} ${c.ResourceRecordSet!.Weight}`), ['UPSERT drover-osaka-a 128', 'UPSERT drover-osaka-b 0']);
  });

  it('refuses a name whose records exist without a Drover TXT record, or whose TXT names another owner', async () => {
    const zone = new FakeZone();
    zone.records = [{ Name: 'www.example.com.', Type: 'A', TTL: 300, ResourceRecords: [{ Value: '192.0.2.10' }] }];
    const h = await harness(r53CloudTraffic(), { zone });
    await h.sync();
    assert.equal(zone.batches().length, 0);
    assert.match((await h.status()).notOwned[0]!, /record\/www\.example\.com\.\/A\/drover-osaka-a: 1 record set\(s\) exist without a Drover ownership record/);

    zone.records = [{ Name: ownerRecordName('www.example.com'), Type: 'TXT', TTL: 300, ResourceRecords: [{ Value: '"heritage=drover,drover/owner=other-cp,drover/resource=cloudtraffic/web"' }] }];
    await h.sync();
    assert.equal(zone.batches().length, 0);
    assert.match((await h.status()).notOwned[0]!, /owned by "other-cp"/);
  });

  it('a rejected batch applies nothing; the next sync reads again and writes what is still missing', async () => {
    const zone = new FakeZone();
    const h = await harness(r53CloudTraffic(), { zone });
    await h.sync();
    const before = structuredClone(zone.records);
    zone.rejectNext = true;
    await h.setPhase('tokyo-a', 'NotReady');
    await h.pass();
    assert.deepEqual(zone.records, before, 'Route 53 batches are atomic: nothing of the rejected one');
    const st = await h.status();
    assert.equal(st.lastError?.code, 'InvalidChangeBatch');
    assert.ok((await h.events()).includes('SyncFailed'));
    await h.sync();
    assert.equal(zone.records.find((r) => r.SetIdentifier === 'drover-tokyo-a')!.Weight, 0);
    assert.equal((await h.status()).lastError, undefined);
  });
});

describe('mocked AWS: dryRun', () => {
  it('without credentials: observed unknown, and a killed cluster still shows the change Drover would make', async () => {
    const ga = ownedGa();
    ga.mock.on(ListEndpointGroupsCommand).rejects(Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }));
    const h = await harness(gaCloudTraffic({ mode: 'dryRun' }), { ga });
    await h.sync();
    let st = await h.status();
    assert.equal(st.observedSource, 'unknown');
    assert.equal(st.conditions.find((c) => c.type === 'Synced')?.status, 'True');
    await h.setPhase('tokyo-b', 'NotReady');
    await h.pass();
    st = await h.status();
    assert.equal(ga.updates(), 0, 'dryRun writes nothing');
    assert.deepEqual(st.planned, [{ action: 'update', resource: 'endpointGroup/ap-northeast-1', fields: [{ name: `weight[${lbArn('tokyo-b', 'ap-northeast-1')}]`, from: 128, to: 0 }] }]);
    assert.match((await h.eventMessages()).join('\n'), /WouldUpdate: dryRun, not written: 1 to update/);
    assert.equal(ga.mock.commandCalls(ListEndpointGroupsCommand).length, 1, 'no credentials: AWS is not asked again at once');
  });
});
