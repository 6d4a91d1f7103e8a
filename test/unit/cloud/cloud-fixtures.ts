/** Plans, clusters and CloudTraffics for the cloud tests: two regions, two clusters each, one Prod per cluster. */
import { CloudTraffic, Cluster, Fleet, Prod, TrafficPolicy, type TrafficPlanSpec } from '../../../src/api/index.js';
import { compilePlan } from '../../../src/traffic/compile-plan.js';

const meta = (name: string) => ({ apiVersion: 'drover.dev/v1alpha1' as const, metadata: { name } });

export const ACCOUNT = '123456789012';
export const LISTENER = `arn:aws:globalaccelerator::${ACCOUNT}:accelerator/1234abcd-abcd-1234-abcd-1234abcdefgh/listener/0123vxyz`;
export const ACCELERATOR = `arn:aws:globalaccelerator::${ACCOUNT}:accelerator/1234abcd-abcd-1234-abcd-1234abcdefgh`;
export const lbArn = (cluster: string, region: string) => `arn:aws:elasticloadbalancing:${region}:${ACCOUNT}:loadbalancer/app/${cluster}/50dc6c495c0c9188`;
export const egArn = (region: string) => `${LISTENER}/endpoint-group/${region === 'ap-northeast-1' ? 'ab88888example' : 'cd99999example'}`;

export const fleet = Fleet.parse({ ...meta('web'), kind: 'Fleet', spec: { version: 'v1', app: { command: 'node' } } });

export interface ClusterOpts {
  phase?: 'Ready' | 'NotReady' | 'Unknown';
  cordoned?: boolean;
  draining?: boolean;
  lb?: boolean;
}

export function cluster(name: string, region: string, domain: string, o: ClusterOpts = {}): Cluster {
  return Cluster.parse({
    ...meta(name),
    kind: 'Cluster',
    spec: {
      region,
      domain,
      cordoned: o.cordoned ?? false,
      draining: o.draining ?? false,
      ...(o.lb === false ? {} : { loadBalancer: { arn: lbArn(name, region), dnsName: `${name}-1234.${region}.elb.amazonaws.com`, hostedZoneId: 'Z14GRHDCWA56QT' } }),
    },
    status: { phase: o.phase ?? 'Ready' },
  });
}

export function prod(name: string, clusterName: string): Prod {
  return Prod.parse({ ...meta(name), kind: 'Prod', spec: { fleet: 'web', cluster: clusterName, version: 'v1' }, status: { phase: 'Ready', endpoint: `http://127.0.0.1:9/${name}` } });
}

export function policy(groups: { domain: string; trafficDial?: number; weights?: Record<string, number>; defaultWeight?: number }[]): TrafficPolicy {
  return TrafficPolicy.parse({ ...meta('web'), kind: 'TrafficPolicy', spec: { fleet: 'web', endpointGroups: groups } });
}

export function plan(prods: Prod[], clusters: Cluster[], pol?: TrafficPolicy): TrafficPlanSpec {
  return compilePlan({ fleet, prods, clusters, tenants: [], policy: pol, revision: 1 });
}

/** tokyo-a/tokyo-b in ap-northeast-1 (domain tokyo), osaka-a/osaka-b in ap-northeast-3 (domain osaka). */
export function world(over: Record<string, ClusterOpts> = {}): Cluster[] {
  return [
    cluster('tokyo-a', 'ap-northeast-1', 'tokyo', over['tokyo-a']),
    cluster('tokyo-b', 'ap-northeast-1', 'tokyo', over['tokyo-b']),
    cluster('osaka-a', 'ap-northeast-3', 'osaka', over['osaka-a']),
    cluster('osaka-b', 'ap-northeast-3', 'osaka', over['osaka-b']),
  ];
}

export const worldProds = (): Prod[] => [prod('p1', 'tokyo-a'), prod('p2', 'tokyo-b'), prod('p3', 'osaka-a'), prod('p4', 'osaka-b')];

export function gaCloudTraffic(extra: Record<string, unknown> = {}, status?: unknown): CloudTraffic {
  return CloudTraffic.parse({
    ...meta('web-ga'),
    kind: 'CloudTraffic',
    metadata: { name: 'web-ga', generation: 1, resourceVersion: '1' },
    spec: {
      fleet: 'web',
      mode: 'apply',
      globalAccelerator: { listenerArn: LISTENER, endpointGroups: [{ region: 'ap-northeast-1' }, { region: 'ap-northeast-3' }] },
      ...extra,
    },
    ...(status ? { status } : {}),
  });
}

export function r53CloudTraffic(route53: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): CloudTraffic {
  return CloudTraffic.parse({
    ...meta('web-dns'),
    kind: 'CloudTraffic',
    metadata: { name: 'web-dns', generation: 1, resourceVersion: '1' },
    spec: { fleet: 'web', mode: 'apply', route53: { hostedZoneId: 'Z3M3LMPEXAMPLE', recordName: 'www.example.com', ...route53 }, ...extra },
  });
}

export const TARGET_GROUP = `arn:aws:elasticloadbalancing:ap-northeast-1:${ACCOUNT}:targetgroup/web-shared/73e2d6bc24d8a067`;

/** A Prod serving on a pod IP (what an `ip` target group registers). */
export function podProd(name: string, clusterName: string, ip: string, port = 8080, phase: 'Ready' | 'Draining' = 'Ready'): Prod {
  return Prod.parse({ ...meta(name), kind: 'Prod', spec: { fleet: 'web', cluster: clusterName, version: 'v1' }, status: { phase, endpoint: `http://${ip.includes(':') ? `[${ip}]` : ip}:${port}` } });
}

/** p1…p4 on pod IPs: tokyo-a 10.0.1.11, tokyo-b 10.0.2.12, osaka-a 10.1.1.13, osaka-b 10.1.2.14, port 8080. */
export const podProds = (): Prod[] => [podProd('p1', 'tokyo-a', '10.0.1.11'), podProd('p2', 'tokyo-b', '10.0.2.12'), podProd('p3', 'osaka-a', '10.1.1.13'), podProd('p4', 'osaka-b', '10.1.2.14')];

export function tgCloudTraffic(targetGroup: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): CloudTraffic {
  return CloudTraffic.parse({
    ...meta('web-tg'),
    kind: 'CloudTraffic',
    metadata: { name: 'web-tg', generation: 1, resourceVersion: '1' },
    spec: { fleet: 'web', mode: 'apply', targetGroup: { targetGroupArn: TARGET_GROUP, ...targetGroup }, ...extra },
  });
}
