/**
 * `drover get mirrors`, `describe`, `drover mirror diff` and `drover mirror shift` through bin/drover.js
 * against a real `drover server` (controllers off: the test writes the status the mirror controller would).
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LoadBalancerMirror } from '../../../src/api/kinds/load-balancer-mirror.js';
import { RemoteStore } from '../../../src/client/remote-store.js';
import { runCli, startServer, tempDir, type ServerProcess } from './harness.js';

const ARN = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/net/drover-5f0c2a9e1b7d4c3a/0000000000000001';

describe('drover mirror and get mirrors', () => {
  let server: ServerProcess;
  let store: RemoteStore;
  before(async () => {
    server = await startServer({ dataDir: join(tempDir(), 'data'), args: ['--no-controllers'] });
    store = new RemoteStore({ server: server.url, token: server.adminToken });
    const spec = {
      source: { octavia: { loadBalancerId: '9cc72e60-4e37-4c16-9215-652a2f03d85f', cloud: { name: 'prod' } } },
      target: { nlb: { region: 'eu-west-1', subnets: ['subnet-0a1'] } },
    };
    const web = LoadBalancerMirror.parse({ apiVersion: 'drover.dev/v1alpha1', kind: 'LoadBalancerMirror', metadata: { name: 'web' }, spec: { ...spec, dns: { route53: { hostedZoneId: 'Z1', recordName: 'web.example.com' } } } });
    const created = await store.create(web);
    const now = new Date().toISOString();
    await store.updateStatus({
      ...created,
      status: LoadBalancerMirror.shape.status.unwrap().parse({
        built: { loadBalancerArn: ARN, targetGroups: {}, listeners: {} },
        targets: { desired: 3, registered: 2, healthy: 2 },
        dns: { weights: { source: 90, target: 10 } },
        pending: [{ action: 'create', resource: 'target/drover-0123/10.0.0.13:8443', fields: [{ name: 'registered', to: true }] }],
        notes: [{ resource: 'listener/routed (HTTP:8080)', severity: 'refused', message: '1 L7 policy: an L4 mirror would bypass it' }],
        lastSyncTime: now,
        conditions: [{ type: 'Synced', status: 'False', reason: 'ServiceUnavailable', message: 'RegisterTargets failed', lastTransitionTime: now }],
      }),
    });
    await store.create(LoadBalancerMirror.parse({ apiVersion: 'drover.dev/v1alpha1', kind: 'LoadBalancerMirror', metadata: { name: 'nodns' }, spec }));
  });
  after(async () => {
    await store?.close();
    await server?.stop('SIGKILL');
  });
  const cli = (...args: string[]) => runCli(args, { server });

  it('get mirrors: NAME SOURCE NLB TARGETS DNS AGE', async () => {
    const r = await cli('get', 'mirrors');
    assert.equal(r.code, 0, r.stderr);
    const [head, ...rows] = r.stdout.trim().split('\n');
    assert.deepEqual(head!.split(/\s+/), ['NAME', 'SOURCE', 'NLB', 'TARGETS', 'DNS', 'AGE']);
    assert.deepEqual(rows.map((l) => l.split(/\s+/).slice(0, 5)), [
      ['nodns', 'octavia/9cc72e60', '<none>', '<none>', '<none>'],
      ['web', 'octavia/9cc72e60', 'drover-5f0c2a9e1b7d4c3a', '2/3', '90/10'],
    ]);
    const d = await cli('describe', 'mirror', 'web');
    assert.equal(d.code, 0, d.stderr);
    assert.match(d.stdout, /ServiceUnavailable/);
  });

  it('mirror diff prints the pending change and what is not mirrored; --exit-code gives 2', async () => {
    const r = await cli('mirror', 'diff', 'web', '--exit-code');
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stdout, /\+ target\/drover-0123\/10\.0\.0\.13:8443\n\s+registered: \(none\) → true/);
    assert.match(r.stdout, /not mirrored: listener\/routed \(HTTP:8080\): 1 L7 policy/);
    const missing = await cli('mirror', 'diff', 'ghost');
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /LoadBalancerMirror "ghost" not found/);
  });

  it('mirror shift sets the weights (and back); a bad percentage or a mirror without DNS is refused, naming why', async () => {
    let r = await cli('mirror', 'shift', 'web', '--target', '100', '--no-wait');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual((await store.get('LoadBalancerMirror', 'web'))!.spec.dns?.route53.weights, { source: 0, target: 100 });
    r = await cli('mirror', 'shift', 'web', '--target', '10', '--no-wait');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual((await store.get('LoadBalancerMirror', 'web'))!.spec.dns?.route53.weights, { source: 90, target: 10 });
    r = await cli('mirror', 'shift', 'web', '--target', '150', '--no-wait');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /--target 150: must be a whole percentage from 0 to 100/);
    r = await cli('mirror', 'shift', 'nodns', '--target', '100', '--no-wait');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /no spec\.dns\.route53/);
    // Without --no-wait and no controller running, it says the records do not hold the weights yet.
    r = await cli('mirror', 'shift', 'web', '--target', '100', '--timeout', '500');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /do not hold the new weights yet/);
  });
});

describe('drover mirror sync against a running controller', () => {
  let server: ServerProcess;
  let store: RemoteStore;
  before(async () => {
    server = await startServer({ dataDir: join(tempDir(), 'data') });
    store = new RemoteStore({ server: server.url, token: server.adminToken });
    // An Octavia that is not there: the sync runs and says why it could not read the source.
    const dir = tempDir('drover-mirror-cli-');
    writeFileSync(join(dir, 'clouds.yaml'), 'clouds:\n  test:\n    auth_type: none\n    load_balancer_endpoint_override: http://127.0.0.1:1\n');
    await store.create(
      LoadBalancerMirror.parse({
        apiVersion: 'drover.dev/v1alpha1',
        kind: 'LoadBalancerMirror',
        metadata: { name: 'web' },
        spec: { source: { octavia: { loadBalancerId: '9cc72e60-4e37-4c16-9215-652a2f03d85f', cloud: { name: 'test', configPath: join(dir, 'clouds.yaml') } } }, target: { nlb: { region: 'eu-west-1', subnets: ['subnet-0a1'] } }, syncPeriod: '10m' },
      }),
    );
  });
  after(async () => {
    await store?.close();
    await server?.stop('SIGKILL');
  });

  it('asks for a sync, waits for it, and exits 1 naming the field when the source cannot be read', async () => {
    const r = await runCli(['mirror', 'sync', 'web', '--timeout', '20000'], { server });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /mirror web: synced at \S+ \(\d+ Octavia calls, 0 AWS reads, 0 writes\)/);
    assert.match(r.stderr, /not synced: OctaviaUnreachable: spec\.source\.octavia\.cloud: Octavia at http:\/\/127\.0\.0\.1:1 is unreachable/);
    const m = await store.get('LoadBalancerMirror', 'web');
    assert.ok(m?.metadata.finalizers.includes('drover.dev/nlb-mirror'));
  });
});
