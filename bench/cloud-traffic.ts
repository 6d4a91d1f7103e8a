/**
 * Cluster SIGKILL → Global Accelerator UpdateEndpointGroup issued (issue 16), and AWS calls per plan change
 * and per idle sync. Run: `npx tsc -p tsconfig.build.json && npx tsx bench/cloud-traffic.ts [kills]`.
 *
 * Real processes: `drover up` (2 local clusters in 2 AWS regions, each with a load balancer ARN, 2 Prods)
 * with a CloudTraffic in apply mode. AWS is mocked over the wire: a small HTTP server speaking Global
 * Accelerator's JSON protocol (test/helpers/cloud-aws.ts, shared with the end-to-end tests) holds the endpoint groups, and
 * `drover up` reaches it through the SDK's standard AWS_ENDPOINT_URL_GLOBAL_ACCELERATOR. Per kill:
 * `drover chaos kill-cluster tokyo` (the time of the kill is the annotation it writes before SIGKILL), the
 * time until the fake GA receives the UpdateEndpointGroup giving tokyo's endpoint weight 0, and the calls
 * between; then `drover chaos restore` and the update back. Idle: calls over two sync periods (5 s).
 * GA's own detection, for comparison: health check interval 10 or 30 s × threshold 3 = 30–90 s.
 */
import type { Cluster } from '../src/api/kinds/cluster.js';
import type { CloudTraffic } from '../src/api/kinds/cloud-traffic.js';
import { ANNOTATION_CHAOS_KILLED_AT } from '../src/api/labels.js';
import { cloudTrafficFile, isolateAwsEnv, lbArn, startFakeGlobalAccelerator, type GaCall } from '../test/helpers/cloud-aws.js';
import { UpRun } from '../test/helpers/drover-up.js';
import { waitFor } from '../test/helpers/wait-for.js';

const kills = Number(process.argv[2] ?? 3);
const TOKYO = lbArn('tokyo', 'ap-northeast-1');

const count = (calls: GaCall[], from: number, to = Infinity) => {
  const sel = calls.filter((c) => c.at >= from && c.at < to);
  return { reads: sel.filter((c) => c.op.startsWith('List')).length, writes: sel.filter((c) => !c.op.startsWith('List')).length, updates: sel.filter((c) => c.op === 'UpdateEndpointGroup').length };
};

async function main(): Promise<void> {
  const ga = await startFakeGlobalAccelerator();
  isolateAwsEnv();
  Object.assign(process.env, ga.env());
  const up = new UpRun(cloudTrafficFile({ mode: 'apply', syncPeriod: '5s' }));
  try {
    const store = await up.running();
    await waitFor('the first apply sync', async () => (await store.get<CloudTraffic>('CloudTraffic', 'web-ga'))?.status?.observedSource === 'aws', { timeoutMs: 60_000 });
    await waitFor('tokyo serving (weight > 0 in GA)', () => (ga.weightOf(TOKYO) ?? 0) > 0, { timeoutMs: 60_000 });
    // Idle: two sync periods with nothing changing.
    const idleFrom = Date.now();
    await new Promise((r) => setTimeout(r, 10_500));
    const idle = count(ga.calls, idleFrom);
    const syncs = Math.max(1, idle.reads / 2);
    console.log(`idle: ${idle.reads} reads, ${idle.writes} writes over 10.5 s (~${syncs} syncs: ${idle.reads / syncs} reads, ${idle.writes / syncs} writes per idle sync)`);

    const samples: { ms: number; reads: number; writes: number }[] = [];
    for (let i = 0; i < kills; i++) {
      const before = ga.calls.length;
      await up.drover('chaos', 'kill-cluster', 'tokyo');
      const killedAt = Date.parse((await store.get<Cluster>('Cluster', 'tokyo'))!.metadata.annotations[ANNOTATION_CHAOS_KILLED_AT]!);
      const update = await waitFor('the UpdateEndpointGroup for tokyo', () =>
        ga.calls.slice(before).find((c) => c.op === 'UpdateEndpointGroup' && JSON.stringify(c.input).includes(`"EndpointId":"${TOKYO}","Weight":0`)), { timeoutMs: 30_000, intervalMs: 10 });
      const c = count(ga.calls, killedAt, update.at + 1);
      samples.push({ ms: update.at - killedAt, reads: c.reads, writes: c.writes });
      console.log(`kill ${i + 1}: UpdateEndpointGroup ${update.at - killedAt} ms after the SIGKILL; calls kill→update: ${c.reads} reads, ${c.writes} writes (${c.updates} UpdateEndpointGroup)`);
      if (i + 1 < kills) {
        await up.drover('chaos', 'restore', 'tokyo', '--timeout', '60000');
        await waitFor('tokyo back in GA', () => (ga.weightOf(TOKYO) ?? 0) > 0, { timeoutMs: 60_000 });
      }
    }
    const sorted = samples.map((s) => s.ms).sort((a, b) => a - b);
    console.log(`kill → GA update: min ${sorted[0]} ms, median ${sorted[Math.floor(sorted.length / 2)]} ms, max ${sorted.at(-1)} ms over ${samples.length} kills (GA's own detection: 30–90 s)`);
  } finally {
    await up.stop().catch(() => undefined);
    up.cleanup();
    await ga.close();
  }
}

await main();
