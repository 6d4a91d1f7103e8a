/**
 * `drover cloud diff` and `drover cloud sync` through the real CLI against a real `drover server` (built
 * dist), with mocked AWS: the server's SDK reaches a fake Global Accelerator over HTTP
 * (test/helpers/cloud-aws.ts) through AWS_ENDPOINT_URL_GLOBAL_ACCELERATOR. The clusters' agents are
 * simulated through the API (FakeAgents on a RemoteStore): heartbeats and Ready Prods.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { CloudTraffic } from '../../../src/api/kinds/cloud-traffic.js';
import { RemoteStore } from '../../../src/client/remote-store.js';
import { CLUSTERS, cloudTrafficFile, gaWeightField, isolateAwsEnv, lbArn, startFakeGlobalAccelerator, type FakeGaServer } from '../../helpers/cloud-aws.js';
import { FakeAgents } from '../../helpers/fake-agents.js';
import { waitFor } from '../../helpers/wait-for.js';
import { runCli, startServer, type ServerProcess } from '../../integration/server/harness.js';

const TOKYO = lbArn('tokyo', 'ap-northeast-1');

describe('mocked AWS: drover cloud diff and sync through the CLI against a real drover server', () => {
  let ga: FakeGaServer;
  let server: ServerProcess;
  let store: RemoteStore;
  let agents: FakeAgents;

  before(async () => {
    ga = await startFakeGlobalAccelerator();
    isolateAwsEnv();
    server = await startServer({ env: ga.env() });
    store = new RemoteStore({ server: server.url, token: server.adminToken });
    agents = new FakeAgents(store, 200);
    agents.alive.add('tokyo');
    agents.alive.add('osaka');
    agents.start();
  });
  after(async () => {
    await agents?.stop();
    await store?.close();
    await server?.stop('SIGKILL');
    await ga?.close();
  });

  it('a change AWS refused is shown by `cloud diff` (exit 2 with --exit-code); `cloud sync` fails with the reason, then applies it', async () => {
    // A long sync period: after the refusal nothing but `drover cloud sync` makes the controller try again.
    const applied = await runCli(['apply', '-f', '-'], { server, input: cloudTrafficFile({ mode: 'apply', syncPeriod: '1h' }) });
    assert.equal(applied.code, 0, applied.stderr);
    // Both regions serve: one Prod on each cluster, both dialled in, and AWS holds it. Before that the fleet
    // is still settling (a cluster not Ready yet gets no Prod), and the plan would change under the test.
    await waitFor('the first sync read AWS, and both regions serve', async () => {
      const st = (await store.get<CloudTraffic>('CloudTraffic', 'web-ga'))?.status;
      const serves = (c: (typeof CLUSTERS)[number]) => {
        const g = st?.observed?.[`endpointGroup/${c.region}`];
        return Number(g?.trafficDial ?? 0) === 100 && Number(g?.[gaWeightField(c.name, c.region)] ?? 0) > 0;
      };
      return st?.observedSource === 'aws' && st.conditions.some((c) => c.type === 'Synced' && c.status === 'True') && CLUSTERS.every(serves);
    }, { timeoutMs: 30_000 });
    let diff = await runCli(['cloud', 'diff', 'web-ga', '--exit-code'], { server });
    assert.equal(diff.code, 0, diff.stdout + diff.stderr);
    assert.match(diff.stdout, /No changes\. The cloud matches the traffic plan\./);

    // tokyo's agent stops (its heartbeats end); GA refuses every update (the controller's, however many
    // passes the plan's changes cause, and the first forced sync's) until the permission is "granted".
    ga.failAlways('UpdateEndpointGroup', 'AccessDeniedException', 'User: arn:aws:iam::123456789012:user/drover is not authorized to perform: globalaccelerator:UpdateEndpointGroup');
    agents.alive.delete('tokyo');
    await waitFor('the refused update recorded', async () => (await store.get<CloudTraffic>('CloudTraffic', 'web-ga'))?.status?.lastError?.code === 'AccessDeniedException', { timeoutMs: 30_000 });
    assert.equal(ga.weightOf(TOKYO), 128, 'nothing written');

    diff = await runCli(['cloud', 'diff', 'web-ga', '--exit-code'], { server });
    assert.equal(diff.code, 2, diff.stdout + diff.stderr);
    assert.match(diff.stdout, /Observed: what AWS held at the last sync/);
    assert.match(diff.stdout, /Last error: AccessDeniedException: /);
    assert.ok(diff.stdout.includes(`~ endpointGroup/ap-northeast-1\n      ${gaWeightField('tokyo', 'ap-northeast-1')}: 128 → 0`), diff.stdout);
    assert.match(diff.stdout, /Plan: 0 to create, 1 to update, 0 to delete\./);
    const json = JSON.parse((await runCli(['cloud', 'diff', 'web-ga', '-o', 'json'], { server })).stdout) as { changes: { resource: string }[]; observedSource: string };
    assert.deepEqual(json.changes.map((c) => c.resource), ['endpointGroup/ap-northeast-1']);
    assert.equal(json.observedSource, 'aws');

    let sync = await runCli(['cloud', 'sync', 'web-ga', '--timeout', '20000'], { server });
    assert.equal(sync.code, 1, sync.stdout + sync.stderr);
    assert.match(sync.stderr, /cloudtraffic web-ga: not synced: AccessDeniedException: /);
    assert.equal(ga.weightOf(TOKYO), 128);

    ga.stopFailing();
    const updatesBefore = ga.calls.filter((c) => c.op === 'UpdateEndpointGroup').length;
    sync = await runCli(['cloud', 'sync', 'web-ga', '--timeout', '20000'], { server });
    assert.equal(sync.code, 0, sync.stdout + sync.stderr);
    assert.match(sync.stdout, /synced at .* \(2 AWS reads, 1 writes; observed: aws\)/);
    assert.ok(sync.stdout.includes(`changed: 1 to update (endpointGroup/ap-northeast-1: ${gaWeightField('tokyo', 'ap-northeast-1')} 128→0)`), sync.stdout);
    assert.equal(ga.weightOf(TOKYO), 0);
    assert.equal(ga.calls.filter((c) => c.op === 'UpdateEndpointGroup').length - updatesBefore, 1, 'one UpdateEndpointGroup for the one changed group');

    diff = await runCli(['cloud', 'diff', 'web-ga', '--exit-code'], { server });
    assert.equal(diff.code, 0, diff.stdout);
    assert.match(diff.stdout, /No changes\./);
    assert.match(diff.stdout, /Last change applied at /);
  });

  it('`cloud sync` and `cloud diff` of a CloudTraffic that does not exist: exit 1 naming it', async () => {
    for (const verb of ['sync', 'diff']) {
      const r = await runCli(['cloud', verb, 'nope'], { server });
      assert.equal(r.code, 1, `${verb}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /nope/);
    }
  });
});
