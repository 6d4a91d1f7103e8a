/**
 * Cluster SIGKILL → Global Accelerator UpdateEndpointGroup issued (issue 16), and AWS calls per plan change
 * and per idle sync. Run: `npx tsc -p tsconfig.build.json && npx tsx bench/cloud-traffic.ts [kills]`.
 *
 * Real processes: `drover up` (2 local clusters in 2 AWS regions, each with a load balancer ARN, 2 Prods)
 * with a CloudTraffic in apply mode. AWS is mocked over the wire: a small HTTP server speaking Global
 * Accelerator's JSON protocol (X-Amz-Target GlobalAccelerator_V20180706.*) holds the endpoint groups, and
 * `drover up` reaches it through the SDK's standard AWS_ENDPOINT_URL_GLOBAL_ACCELERATOR. Per kill:
 * `drover chaos kill-cluster tokyo` (the time of the kill is the annotation it writes before SIGKILL), the
 * time until the fake GA receives the UpdateEndpointGroup giving tokyo's endpoint weight 0, and the calls
 * between; then `drover chaos restore` and the update back. Idle: calls over two sync periods (5 s).
 * GA's own detection, for comparison: health check interval 10 or 30 s × threshold 3 = 30–90 s.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Cluster } from '../src/api/kinds/cluster.js';
import type { CloudTraffic } from '../src/api/kinds/cloud-traffic.js';
import { ANNOTATION_CHAOS_KILLED_AT } from '../src/api/labels.js';
import { exampleAppPath } from '../test/helpers/fixtures.js';
import { UpRun } from '../test/helpers/drover-up.js';
import { waitFor } from '../test/helpers/wait-for.js';

const kills = Number(process.argv[2] ?? 3);
const LISTENER = 'arn:aws:globalaccelerator::123456789012:accelerator/1234abcd-abcd-1234-abcd-1234abcdefgh/listener/0123vxyz';
const lb = (name: string, region: string) => `arn:aws:elasticloadbalancing:${region}:123456789012:loadbalancer/app/${name}/50dc6c495c0c9188`;
const TOKYO = lb('tokyo', 'ap-northeast-1');

interface Call {
  at: number;
  op: string;
  input: Record<string, unknown>;
}

/** Global Accelerator, enough of it: endpoint groups of one listener, tags of its accelerator. */
function fakeGa() {
  const calls: Call[] = [];
  const group = (region: string, arn: string) => ({
    EndpointGroupArn: `${LISTENER}/endpoint-group/${region}`,
    EndpointGroupRegion: region,
    EndpointDescriptions: [{ EndpointId: arn, Weight: 128, HealthState: 'HEALTHY', ClientIPPreservationEnabled: true }],
    TrafficDialPercentage: 100,
    HealthCheckPort: 80,
    HealthCheckProtocol: 'TCP',
    HealthCheckIntervalSeconds: 30,
    ThresholdCount: 3,
  });
  const groups = [group('ap-northeast-1', TOKYO), group('ap-northeast-3', lb('osaka', 'ap-northeast-3'))];
  const tags = [
    { Key: 'drover.dev/owner/0123vxyz/ap-northeast-1', Value: 'drover-web-ga' },
    { Key: 'drover.dev/owner/0123vxyz/ap-northeast-3', Value: 'drover-web-ga' },
  ];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (b: Buffer) => (body += b.toString()));
    req.on('end', () => {
      const op = String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
      const input = (body ? JSON.parse(body) : {}) as Record<string, unknown>;
      calls.push({ at: Date.now(), op, input });
      let out: unknown = {};
      if (op === 'ListEndpointGroups') out = { EndpointGroups: groups };
      else if (op === 'ListTagsForResource') out = { Tags: tags };
      else if (op === 'UpdateEndpointGroup') {
        const g = groups.find((x) => x.EndpointGroupArn === input.EndpointGroupArn);
        if (g) {
          g.TrafficDialPercentage = (input.TrafficDialPercentage as number | undefined) ?? g.TrafficDialPercentage;
          g.EndpointDescriptions = ((input.EndpointConfigurations as { EndpointId: string; Weight: number }[] | undefined) ?? []).map((c) => ({ EndpointId: c.EndpointId, Weight: c.Weight, HealthState: 'HEALTHY', ClientIPPreservationEnabled: true }));
        }
        out = { EndpointGroup: g };
      }
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': `req-${calls.length}` });
      res.end(JSON.stringify(out));
    });
  });
  const weightOf = (arn: string) => groups.flatMap((g) => g.EndpointDescriptions).find((e) => e.EndpointId === arn)?.Weight;
  return { server, calls, weightOf };
}

const cluster = (name: string, region: string) => `apiVersion: drover.dev/v1alpha1
kind: Cluster
metadata: { name: ${name} }
spec: { provider: local, region: ${region}, domain: ${name}, capacity: { prods: 3 }, loadBalancer: { arn: "${lb(name, region)}" } }
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
  mode: apply
  syncPeriod: 5s
  globalAccelerator:
    listenerArn: "${LISTENER}"
    endpointGroups: [{ region: ap-northeast-1 }, { region: ap-northeast-3 }]
`;

const count = (calls: Call[], from: number, to = Infinity) => {
  const sel = calls.filter((c) => c.at >= from && c.at < to);
  return { reads: sel.filter((c) => c.op.startsWith('List')).length, writes: sel.filter((c) => !c.op.startsWith('List')).length, updates: sel.filter((c) => c.op === 'UpdateEndpointGroup').length };
};

async function main(): Promise<void> {
  const ga = fakeGa();
  await new Promise<void>((r) => ga.server.listen(0, '127.0.0.1', r));
  const port = (ga.server.address() as AddressInfo).port;
  for (const k of Object.keys(process.env)) if (k.startsWith('AWS_')) delete process.env[k];
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_GLOBAL_ACCELERATOR: `http://127.0.0.1:${port}`,
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
    AWS_EC2_METADATA_DISABLED: 'true',
  });
  const up = new UpRun(fileText);
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
    ga.server.close();
  }
}

await main();
