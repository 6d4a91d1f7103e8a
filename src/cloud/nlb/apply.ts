/**
 * Writes the difference between a mirror's desired NLB and what AWS holds, in an order that never leaves a
 * listener without its group: load balancer → target groups → listeners → register targets → deregister
 * targets → delete stale listeners → delete stale groups. Nothing is called when nothing differs.
 *
 * Every ARN created is put into `built` as soon as AWS returns it, so a failure part-way leaves a record of
 * what exists; the next sync reads again and does only what is still missing (and a crash before the
 * status write is covered by finding by name and owner tag: see observe.ts). Everything Drover creates
 * carries the owner tags.
 */
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateTargetGroupCommand,
  DeleteListenerCommand,
  DeleteLoadBalancerCommand,
  DeleteTargetGroupCommand,
  DeregisterTargetsCommand,
  DescribeLoadBalancersCommand,
  ModifyListenerCommand,
  ModifyTargetGroupCommand,
  RegisterTargetsCommand,
  SetSubnetsCommand,
  type ElasticLoadBalancingV2Client,
  type Tag,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { awsCall, AwsCallError, type CallMeter, type RetryPolicy } from '../aws-call.js';
import { OctaviaError } from '../octavia/errors.js';
import { chunks } from '../target-group/target.js';
import { TAG_POOL, tgFields, type DesiredNlb, type DesiredTargetGroup } from './compile.js';
import type { Built, ObservedNlb } from './observe.js';

const tagList = (tags: Record<string, string>): Tag[] => Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));

