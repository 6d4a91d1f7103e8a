/**
 * End to end with real processes (built dist): `drover up` with a CloudTraffic in dryRun and no AWS
 * credentials; `drover chaos kill-cluster` SIGKILLs a cluster; the change Drover would make to Global
 * Accelerator (the killed cluster's endpoint to weight 0) appears in `drover cloud diff` and as an Event,
 * within seconds, and nothing was written to AWS.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ANNOTATION_CHAOS_KILLED_AT } from '../../../src/api/index.js';
import { exampleAppPath } from '../../helpers/fixtures.js';
import { UpRun } from '../../helpers/drover-up.js';
import { waitFor } from '../../helpers/wait-for.js';

const LISTENER = 'arn:aws:globalaccelerator::123456789012:accelerator/1234abcd-abcd-1234-abcd-1234abcdefgh/listener/0123vxyz';
const lb = (name: string, region: string) => `arn:aws:elasticloadbalancing:${region}:123456789012:loadbalancer/app/${name}/50dc6c495c0c9188`;

const cluster = (name: string, region: string) => `apiVersion: drover.dev/v1alpha1
kind: Cluster
metadata: { name: ${name} }
spec:
  provider: local
  region: ${region}
  domain: ${name}
  capacity: { prods: 3 }
  loadBalancer: { arn: "${lb(name, region)}" }
---
`;

const fileText = `${cluster('tokyo', 'ap-northeast-1')}${cluster('osaka', 'ap-northeast-3')}apiVersion: drover.dev/v1alpha1
kind: Fleet
metadata: { name: web }
spec:
  prods: 2
  version: v1
  app: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(exampleAppPath)}], healthPath: /healthz }
  warmup: { requests: 2 }
---
apiVersion: drover.dev/v1alpha1
kind: CloudTraffic
metadata: { name: web-ga }
spec:
  fleet: web
  mode: dryRun
  globalAccelerator:
    listenerArn: "${LISTENER}"
    endpointGroups: [{ region: ap-northeast-1 }, { region: ap-northeast-3 }]
`;

// No AWS credentials anywhere (and no instance metadata service to ask): observed is "unknown".
for (const k of Object.keys(process.env)) if (k.startsWith('AWS_')) delete process.env[k];
process.env.AWS_EC2_METADATA_DISABLED = 'true';
process.env.AWS_CONFIG_FILE = '/nonexistent/aws-config';
process.env.AWS_SHARED_CREDENTIALS_FILE = '/nonexistent/aws-credentials';

const runs: UpRun[] = [];
after(async () => {
  for (const r of runs) {
    await r.stop().catch(() => undefined);
    r.cleanup();
  }
});

describe('CloudTraffic in drover up (dryRun, no AWS credentials)', () => {
  it('chaos kill-cluster: the GA change Drover would make shows in `drover cloud diff` and an Event within seconds', async () => {
    const up = new UpRun(fileText);
    runs.push(up);
    const store = await up.running();
    const weight = (cluster: string, region: string) => `weight[${lb(cluster, region)}]`;
    // The first sync: both regions' endpoints planned at their plan weight, AWS not read.
    await waitFor('the first dryRun sync', async () => {
      const ct = await store.get('CloudTraffic', 'web-ga');
      const sim = ct?.status?.simulated?.['endpointGroup/ap-northeast-1'];
      return ct?.status?.observedSource === 'unknown' && sim !== undefined && Number(sim[weight("tokyo", "ap-northeast-1")] ?? 0) > 0;
    }, { timeoutMs: 60_000 });
    const got = await up.drover('get', 'cloudtraffic');
    assert.match(got.stdout, /^NAME\s+FLEET\s+PROVIDER\s+MODE\s+SYNCED\s+DRIFT\s+AGE/m);
    assert.match(got.stdout, /web-ga\s+web\s+globalAccelerator\s+dryRun\s+True/);

    await up.drover('chaos', 'kill-cluster', 'tokyo');
    // From the kill itself (the CLI records it before it sends SIGKILL), not from spawning the CLI.
    const killedAt = Date.parse((await store.get('Cluster', 'tokyo'))!.metadata.annotations[ANNOTATION_CHAOS_KILLED_AT]!);
    const ev = await waitFor('a WouldUpdate Event for tokyo', async () => {
      const events = (await store.list('Event')).items.filter((e) => e.spec.involvedObject.name === 'web-ga' && e.spec.reason === 'WouldUpdate');
      return events.find((e) => e.spec.message.includes(`${weight('tokyo', 'ap-northeast-1')} 128→0`));
    }, { timeoutMs: 20_000 });
    const seconds = (Date.parse(ev.spec.lastTimestamp) - killedAt) / 1000;
    // Heartbeat grace (3 s) + detection + one pass; GA's own health checks take 30–90 s. Loose bound for a
    // loaded CI machine; bench/cloud-traffic.ts measures it.
    assert.ok(seconds < 10, `planned ${seconds}s after the kill (heartbeat grace 3 s)`);

    const diff = await up.drover('cloud', 'diff', 'web-ga');
    assert.match(diff.stdout, /Observed: unknown/);
    assert.match(diff.stdout, /Last change planned \(dryRun, not written\)/);
    assert.ok(diff.stdout.includes(`~ endpointGroup/ap-northeast-1`), diff.stdout);
    assert.ok(diff.stdout.includes(`${weight('tokyo', 'ap-northeast-1')}: 128 → 0`), diff.stdout);
    const json = JSON.parse((await up.drover('cloud', 'diff', 'web-ga', '-o', 'json')).stdout) as { mode: string; lastChange: { applied: boolean } };
    assert.equal(json.mode, 'dryRun');
    assert.equal(json.lastChange.applied, false);
  });
});
