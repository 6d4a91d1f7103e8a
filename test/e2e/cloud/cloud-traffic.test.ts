/**
 * End to end with real processes (built dist): `drover up` with a CloudTraffic in dryRun and no AWS
 * credentials; `drover chaos kill-cluster` SIGKILLs a cluster; the change Drover would make to Global
 * Accelerator (the killed cluster's endpoint to weight 0) appears in `drover cloud diff` and as an Event,
 * within seconds, and nothing was written to AWS.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ANNOTATION_CHAOS_KILLED_AT } from '../../../src/api/index.js';
import { cloudTrafficFile, gaWeightField, isolateAwsEnv } from '../../helpers/cloud-aws.js';
import { UpRun } from '../../helpers/drover-up.js';
import { waitFor } from '../../helpers/wait-for.js';

// No AWS credentials anywhere (and no instance metadata service to ask): observed is "unknown".
isolateAwsEnv();

const runs: UpRun[] = [];
after(async () => {
  for (const r of runs) {
    await r.stop().catch(() => undefined);
    r.cleanup();
  }
});

describe('CloudTraffic in drover up (dryRun, no AWS credentials)', () => {
  it('chaos kill-cluster: the GA change Drover would make shows in `drover cloud diff` and an Event within seconds', async () => {
    const up = new UpRun(cloudTrafficFile({ mode: 'dryRun' }));
    runs.push(up);
    const store = await up.running();
    const weight = gaWeightField;
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
