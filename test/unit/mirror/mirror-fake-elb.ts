/**
 * A stateful ELBv2 behind aws-sdk-client-mock for the mirror tests ("mocked AWS"): load balancers, target
 * groups, listeners, targets and tags, answering with the response shapes of the ELBv2 API reference
 * (names unique per region, `LoadBalancerNotFound`/`TargetGroupNotFound` on a lookup by name, subnets of
 * one VPC, `ResourceInUse` when deleting a group a listener still forwards to, `draining` after a
 * deregistration), so that a second sync sees what the first one built. `failNext` injects an error on
 * the next calls of one command (partial failures).
 */
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateTargetGroupCommand,
  DeleteListenerCommand,
  DeleteLoadBalancerCommand,
  DeleteTargetGroupCommand,
  DeregisterTargetsCommand,
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeTagsCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  ModifyListenerCommand,
  ModifyTargetGroupCommand,
  RegisterTargetsCommand,
  SetSubnetsCommand,
  type Listener,
  type LoadBalancer,
  type Tag,
  type TargetDescription,
  type TargetGroup,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { mockClient } from 'aws-sdk-client-mock';

export const REGION = 'eu-west-1';
export const ACCOUNT = '123456789012';
export const SUBNETS: Record<string, string> = { 'subnet-0a1': 'vpc-0aaa', 'subnet-0b2': 'vpc-0aaa', 'subnet-0c3': 'vpc-0bbb' };

export function awsError(name: string, message: string, httpStatusCode = 400, fault: 'client' | 'server' = 'client'): Error {
  return Object.assign(new Error(message), { name, $fault: fault, $metadata: { httpStatusCode, requestId: 'req-1' } });
}

const WRITES = new Set(['CreateLoadBalancer', 'CreateTargetGroup', 'CreateListener', 'ModifyListener', 'ModifyTargetGroup', 'DeleteListener', 'DeleteLoadBalancer', 'DeleteTargetGroup', 'RegisterTargets', 'DeregisterTargets', 'SetSubnets']);

