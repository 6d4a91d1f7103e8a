/**
 * The load balancer mirror against a real Octavia API server (Debian octavia-api: noauth, SQLite, noop
 * provider; test/helpers/octavia-server.ts) and mocked AWS (aws-sdk-client-mock: a stateful ELBv2 and
 * Route 53). Octavia objects are created through its v2 API; the mirror reads them as it would in production.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RegisterTargetsCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { ChangeResourceRecordSetsCommand } from '@aws-sdk/client-route-53';
import { MIRROR_FINALIZER } from '../../src/api/kinds/load-balancer-mirror.js';
import { syncOwnedHealthChecks } from '../../src/cloud/route53/health-checks.js';
import { startOctavia, type OctaviaServer } from '../helpers/octavia-server.js';
import { FakeZone } from '../unit/cloud/fake-aws.js';
import { harness, mirror, octaviaSpec } from '../unit/mirror/mirror-harness.js';
import { awsError, FakeElb } from '../unit/mirror/mirror-fake-elb.js';

let octavia: OctaviaServer | undefined;
let skip: string | false = false;

before(async () => {
  const o = await startOctavia();
  if ('skip' in o) skip = o.skip;
  else octavia = o;
});
after(async () => {
  await octavia?.stop();
});

/** An Octavia LB with a TCP:443 listener → pool of `members` (port 8443) with an HTTP health monitor. */
async function webLb(members: string[]): Promise<{ lb: string; pool: string; memberIds: Map<string, string> }> {
  const o = octavia!;
  const lb = await o.createLoadBalancer('web', '10.20.0.5');
  const listener = await o.createListener(lb, 'TCP', 443, { name: 'tls' });
  const pool = await o.createPool({ listenerId: listener, protocol: 'TCP', name: 'web' });
  const memberIds = new Map<string, string>();
  for (const ip of members) memberIds.set(ip, await o.createMember(pool, ip, 8443));
  await o.createHealthMonitor(pool, { type: 'HTTP', delay: 5, timeout: 3, max_retries: 3, max_retries_down: 2, url_path: '/healthz', expected_codes: '200' });
  return { lb, pool, memberIds };
}

