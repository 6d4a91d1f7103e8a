/**
 * Reads what AWS holds of a mirror's NLB, in the flat state shape of src/cloud/state.ts.
 *
 * Reads per sync: one DescribeLoadBalancers (by the mirror's deterministic name), one DescribeListeners
 * and one DescribeTargetGroups (by load balancer), one DescribeTargetHealth per mirrored target group;
 * plus, only for what is not yet in `status.built` (first sync, or a crash between a create and the status
 * write), one DescribeTargetGroups per missing name and one DescribeTags per 20 resources found by name.
 *
 * Ownership: what `status.built` lists, or what carries the tag `drover.dev/owner` = this mirror's owner
 * id. A load balancer or target group with the mirror's name but another owner (or none) is foreign:
 * never written, never deleted, and the sync stops with a condition saying so.
 */
import {
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeTagsCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  type ElasticLoadBalancingV2Client,
  type Listener,
  type TargetGroup,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { CloudState } from '../../api/kinds/cloud-traffic.js';
import type { LoadBalancerMirrorStatus } from '../../api/kinds/load-balancer-mirror.js';
import { awsCall, AwsCallError, type CallMeter, type RetryPolicy } from '../aws-call.js';
import { listenerKey, TAG_OWNER, targetId, tgFields, type DesiredNlb } from './compile.js';

export type Built = LoadBalancerMirrorStatus['built'];

export interface ObservedTargetGroup {
  arn: string;
  name: string;
  protocol: string;
  port: number;
  vpcId?: string;
}

export interface ObservedNlb {
  lb?: { arn: string; dnsName: string; canonicalHostedZoneId: string; vpcId: string; scheme: string; subnets: string[] };
  /** Owned target groups by name (desired ones and stale ones Drover built). */
  targetGroups: Map<string, ObservedTargetGroup>;
  /** Listeners of the owned LB by `PROTOCOL:port`. */
  listeners: Map<string, { arn: string; targetGroupArn?: string }>;
  /** Registered (not draining) targets per owned target group name. */
  targets: Map<string, Map<string, { ip: string; port: number }>>;
  healthyTargets: number;
  /** Resources with the mirror's names that are not Drover's: a reason each. */
  foreign: string[];
  state: CloudState;
}

const notFound = (e: unknown, code: string): boolean => e instanceof AwsCallError && e.code === code;

async function ownersOf(meter: CallMeter, client: ElasticLoadBalancingV2Client, arns: string[], retry?: RetryPolicy): Promise<Map<string, string | undefined>> {
  const out = new Map<string, string | undefined>();
  for (let i = 0; i < arns.length; i += 20) {
    const res = await awsCall(meter, 'DescribeTags', 'read', () => client.send(new DescribeTagsCommand({ ResourceArns: arns.slice(i, i + 20) })), retry);
    for (const d of res.TagDescriptions ?? []) if (d.ResourceArn) out.set(d.ResourceArn, d.Tags?.find((t) => t.Key === TAG_OWNER)?.Value);
  }
  return out;
}

function healthCheckFields(tg: TargetGroup): CloudState[string] {
  const protocol = tg.HealthCheckProtocol ?? 'TCP';
  return tgFields({
    protocol: tg.Protocol ?? '',
    port: tg.Port ?? 0,
    healthCheck: {
      protocol: protocol as 'TCP',
      ...(protocol !== 'TCP' && tg.HealthCheckPath ? { path: tg.HealthCheckPath } : {}),
      ...(protocol !== 'TCP' && tg.Matcher?.HttpCode ? { matcher: tg.Matcher.HttpCode } : {}),
      intervalSeconds: tg.HealthCheckIntervalSeconds ?? 0,
      timeoutSeconds: tg.HealthCheckTimeoutSeconds ?? 0,
      healthyThreshold: tg.HealthyThresholdCount ?? 0,
      unhealthyThreshold: tg.UnhealthyThresholdCount ?? 0,
    },
  });
}

export async function observeNlb(meter: CallMeter, client: ElasticLoadBalancingV2Client, desired: DesiredNlb, built: Built, ownerId: string, retry?: RetryPolicy): Promise<ObservedNlb> {
  const out: ObservedNlb = { targetGroups: new Map(), listeners: new Map(), targets: new Map(), healthyTargets: 0, foreign: [], state: {} };
  let lbs;
  try {
    lbs = await awsCall(meter, 'DescribeLoadBalancers', 'read', () => client.send(new DescribeLoadBalancersCommand({ Names: [desired.name] })), retry);
  } catch (e) {
    if (!notFound(e, 'LoadBalancerNotFoundException')) throw e;
  }
  const lb = lbs?.LoadBalancers?.[0];
  const unknownOwner: string[] = [];
  if (lb?.LoadBalancerArn && lb.LoadBalancerArn !== built.loadBalancerArn) unknownOwner.push(lb.LoadBalancerArn);

  let attached: TargetGroup[] = [];
  let listeners: Listener[] = [];
  if (lb?.LoadBalancerArn) {
    const arn = lb.LoadBalancerArn;
    let marker: string | undefined;
    do {
      const from = marker;
      const page = await awsCall(meter, 'DescribeListeners', 'read', () => client.send(new DescribeListenersCommand({ LoadBalancerArn: arn, ...(from ? { Marker: from } : {}) })), retry);
      listeners.push(...(page.Listeners ?? []));
      marker = page.NextMarker;
    } while (marker);
    do {
      const from = marker;
      const page = await awsCall(meter, 'DescribeTargetGroups', 'read', () => client.send(new DescribeTargetGroupsCommand({ LoadBalancerArn: arn, ...(from ? { Marker: from } : {}) })), retry);
      attached.push(...(page.TargetGroups ?? []));
      marker = page.NextMarker;
    } while (marker);
  }
  // Groups not attached to a listener (yet, or any more) are found by name, only when not known to be built.
  const byName = new Map(attached.filter((t) => t.TargetGroupName).map((t) => [t.TargetGroupName!, t] as const));
  const builtArns = new Set(Object.values(built.targetGroups));
  for (const name of new Set([...desired.targetGroups.keys(), ...Object.keys(built.targetGroups)])) {
    if (byName.has(name)) continue;
    try {
      const res = await awsCall(meter, 'DescribeTargetGroups', 'read', () => client.send(new DescribeTargetGroupsCommand({ Names: [name] })), retry);
      const tg = res.TargetGroups?.[0];
      if (tg) byName.set(name, tg);
    } catch (e) {
      if (!notFound(e, 'TargetGroupNotFoundException')) throw e;
    }
  }
  for (const tg of byName.values()) if (tg.TargetGroupArn && !builtArns.has(tg.TargetGroupArn)) unknownOwner.push(tg.TargetGroupArn);
  const owners = unknownOwner.length > 0 ? await ownersOf(meter, client, unknownOwner, retry) : new Map<string, string | undefined>();
  const mine = (arn: string): boolean => arn === built.loadBalancerArn || builtArns.has(arn) || owners.get(arn) === ownerId;

  if (lb?.LoadBalancerArn) {
    if (!mine(lb.LoadBalancerArn)) {
      out.foreign.push(`loadBalancer ${desired.name} (${lb.LoadBalancerArn}): exists without the tag ${TAG_OWNER}=${ownerId}; Drover does not touch it (set spec.ownerId or spec.target.nlb.namePrefix to build another)`);
      attached = [];
      listeners = [];
    } else {
      out.lb = {
        arn: lb.LoadBalancerArn,
        dnsName: lb.DNSName ?? '',
        canonicalHostedZoneId: lb.CanonicalHostedZoneId ?? '',
        vpcId: lb.VpcId ?? '',
        scheme: lb.Scheme ?? '',
        subnets: (lb.AvailabilityZones ?? []).map((z) => z.SubnetId ?? '').filter((s) => s !== '').sort(),
      };
      out.state.loadBalancer = { name: lb.LoadBalancerName ?? desired.name, scheme: lb.Scheme ?? '', subnets: out.lb.subnets.join(',') };
    }
  }
  const nameOfArn = new Map<string, string>();
  for (const [name, tg] of byName) {
    if (!tg.TargetGroupArn) continue;
    nameOfArn.set(tg.TargetGroupArn, name);
    if (!mine(tg.TargetGroupArn)) {
      if (desired.targetGroups.has(name)) out.foreign.push(`targetGroup ${name} (${tg.TargetGroupArn}): exists without the tag ${TAG_OWNER}=${ownerId}; Drover does not touch it`);
      continue;
    }
    out.targetGroups.set(name, { arn: tg.TargetGroupArn, name, protocol: tg.Protocol ?? '', port: tg.Port ?? 0, ...(tg.VpcId ? { vpcId: tg.VpcId } : {}) });
    out.state[`targetGroup/${name}`] = healthCheckFields(tg);
  }
  for (const l of listeners) {
    if (!l.ListenerArn || !l.Protocol || l.Port === undefined) continue;
    const key = listenerKey(l.Protocol, l.Port);
    const tgArn = l.DefaultActions?.find((a) => a.Type === 'forward')?.TargetGroupArn ?? l.DefaultActions?.[0]?.ForwardConfig?.TargetGroups?.[0]?.TargetGroupArn;
    out.listeners.set(key, { arn: l.ListenerArn, ...(tgArn ? { targetGroupArn: tgArn } : {}) });
    out.state[`listener/${key}`] = { targetGroup: tgArn ? (nameOfArn.get(tgArn) ?? tgArn) : null };
  }
  // Targets only of the groups the mirror wants: a stale group is deleted whole, its targets with it.
  for (const [name, tg] of out.targetGroups) {
    if (!desired.targetGroups.has(name)) continue;
    const res = await awsCall(meter, 'DescribeTargetHealth', 'read', () => client.send(new DescribeTargetHealthCommand({ TargetGroupArn: tg.arn })), retry);
    const held = new Map<string, { ip: string; port: number }>();
    for (const d of res.TargetHealthDescriptions ?? []) {
      const t = d.Target;
      if (!t?.Id || d.TargetHealth?.State === 'draining') continue;
      const port = t.Port ?? tg.port;
      held.set(targetId(t.Id, port), { ip: t.Id, port });
      out.state[`target/${name}/${targetId(t.Id, port)}`] = { registered: true };
      if (d.TargetHealth?.State === 'healthy') out.healthyTargets++;
    }
    out.targets.set(name, held);
  }
  return out;
}