export class FakeElb {
  readonly client = new ElasticLoadBalancingV2Client({ region: REGION, credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
  readonly mock = mockClient(this.client);
  readonly lbs = new Map<string, LoadBalancer>();
  readonly tgs = new Map<string, TargetGroup>();
  readonly listeners = new Map<string, Listener>();
  readonly tags = new Map<string, Tag[]>();
  /** target group ARN → `ip:port` → state */
  readonly targets = new Map<string, Map<string, { t: TargetDescription; state: string }>>();
  readonly calls: string[] = [];
  private failures = new Map<string, { error: Error; times: number }>();
  private seq = 0;

  constructor() {
    const id = (): string => (++this.seq).toString(16).padStart(16, '0');
    // Each handler declares the input fields it reads; the SDK's input types mark them all optional.
    const on = <I>(cmd: unknown, name: string, fn: (input: I) => unknown): void => {
      this.mock.on(cmd as typeof DescribeTagsCommand).callsFake((input: I) => {
        this.calls.push(name);
        const f = this.failures.get(name);
        if (f && f.times > 0) {
          f.times--;
          throw f.error;
        }
        return fn(input);
      });
    };
    on(DescribeLoadBalancersCommand, 'DescribeLoadBalancers', (i: { Names?: string[]; LoadBalancerArns?: string[] }) => {
      const all = [...this.lbs.values()];
      const found = i.Names ? all.filter((l) => i.Names!.includes(l.LoadBalancerName!)) : all.filter((l) => i.LoadBalancerArns?.includes(l.LoadBalancerArn!));
      if (found.length === 0) throw awsError('LoadBalancerNotFoundException', 'One or more load balancers not found');
      return { LoadBalancers: structuredClone(found) };
    });
    on(CreateLoadBalancerCommand, 'CreateLoadBalancer', (i: { Name: string; Subnets: string[]; Scheme?: string; Tags?: Tag[] }) => {
      const vpcs = new Set(i.Subnets.map((s) => SUBNETS[s]));
      if (vpcs.has(undefined)) throw awsError('SubnetNotFoundException', `The subnet ID '${i.Subnets.find((s) => !SUBNETS[s])}' does not exist`);
      if (vpcs.size > 1) throw awsError('InvalidConfigurationRequestException', 'Subnets must all belong to the same VPC');
      const existing = [...this.lbs.values()].find((l) => l.LoadBalancerName === i.Name);
      if (existing) throw awsError('DuplicateLoadBalancerNameException', 'A load balancer with the same name exists, with other settings');
      const arn = `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:loadbalancer/net/${i.Name}/${id()}`;
      const lb: LoadBalancer = {
        LoadBalancerArn: arn,
        LoadBalancerName: i.Name,
        DNSName: `${i.Name}-${id()}.elb.${REGION}.amazonaws.com`,
        CanonicalHostedZoneId: 'Z2IFOLAFXWLO4F',
        Scheme: (i.Scheme ?? 'internet-facing') as 'internal',
        VpcId: [...vpcs][0]!,
        Type: 'network',
        State: { Code: 'provisioning' },
        AvailabilityZones: i.Subnets.map((s, n) => ({ ZoneName: `${REGION}${'abc'[n]}`, SubnetId: s })),
      };
      this.lbs.set(arn, lb);
      this.tags.set(arn, i.Tags ?? []);
      return { LoadBalancers: [structuredClone(lb)] };
    });
    on(SetSubnetsCommand, 'SetSubnets', (i: { LoadBalancerArn: string; Subnets: string[] }) => {
      const lb = this.lbs.get(i.LoadBalancerArn)!;
      lb.AvailabilityZones = i.Subnets.map((s, n) => ({ ZoneName: `${REGION}${'abc'[n]}`, SubnetId: s }));
      return { AvailabilityZones: lb.AvailabilityZones };
    });
    on(DeleteLoadBalancerCommand, 'DeleteLoadBalancer', (i: { LoadBalancerArn: string }) => {
      this.lbs.delete(i.LoadBalancerArn);
      for (const [arn, l] of this.listeners) if (l.LoadBalancerArn === i.LoadBalancerArn) this.listeners.delete(arn);
      for (const tg of this.tgs.values()) tg.LoadBalancerArns = (tg.LoadBalancerArns ?? []).filter((a) => a !== i.LoadBalancerArn);
      return {};
    });
    on(DescribeListenersCommand, 'DescribeListeners', (i: { LoadBalancerArn: string }) => ({ Listeners: structuredClone([...this.listeners.values()].filter((l) => l.LoadBalancerArn === i.LoadBalancerArn)) }));
    on(CreateListenerCommand, 'CreateListener', (i: { LoadBalancerArn: string; Protocol: string; Port: number; DefaultActions: { Type: string; TargetGroupArn: string }[]; Tags?: Tag[] }) => {
      if ([...this.listeners.values()].some((l) => l.LoadBalancerArn === i.LoadBalancerArn && l.Port === i.Port)) throw awsError('DuplicateListenerException', 'A listener already exists on this port for this load balancer');
      const tg = this.tgs.get(i.DefaultActions[0]!.TargetGroupArn);
      if (!tg) throw awsError('TargetGroupNotFoundException', 'One or more target groups not found');
      const arn = `${i.LoadBalancerArn.replace(':loadbalancer/', ':listener/')}/${id()}`;
      this.listeners.set(arn, { ListenerArn: arn, LoadBalancerArn: i.LoadBalancerArn, Protocol: i.Protocol as 'TCP', Port: i.Port, DefaultActions: structuredClone(i.DefaultActions) as Listener['DefaultActions'] });
      tg.LoadBalancerArns = [...new Set([...(tg.LoadBalancerArns ?? []), i.LoadBalancerArn])];
      this.tags.set(arn, i.Tags ?? []);
      return { Listeners: [structuredClone(this.listeners.get(arn)!)] };
    });
    on(ModifyListenerCommand, 'ModifyListener', (i: { ListenerArn: string; DefaultActions: Listener['DefaultActions'] }) => {
      this.listeners.get(i.ListenerArn)!.DefaultActions = structuredClone(i.DefaultActions);
      return { Listeners: [structuredClone(this.listeners.get(i.ListenerArn)!)] };
    });
    on(DeleteListenerCommand, 'DeleteListener', (i: { ListenerArn: string }) => {
      this.listeners.delete(i.ListenerArn);
      return {};
    });
    on(DescribeTargetGroupsCommand, 'DescribeTargetGroups', (i: { LoadBalancerArn?: string; Names?: string[]; TargetGroupArns?: string[] }) => {
      const all = [...this.tgs.values()];
      if (i.Names) {
        const found = all.filter((t) => i.Names!.includes(t.TargetGroupName!));
        if (found.length < i.Names.length) throw awsError('TargetGroupNotFoundException', 'One or more target groups not found');
        return { TargetGroups: structuredClone(found) };
      }
      if (i.LoadBalancerArn) return { TargetGroups: structuredClone(all.filter((t) => this.attached(t.TargetGroupArn!, i.LoadBalancerArn!))) };
      return { TargetGroups: structuredClone(all.filter((t) => i.TargetGroupArns?.includes(t.TargetGroupArn!))) };
    });
    on(CreateTargetGroupCommand, 'CreateTargetGroup', (i: TargetGroup & { Name: string; Tags?: Tag[] }) => {
      if ([...this.tgs.values()].some((t) => t.TargetGroupName === i.Name)) throw awsError('DuplicateTargetGroupNameException', 'A target group with the same name exists, with other settings');
      const arn = `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:targetgroup/${i.Name}/${id()}`;
      const { Name, Tags, ...rest } = i;
      this.tgs.set(arn, { ...rest, TargetGroupArn: arn, TargetGroupName: Name, LoadBalancerArns: [] });
      this.tags.set(arn, Tags ?? []);
      this.targets.set(arn, new Map());
      return { TargetGroups: [structuredClone(this.tgs.get(arn)!)] };
    });
    on(ModifyTargetGroupCommand, 'ModifyTargetGroup', (i: TargetGroup) => {
      Object.assign(this.tgs.get(i.TargetGroupArn!)!, i);
      return { TargetGroups: [structuredClone(this.tgs.get(i.TargetGroupArn!)!)] };
    });
    on(DeleteTargetGroupCommand, 'DeleteTargetGroup', (i: { TargetGroupArn: string }) => {
      if ([...this.listeners.values()].some((l) => l.DefaultActions?.some((a) => a.TargetGroupArn === i.TargetGroupArn))) throw awsError('ResourceInUseException', `Target group '${i.TargetGroupArn}' is currently in use by a listener or a rule`);
      this.tgs.delete(i.TargetGroupArn);
      this.targets.delete(i.TargetGroupArn);
      return {};
    });
    on(DescribeTagsCommand, 'DescribeTags', (i: { ResourceArns: string[] }) => {
      if (i.ResourceArns.length > 20) throw awsError('ValidationError', 'at most 20 resources');
      return { TagDescriptions: i.ResourceArns.map((a) => ({ ResourceArn: a, Tags: structuredClone(this.tags.get(a) ?? []) })) };
    });
    on(DescribeTargetHealthCommand, 'DescribeTargetHealth', (i: { TargetGroupArn: string }) => {
      const held = this.targets.get(i.TargetGroupArn);
      if (!held) throw awsError('TargetGroupNotFoundException', 'One or more target groups not found');
      return { TargetHealthDescriptions: [...held.values()].map(({ t, state }) => ({ Target: structuredClone(t), TargetHealth: { State: state as 'healthy' } })) };
    });
    on(RegisterTargetsCommand, 'RegisterTargets', (i: { TargetGroupArn: string; Targets: TargetDescription[] }) => {
      const held = this.targets.get(i.TargetGroupArn)!;
      for (const t of i.Targets) held.set(`${t.Id}:${t.Port}`, { t: structuredClone(t), state: 'initial' });
      return {};
    });
    on(DeregisterTargetsCommand, 'DeregisterTargets', (i: { TargetGroupArn: string; Targets: TargetDescription[] }) => {
      const held = this.targets.get(i.TargetGroupArn)!;
      for (const t of i.Targets) {
        const h = held.get(`${t.Id}:${t.Port}`);
        if (!h) throw awsError('InvalidTargetException', `The following targets are not registered in target group: ${t.Id}:${t.Port}`);
        h.state = 'draining';
      }
      return {};
    });
  }

  private attached(tgArn: string, lbArn: string): boolean {
    return [...this.listeners.values()].some((l) => l.LoadBalancerArn === lbArn && l.DefaultActions?.some((a) => a.TargetGroupArn === tgArn));
  }

  /** The next `times` calls of `command` fail with `error`. */
  failNext(command: string, error: Error, times = 1): void {
    this.failures.set(command, { error, times });
  }

  writes(): string[] {
    return this.calls.filter((c) => WRITES.has(c));
  }

  /** The deregistration delay elapses; registered targets pass their health checks. */
  settle(): void {
    for (const held of this.targets.values()) {
      for (const [k, v] of held) {
        if (v.state === 'draining') held.delete(k);
        else v.state = 'healthy';
      }
    }
  }

  /** `ip:port` of every non-draining target of the group named `name`. */
  registered(name: string): string[] {
    const tg = [...this.tgs.values()].find((t) => t.TargetGroupName === name);
    return tg ? [...this.targets.get(tg.TargetGroupArn!)!].filter(([, v]) => v.state !== 'draining').map(([k]) => k).sort() : [];
  }
}