describe('LoadBalancerMirror: real Octavia, mocked AWS', () => {
  it('builds the NLB, its target group and listener with owner tags, registers the members; an idle sync writes nothing', async (t) => {
    if (skip) return t.skip(skip);
    const { lb } = await webLb(['10.0.0.11', '10.0.0.12']);
    const elb = new FakeElb();
    const h = await harness(mirror('web', octaviaSpec(lb, octavia!.cloudsYaml)), elb);
    await h.sync();
    let st = await h.status();
    assert.equal(st.lastError, undefined, JSON.stringify(st.lastError));
    assert.deepEqual(elb.writes(), ['CreateLoadBalancer', 'CreateTargetGroup', 'CreateListener', 'RegisterTargets']);
    const [nlb] = [...elb.lbs.values()];
    assert.equal(nlb?.Type, 'network');
    assert.equal(st.built.loadBalancerArn, nlb?.LoadBalancerArn);
    assert.deepEqual(elb.tags.get(nlb.LoadBalancerArn!)?.find((x) => x.Key === 'drover.dev/owner'), { Key: 'drover.dev/owner', Value: 'drover-web' });
    const [tg] = [...elb.tgs.values()];
    assert.equal(tg?.Protocol, 'TCP');
    assert.equal(tg?.Port, 443);
    assert.equal(tg?.TargetType, 'ip');
    assert.equal(tg?.VpcId, 'vpc-0aaa');
    assert.equal(tg?.HealthCheckProtocol, 'HTTP');
    assert.equal(tg?.HealthCheckPath, '/healthz');
    assert.equal(tg?.HealthCheckIntervalSeconds, 5);
    assert.equal(tg?.UnhealthyThresholdCount, 2);
    assert.deepEqual(elb.registered(tg.TargetGroupName!), ['10.0.0.11:8443', '10.0.0.12:8443']);
    const [listener] = [...elb.listeners.values()];
    assert.equal(listener?.Port, 443);
    assert.equal(listener?.DefaultActions?.[0]?.TargetGroupArn, tg?.TargetGroupArn);
    assert.deepEqual(st.targets, { desired: 2, registered: 2, healthy: 0 });
    assert.equal(st.source?.members, 2);
    assert.equal(st.conditions.find((c) => c.type === 'Synced')?.reason, 'Applied');
    assert.ok((await h.get()).metadata.finalizers.includes(MIRROR_FINALIZER), 'the finalizer is there before anything is built');

    elb.settle();
    elb.calls.length = 0;
    await h.sync();
    st = await h.status();
    assert.deepEqual(elb.writes(), [], 'an idle sync writes nothing');
    assert.deepEqual(st.lastSyncCalls, { octavia: 5, awsReads: 4, awsWrites: 0 });
    assert.equal(st.inSync, true);
    assert.equal(st.health?.target, '2/2 healthy');
    assert.equal(st.conditions.find((c) => c.type === 'Synced')?.reason, 'InSync');
    // Our own status write's watch event, before the period is up: no call at all.
    elb.calls.length = 0;
    await h.pass();
    assert.deepEqual(elb.calls, []);
  });

  it('a member added in Octavia is registered, a member removed is deregistered — only that difference', async (t) => {
    if (skip) return t.skip(skip);
    const { lb, pool, memberIds } = await webLb(['10.0.1.11', '10.0.1.12']);
    const elb = new FakeElb();
    const h = await harness(mirror('web', octaviaSpec(lb, octavia!.cloudsYaml)), elb);
    await h.sync();
    elb.settle();
    const tgName = [...elb.tgs.values()][0]!.TargetGroupName!;

    await octavia!.createMember(pool, '10.0.1.13', 8443);
    elb.calls.length = 0;
    elb.mock.resetHistory();
    await h.sync();
    assert.deepEqual(elb.writes(), ['RegisterTargets']);
    assert.deepEqual(elb.mock.commandCalls(RegisterTargetsCommand)[0]?.args[0].input.Targets, [{ Id: '10.0.1.13', Port: 8443, AvailabilityZone: 'all' }]);
    assert.deepEqual(elb.registered(tgName), ['10.0.1.11:8443', '10.0.1.12:8443', '10.0.1.13:8443']);
    assert.match((await h.events()).join('\n'), /Updated: 1 to create \(target\/.*\/10\.0\.1\.13:8443/);

    await octavia!.deleteMember(pool, memberIds.get('10.0.1.11')!);
    elb.calls.length = 0;
    await h.sync();
    assert.deepEqual(elb.writes(), ['DeregisterTargets']);
    assert.deepEqual(elb.registered(tgName), ['10.0.1.12:8443', '10.0.1.13:8443']);
    const st = await h.status();
    assert.deepEqual(st.lastDiff.map((c) => `${c.action} ${c.resource}`), [`delete target/${tgName}/10.0.1.11:8443`]);
    // While the removed target drains, the next sync writes nothing.
    elb.calls.length = 0;
    await h.sync();
    assert.deepEqual(elb.writes(), []);
  });

  it('a partial AWS failure is completed by the next sync; a restarted controller creates nothing twice', async (t) => {
    if (skip) return t.skip(skip);
    const { lb } = await webLb(['10.0.2.11']);
    const elb = new FakeElb();
    const h = await harness(mirror('web', octaviaSpec(lb, octavia!.cloudsYaml)), elb);
    elb.failNext('CreateListener', awsError('ServiceUnavailable', 'Service Unavailable', 503, 'server'), 3);
    await h.sync();
    let st = await h.status();
    assert.equal(st.lastError?.code, 'ServiceUnavailable');
    assert.equal(st.conditions.find((c) => c.type === 'Synced')?.status, 'False');
    assert.ok(st.built.loadBalancerArn, 'the load balancer created before the failure is recorded');
    assert.equal(Object.keys(st.built.targetGroups).length, 1);
    assert.equal(elb.listeners.size, 0);

    // The control plane restarts and lost the status (a crash between the create and the status write).
    h.restart();
    await h.store.updateStatus({ ...(await h.get()), status: undefined });
    elb.calls.length = 0;
    await h.sync();
    st = await h.status();
    assert.equal(st.lastError, undefined, JSON.stringify(st.lastError));
    assert.deepEqual(elb.writes(), ['CreateListener', 'RegisterTargets'], 'found by name and owner tag: nothing created twice');
    assert.ok(elb.calls.includes('DescribeTags'), 'ownership of what was found by name is checked by tag');
    assert.equal(elb.lbs.size, 1);
    assert.equal(elb.tgs.size, 1);
    assert.equal(elb.listeners.size, 1);
  });

  it('refuses an L7 listener with policies and mirrors plain HTTP as TCP, saying both', async (t) => {
    if (skip) return t.skip(skip);
    const o = octavia!;
    const lb = await o.createLoadBalancer('mixed', '10.20.0.6');
    const http = await o.createListener(lb, 'HTTP', 80, { name: 'http' });
    const pool = await o.createPool({ listenerId: http, protocol: 'HTTP', name: 'web' });
    await o.createMember(pool, '10.0.3.11', 8080);
    const routed = await o.createListener(lb, 'HTTP', 8080, { name: 'routed' });
    await o.createPool({ listenerId: routed, protocol: 'HTTP', name: 'api' });
    const other = await o.createPool({ lbId: lb, protocol: 'HTTP', name: 'other' });
    await o.createL7Policy(routed, other);
    const elb = new FakeElb();
    const h = await harness(mirror('mixed', octaviaSpec(lb, o.cloudsYaml)), elb);
    await h.sync();
    const st = await h.status();
    assert.deepEqual([...elb.listeners.values()].map((l) => `${l.Protocol}:${l.Port}`), ['TCP:80']);
    const refused = st.notes.filter((n) => n.severity === 'refused');
    assert.equal(refused.length, 1);
    assert.match(refused[0]!.resource, /routed \(HTTP:8080\)/);
    assert.match(refused[0]!.message, /L7 polic/);
    assert.ok(st.notes.some((n) => n.severity === 'approximated' && /HTTP mirrored as TCP/.test(n.message)));
    assert.equal(st.conditions.find((c) => c.type === 'Mirrored')?.status, 'False');
    assert.match((await h.events()).join('\n'), /NotMirrored: listener\/routed/);
  });

  it('bad input: no such LB, unreachable Octavia, subnets in two VPCs — each names the field', async (t) => {
    if (skip) return t.skip(skip);
    const elb = new FakeElb();
    let h = await harness(mirror('ghost', octaviaSpec('4ec1b7a2-9d4e-4c55-a0f4-6f1b1b3b0e01', octavia!.cloudsYaml)), elb);
    await h.sync();
    let st = await h.status();
    assert.equal(st.lastError?.code, 'OctaviaNotFound');
    assert.equal(st.lastError?.field, 'spec.source.octavia.loadBalancerId');
    assert.deepEqual(elb.calls, [], 'AWS is not touched when the source cannot be read');

    const dir = mkdtempSync(join(tmpdir(), 'drover-mirror-'));
    // A port that was just free: nothing listens there.
    const closed = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    writeFileSync(join(dir, 'clouds.yaml'), `clouds:\n  test:\n    auth_type: none\n    load_balancer_endpoint_override: http://127.0.0.1:${closed}\n`);
    h = await harness(mirror('down', octaviaSpec('4ec1b7a2-9d4e-4c55-a0f4-6f1b1b3b0e01', join(dir, 'clouds.yaml'))), elb);
    await h.sync();
    st = await h.status();
    assert.equal(st.lastError?.code, 'OctaviaUnreachable');
    assert.equal(st.lastError?.field, 'spec.source.octavia.cloud');
    assert.match((await h.events()).join('\n'), /SyncFailed: spec\.source\.octavia\.cloud: Octavia at http:\/\/127\.0\.0\.1:\d+ is unreachable: ECONNREFUSED/);

    const { lb } = await webLb(['10.0.4.11']);
    h = await harness(mirror('vpcs', { ...octaviaSpec(lb, octavia!.cloudsYaml), target: { nlb: { region: 'eu-west-1', subnets: ['subnet-0a1', 'subnet-0c3'] } } }), elb);
    await h.sync();
    st = await h.status();
    assert.equal(st.lastError?.field, 'spec.target.nlb.subnets');
    assert.match(st.lastError.message, /same VPC.*fix: list existing subnets of one VPC/);
    assert.equal(elb.lbs.size, 0);
  });

  it('deleting the mirror deletes the NLB and target groups it built, and its DNS records; then the finalizer goes', async (t) => {
    if (skip) return t.skip(skip);
    const { lb } = await webLb(['10.0.5.11']);
    const elb = new FakeElb();
    const zone = new FakeZone('ZMIRROR');
    const spec = octaviaSpec(lb, octavia!.cloudsYaml, { dns: { route53: { hostedZoneId: 'ZMIRROR', recordName: 'web.example.com', healthChecks: { source: { type: 'TCP' }, target: { type: 'TCP' } } } } });
    const h = await harness(mirror('web', spec), elb, { route53: zone.client });
    await h.sync();
    const st = await h.status();
    assert.equal(st.lastError, undefined, JSON.stringify(st.lastError));
    const records = zone.records.filter((r) => r.Type === 'A');
    assert.deepEqual(records.map((r) => `${r.SetIdentifier} ${r.Weight} ${r.HealthCheckId}`).sort(), ['drover-source 90 hc-1', 'drover-target 10 hc-2']);
    assert.equal(records.find((r) => r.SetIdentifier === 'drover-source')?.ResourceRecords?.[0]?.Value, '10.20.0.5');
    assert.equal(records.find((r) => r.SetIdentifier === 'drover-target')?.AliasTarget?.DNSName, st.built.dnsName);
    assert.deepEqual(st.dns?.weights, { source: 90, target: 10 });
    assert.equal(h.hc.checks.get('hc-1')?.settings.ipAddress, '10.20.0.5');
    assert.equal(h.hc.checks.get('hc-2')?.settings.fqdn, st.built.dnsName);
    assert.equal(h.hc.checks.get('hc-2')?.settings.port, 443);
    zone.mock.resetHistory();
    await h.sync();
    assert.equal(zone.mock.commandCalls(ChangeResourceRecordSetsCommand).length, 0, 'idle DNS: no batch');

    // `drover mirror shift web --target 100` changes the spec's weights: the next pass (at once, not at
    // the end of the period) writes them in one batch.
    const cur = await h.get();
    await h.store.update({ ...cur, spec: { ...cur.spec, dns: { route53: { ...cur.spec.dns!.route53, weights: { source: 0, target: 100 } } } } });
    await h.pass();
    assert.equal(zone.mock.commandCalls(ChangeResourceRecordSetsCommand).length, 1);
    assert.deepEqual(zone.records.filter((r) => r.Type === 'A').map((r) => `${r.SetIdentifier} ${r.Weight}`).sort(), ['drover-source 0', 'drover-target 100']);
    assert.deepEqual((await h.status()).dns?.weights, { source: 0, target: 100 });

    await h.store.delete('LoadBalancerMirror', 'web');
    await h.sync();
    assert.equal(elb.lbs.size, 0);
    assert.equal(elb.tgs.size, 0);
    assert.deepEqual(zone.records.filter((r) => r.Type === 'A'), []);
    assert.equal(h.hc.checks.size, 0);
    assert.equal(await h.store.get('LoadBalancerMirror', 'web'), undefined, 'the finalizer was removed: the mirror is gone');
    assert.match((await h.events()).join('\n'), /Deleted: deleted the NLB arn:aws:elasticloadbalancing/);
  });

  it('DNS health checks through the shared Route 53 code (mocked AWS): created once with owner tags, named by the records, deleted after them', async (t) => {
    if (skip) return t.skip(skip);
    const { lb } = await webLb(['10.0.6.11']);
    const elb = new FakeElb();
    const zone = new FakeZone('ZMIRROR2');
    const spec = octaviaSpec(lb, octavia!.cloudsYaml, { dns: { route53: { hostedZoneId: 'ZMIRROR2', recordName: 'api.example.com', healthChecks: { source: { type: 'TCP' }, target: { type: 'TCP' } } } } });
    const h = await harness(mirror('api', spec), elb, { route53: zone.client, syncHealthChecks: syncOwnedHealthChecks });
    await h.sync();
    const st = await h.status();
    assert.equal(st.lastError, undefined, JSON.stringify(st.lastError));
    assert.equal(zone.healthChecks.size, 2);
    for (const { hc, tags } of zone.healthChecks.values()) assert.ok(tags.some((tag) => tag.Key === 'drover.dev/owner'), `owner tag on ${hc.Id}`);
    const records = zone.records.filter((r) => r.Type === 'A');
    assert.deepEqual(new Set(records.map((r) => r.HealthCheckId)), new Set(zone.healthChecks.keys()), 'each record names one of the checks created');
    h.restart();
    await h.sync();
    assert.equal(zone.healthChecks.size, 2, 'a restarted controller creates no second set');
    await h.store.delete('LoadBalancerMirror', 'api');
    await h.sync();
    assert.deepEqual(zone.records.filter((r) => r.Type === 'A'), []);
    assert.equal(zone.healthChecks.size, 0);
  });
});

