/**
 * The set-up shared by the CloudTraffic end-to-end tests and bench/cloud-traffic.ts: two local clusters in
 * two AWS regions (each with a load balancer ARN), the example fleet `web`, a CloudTraffic `web-ga` on a
 * Global Accelerator listener; and a fake Global Accelerator over HTTP for processes that cannot take an
 * in-process mock (`drover up`, `drover server`): a small server speaking GA's JSON protocol
 * (X-Amz-Target GlobalAccelerator_V20180706.*, response shapes of the GA API reference) that the SDK reaches
 * through the standard AWS_ENDPOINT_URL_GLOBAL_ACCELERATOR.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exampleAppPath } from './fixtures.js';

export const LISTENER = 'arn:aws:globalaccelerator::123456789012:accelerator/1234abcd-abcd-1234-abcd-1234abcdefgh/listener/0123vxyz';
export const lbArn = (cluster: string, region: string): string => `arn:aws:elasticloadbalancing:${region}:123456789012:loadbalancer/app/${cluster}/50dc6c495c0c9188`;
/** The GA weight field of a cluster's endpoint, as CloudTraffic states and diffs show it. */
export const gaWeightField = (cluster: string, region: string): string => `weight[${lbArn(cluster, region)}]`;
/** tokyo in ap-northeast-1, osaka in ap-northeast-3: one cluster and one failure domain each. */
export const CLUSTERS = [
  { name: 'tokyo', region: 'ap-northeast-1' },
  { name: 'osaka', region: 'ap-northeast-3' },
] as const;

/** Clusters (local provider, for `drover up` or simulated agents), the fleet and the CloudTraffic, as one file. */
export function cloudTrafficFile(o: { mode: 'apply' | 'dryRun'; syncPeriod?: string }): string {
  const clusters = CLUSTERS.map(
    (c) => `apiVersion: drover.dev/v1alpha1
kind: Cluster
metadata: { name: ${c.name} }
spec: { provider: local, region: ${c.region}, domain: ${c.name}, capacity: { prods: 3 }, loadBalancer: { arn: "${lbArn(c.name, c.region)}" } }
---
`,
  ).join('');
  return `${clusters}apiVersion: drover.dev/v1alpha1
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
  mode: ${o.mode}
${o.syncPeriod ? `  syncPeriod: ${o.syncPeriod}\n` : ''}  globalAccelerator:
    listenerArn: "${LISTENER}"
    endpointGroups: [{ region: ap-northeast-1 }, { region: ap-northeast-3 }]
`;
}

/** No AWS configuration from this machine reaches the processes started after it (env, files, IMDS). */
export function isolateAwsEnv(env: NodeJS.ProcessEnv = process.env): void {
  for (const k of Object.keys(env)) if (k.startsWith('AWS_')) delete env[k];
  env.AWS_EC2_METADATA_DISABLED = 'true';
  env.AWS_CONFIG_FILE = '/nonexistent/aws-config';
  env.AWS_SHARED_CREDENTIALS_FILE = '/nonexistent/aws-credentials';
}

export interface GaCall {
  at: number;
  op: string;
  input: Record<string, unknown>;
}

export interface FakeGaServer {
  url: string;
  calls: GaCall[];
  /** The weight GA holds for an endpoint. */
  weightOf(endpointArn: string): number | undefined;
  /** The next calls of `op` answer this error (GA's JSON error shape) instead. */
  failNext(op: string, code: string, message: string, times?: number): void;
  /** Every call of `op` answers this error until `stopFailing()`. */
  failAlways(op: string, code: string, message: string): void;
  stopFailing(): void;
  /** The environment that points the SDK at this server, with dummy credentials. */
  env(): Record<string, string>;
  close(): Promise<void>;
}

interface Endpoint {
  EndpointId: string;
  Weight: number;
  HealthState: string;
  ClientIPPreservationEnabled: boolean;
}

/** Global Accelerator, enough of it: the endpoint groups of LISTENER (one per CLUSTERS region, weight 128), tagged as owned by `web-ga`. */
export async function startFakeGlobalAccelerator(): Promise<FakeGaServer> {
  const calls: GaCall[] = [];
  const failures: { op: string; code: string; message: string }[] = [];
  const always = new Map<string, { code: string; message: string }>();
  const groups = CLUSTERS.map((c) => ({
    EndpointGroupArn: `${LISTENER}/endpoint-group/${c.region}`,
    EndpointGroupRegion: c.region,
    EndpointDescriptions: [{ EndpointId: lbArn(c.name, c.region), Weight: 128, HealthState: 'HEALTHY', ClientIPPreservationEnabled: true }] as Endpoint[],
    TrafficDialPercentage: 100,
    HealthCheckPort: 80,
    HealthCheckProtocol: 'TCP',
    HealthCheckIntervalSeconds: 30,
    ThresholdCount: 3,
  }));
  const tags = CLUSTERS.map((c) => ({ Key: `drover.dev/owner/0123vxyz/${c.region}`, Value: 'drover-web-ga' }));
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (b: Buffer) => (body += b.toString()));
    req.on('end', () => {
      const op = String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
      const input = (body ? JSON.parse(body) : {}) as Record<string, unknown>;
      calls.push({ at: Date.now(), op, input });
      const headers = { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': `req-${calls.length}` };
      const failure = failures.findIndex((f) => f.op === op);
      const f = failure >= 0 ? failures.splice(failure, 1)[0] : always.get(op);
      if (f) {
        res.writeHead(400, { ...headers, 'x-amzn-errortype': f.code });
        res.end(JSON.stringify({ __type: f.code, Message: f.message }));
        return;
      }
      let out: unknown = {};
      if (op === 'ListEndpointGroups') out = { EndpointGroups: groups };
      else if (op === 'ListTagsForResource') out = { Tags: tags };
      else if (op === 'UpdateEndpointGroup') {
        const g = groups.find((x) => x.EndpointGroupArn === input.EndpointGroupArn);
        if (g) {
          g.TrafficDialPercentage = (input.TrafficDialPercentage as number | undefined) ?? g.TrafficDialPercentage;
          const conf = (input.EndpointConfigurations as { EndpointId: string; Weight: number }[] | undefined) ?? [];
          g.EndpointDescriptions = conf.map((c) => ({ EndpointId: c.EndpointId, Weight: c.Weight, HealthState: 'HEALTHY', ClientIPPreservationEnabled: true }));
        }
        out = { EndpointGroup: g };
      }
      res.writeHead(200, headers);
      res.end(JSON.stringify(out));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    calls,
    weightOf: (arn) => groups.flatMap((g) => g.EndpointDescriptions).find((e) => e.EndpointId === arn)?.Weight,
    failNext(op, code, message, times = 1) {
      for (let i = 0; i < times; i++) failures.push({ op, code, message });
    },
    failAlways(op, code, message) {
      always.set(op, { code, message });
    },
    stopFailing() {
      failures.length = 0;
      always.clear();
    },
    env: () => ({ AWS_ENDPOINT_URL_GLOBAL_ACCELERATOR: url, AWS_ACCESS_KEY_ID: 'fake', AWS_SECRET_ACCESS_KEY: 'fake', AWS_EC2_METADATA_DISABLED: 'true' }),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