function healthCheckParams(tg: DesiredTargetGroup) {
  const h = tg.healthCheck;
  return {
    HealthCheckProtocol: h.protocol,
    HealthCheckPort: 'traffic-port',
    HealthCheckIntervalSeconds: h.intervalSeconds,
    HealthCheckTimeoutSeconds: h.timeoutSeconds,
    HealthyThresholdCount: h.healthyThreshold,
    UnhealthyThresholdCount: h.unhealthyThreshold,
    ...(h.protocol !== 'TCP' ? { HealthCheckPath: h.path ?? '/', Matcher: { HttpCode: h.matcher ?? '200' } } : {}),
  };
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/** Brings AWS to `desired`; records ARNs in `built` (mutated) as they are created. */
export async function applyNlb(meter: CallMeter, client: ElasticLoadBalancingV2Client, desired: DesiredNlb, observed: ObservedNlb, built: Built, targetAz: string, retry?: RetryPolicy): Promise<void> {
  let lb = observed.lb;
  if (lb && lb.scheme !== desired.scheme) {
    // ELBv2 cannot change a load balancer's scheme: say so instead of "updating" it every sync.
    throw new OctaviaError('InvalidTarget', `the NLB ${desired.name} was built ${lb.scheme}; an NLB's scheme cannot be changed to ${desired.scheme}`, {
      field: 'spec.target.nlb.scheme',
      fix: `set it back to ${lb.scheme}, or delete the mirror and create it again to build a new NLB`,
    });
  }
  if (!lb) {
    const res = await awsCall(meter, 'CreateLoadBalancer', 'write', () =>
      client.send(new CreateLoadBalancerCommand({ Name: desired.name, Type: 'network', Scheme: desired.scheme, IpAddressType: 'ipv4', Subnets: desired.subnets, Tags: tagList(desired.tags) })),
      retry,
    );
    const made = res.LoadBalancers?.[0];
    if (!made?.LoadBalancerArn) throw new AwsCallError('CreateLoadBalancer', 'EmptyResponse', 'transient', 'no load balancer in the answer', 1);
    lb = { arn: made.LoadBalancerArn, dnsName: made.DNSName ?? '', canonicalHostedZoneId: made.CanonicalHostedZoneId ?? '', vpcId: made.VpcId ?? '', scheme: made.Scheme ?? desired.scheme, subnets: desired.subnets };
  } else if (lb.subnets.join(',') !== desired.subnets.join(',')) {
    await awsCall(meter, 'SetSubnets', 'write', () => client.send(new SetSubnetsCommand({ LoadBalancerArn: lb!.arn, Subnets: desired.subnets })), retry);
  }
  const lbArn = lb.arn;
  built.loadBalancerArn = lbArn;
  built.dnsName = lb.dnsName;
  built.canonicalHostedZoneId = lb.canonicalHostedZoneId;
  built.vpcId = lb.vpcId;
  if (!lb.vpcId) {
    // CreateLoadBalancer's answer may omit it: the groups need it.
    const res = await awsCall(meter, 'DescribeLoadBalancers', 'read', () => client.send(new DescribeLoadBalancersCommand({ LoadBalancerArns: [lbArn] })), retry);
    built.vpcId = res.LoadBalancers?.[0]?.VpcId ?? '';
  }

  const tgArn = new Map<string, string>();
  for (const [name, t] of observed.targetGroups) {
    tgArn.set(name, t.arn);
    built.targetGroups[name] = t.arn;
  }
  for (const tg of desired.targetGroups.values()) {
    const have = observed.targetGroups.get(tg.name);
    const hc = healthCheckParams(tg);
    if (!have) {
      const res = await awsCall(meter, 'CreateTargetGroup', 'write', () =>
        client.send(new CreateTargetGroupCommand({ Name: tg.name, Protocol: tg.protocol, Port: tg.port, VpcId: built.vpcId, TargetType: 'ip', ...hc, Tags: tagList({ ...desired.tags, [TAG_POOL]: tg.poolId }) })),
        retry,
      );
      const arn = res.TargetGroups?.[0]?.TargetGroupArn;
      if (!arn) throw new AwsCallError('CreateTargetGroup', 'EmptyResponse', 'transient', 'no target group in the answer', 1);
      tgArn.set(tg.name, arn);
      built.targetGroups[tg.name] = arn;
    } else if (!same(observed.state[`targetGroup/${tg.name}`], tgFields(tg))) {
      const { HealthCheckProtocol, HealthCheckPort, HealthCheckIntervalSeconds, HealthCheckTimeoutSeconds, HealthyThresholdCount, UnhealthyThresholdCount } = hc;
      const http = tg.healthCheck.protocol !== 'TCP' ? { HealthCheckPath: hc.HealthCheckPath, Matcher: hc.Matcher } : {};
      await awsCall(meter, 'ModifyTargetGroup', 'write', () =>
        client.send(new ModifyTargetGroupCommand({ TargetGroupArn: have.arn, HealthCheckProtocol, HealthCheckPort, HealthCheckIntervalSeconds, HealthCheckTimeoutSeconds, HealthyThresholdCount, UnhealthyThresholdCount, ...http })),
        retry,
      );
    }
  }

  // A listener whose port a new one takes (Octavia replaced TCP:53 by UDP:53) goes first: one per port.
  const wantedPorts = new Set([...desired.listeners.values()].filter((l) => !observed.listeners.has(l.key)).map((l) => l.port));
  for (const [key, l] of observed.listeners) {
    if (desired.listeners.has(key) || !wantedPorts.has(Number(key.split(':')[1]))) continue;
    await awsCall(meter, 'DeleteListener', 'write', () => client.send(new DeleteListenerCommand({ ListenerArn: l.arn })), retry);
    delete built.listeners[key];
    observed.listeners.delete(key);
  }
  for (const l of desired.listeners.values()) {
    const arn = tgArn.get(l.targetGroup)!;
    const have = observed.listeners.get(l.key);
    const DefaultActions = [{ Type: 'forward' as const, TargetGroupArn: arn }];
    if (!have) {
      const res = await awsCall(meter, 'CreateListener', 'write', () => client.send(new CreateListenerCommand({ LoadBalancerArn: lbArn, Protocol: l.protocol, Port: l.port, DefaultActions, Tags: tagList(desired.tags) })), retry);
      const made = res.Listeners?.[0]?.ListenerArn;
      if (made) built.listeners[l.key] = made;
    } else {
      built.listeners[l.key] = have.arn;
      if (have.targetGroupArn !== arn) await awsCall(meter, 'ModifyListener', 'write', () => client.send(new ModifyListenerCommand({ ListenerArn: have.arn, DefaultActions })), retry);
    }
  }

  // Register first: a group never serves with fewer targets than it needs in between.
  for (const tg of desired.targetGroups.values()) {
    const held = observed.targets.get(tg.name) ?? new Map<string, { ip: string; port: number }>();
    const add = [...tg.targets].filter(([id]) => !held.has(id)).map(([, t]) => ({ Id: t.ip, Port: t.port, AvailabilityZone: targetAz }));
    for (const Targets of chunks(add)) await awsCall(meter, 'RegisterTargets', 'write', () => client.send(new RegisterTargetsCommand({ TargetGroupArn: tgArn.get(tg.name)!, Targets })), retry);
  }
  for (const tg of desired.targetGroups.values()) {
    const held = observed.targets.get(tg.name) ?? new Map<string, { ip: string; port: number }>();
    const drop = [...held].filter(([id]) => !tg.targets.has(id)).map(([, t]) => ({ Id: t.ip, Port: t.port, AvailabilityZone: targetAz }));
    for (const Targets of chunks(drop)) await awsCall(meter, 'DeregisterTargets', 'write', () => client.send(new DeregisterTargetsCommand({ TargetGroupArn: tgArn.get(tg.name)!, Targets })), retry);
  }

  for (const [key, l] of observed.listeners) {
    if (desired.listeners.has(key)) continue;
    await awsCall(meter, 'DeleteListener', 'write', () => client.send(new DeleteListenerCommand({ ListenerArn: l.arn })), retry);
    delete built.listeners[key];
  }
  for (const [name, t] of observed.targetGroups) {
    if (desired.targetGroups.has(name)) continue;
    await deleteTargetGroup(meter, client, t.arn, retry);
    delete built.targetGroups[name];
  }
}

async function deleteTargetGroup(meter: CallMeter, client: ElasticLoadBalancingV2Client, arn: string, retry?: RetryPolicy): Promise<void> {
  try {
    await awsCall(meter, 'DeleteTargetGroup', 'write', () => client.send(new DeleteTargetGroupCommand({ TargetGroupArn: arn })), retry);
  } catch (e) {
    if (!(e instanceof AwsCallError && e.code === 'TargetGroupNotFoundException')) throw e;
  }
}

/**
 * The finalizer's work: delete what Drover built (the load balancer, which takes its listeners with it,
 * then the target groups). Only owned resources (observe.ts decides), so a foreign NLB with the mirror's
 * name is left alone. `built` is emptied as things go; a group still in use (ResourceInUse right after the
 * load balancer's deletion) throws, and the next pass finishes.
 */
export async function deleteNlb(meter: CallMeter, client: ElasticLoadBalancingV2Client, observed: ObservedNlb, built: Built, retry?: RetryPolicy): Promise<void> {
  const lbArn = observed.lb?.arn ?? built.loadBalancerArn;
  if (lbArn) {
    try {
      await awsCall(meter, 'DeleteLoadBalancer', 'write', () => client.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: lbArn })), retry);
    } catch (e) {
      if (!(e instanceof AwsCallError && e.code === 'LoadBalancerNotFoundException')) throw e;
    }
    delete built.loadBalancerArn;
    built.listeners = {};
  }
  const groups = new Map<string, string>([...Object.entries(built.targetGroups), ...[...observed.targetGroups].map(([n, t]) => [n, t.arn] as [string, string])]);
  for (const [name, arn] of groups) {
    await deleteTargetGroup(meter, client, arn, retry);
    delete built.targetGroups[name];
  }
}
