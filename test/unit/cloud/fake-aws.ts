/**
 * Stateful fakes behind aws-sdk-client-mock, answering with the response shapes of the Global Accelerator
 * and Route 53 API references (ListEndpointGroups, ListTagsForResource, UpdateEndpointGroup, TagResource;
 * ListResourceRecordSets, ChangeResourceRecordSets with its atomic InvalidChangeBatch; ELBv2's
 * DescribeTargetHealth, RegisterTargets, DeregisterTargets with its `draining` state), so that a second
 * sync sees what the first one wrote.
 */
import assert from 'node:assert/strict';
import {
  GlobalAcceleratorClient,
  ListEndpointGroupsCommand,
  ListTagsForResourceCommand,
  TagResourceCommand,
  UpdateEndpointGroupCommand,
  type EndpointGroup,
  type Tag,
} from '@aws-sdk/client-global-accelerator';
import { ChangeResourceRecordSetsCommand, ListResourceRecordSetsCommand, Route53Client, type Change, type ResourceRecordSet } from '@aws-sdk/client-route-53';
import {
  DeregisterTargetsCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  RegisterTargetsCommand,
  type TargetDescription,
  type TargetHealthStateEnum,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { mockClient } from 'aws-sdk-client-mock';
import type { AwsClients } from '../../../src/cloud/clients.js';
import { ACCELERATOR, egArn, LISTENER, TARGET_GROUP } from './cloud-fixtures.js';

export function awsError(name: string, message: string, httpStatusCode = 400, fault: 'client' | 'server' = 'client'): Error {
  return Object.assign(new Error(message), { name, $fault: fault, $metadata: { httpStatusCode, requestId: 'req-1' } });
}

export class FakeGa {
  readonly client = new GlobalAcceleratorClient({ region: 'us-west-2', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
  readonly mock = mockClient(this.client);
  readonly groups = new Map<string, EndpointGroup>();
  tags: Tag[] = [];

  constructor() {
    this.mock.on(ListEndpointGroupsCommand).callsFake((input: { ListenerArn: string }) => {
      if (input.ListenerArn !== LISTENER) throw awsError('ListenerNotFoundException', "The listener that you specified doesn't exist.");
      return { EndpointGroups: [...this.groups.values()].map((g) => structuredClone(g)) };
    });
    this.mock.on(ListTagsForResourceCommand).callsFake((input: { ResourceArn: string }) => {
      if (input.ResourceArn !== ACCELERATOR) throw awsError('AcceleratorNotFoundException', "The accelerator that you specified doesn't exist.");
      return { Tags: structuredClone(this.tags) };
    });
    this.mock.on(TagResourceCommand).callsFake((input: { Tags: Tag[] }) => {
      for (const t of input.Tags) this.tags = [...this.tags.filter((x) => x.Key !== t.Key), t];
      return {};
    });
    this.mock.on(UpdateEndpointGroupCommand).callsFake((input: { EndpointGroupArn: string; EndpointConfigurations?: { EndpointId: string; Weight?: number; ClientIPPreservationEnabled?: boolean }[]; TrafficDialPercentage?: number }) => {
      const g = [...this.groups.values()].find((x) => x.EndpointGroupArn === input.EndpointGroupArn);
      if (!g) throw awsError('EndpointGroupNotFoundException', "The endpoint group that you specified doesn't exist.");
      if (input.TrafficDialPercentage !== undefined) g.TrafficDialPercentage = input.TrafficDialPercentage;
      if (input.EndpointConfigurations) {
        g.EndpointDescriptions = input.EndpointConfigurations.map((c) => ({ EndpointId: c.EndpointId, Weight: c.Weight ?? 128, HealthState: 'HEALTHY', ClientIPPreservationEnabled: c.ClientIPPreservationEnabled ?? true }));
      }
      return { EndpointGroup: structuredClone(g) };
    });
  }

  /** An endpoint group as DescribeEndpointGroup shows it (health check defaults included). */
  addGroup(region: string, endpoints: Record<string, number>, dial = 100): void {
    this.groups.set(region, {
      EndpointGroupArn: egArn(region),
      EndpointGroupRegion: region,
      EndpointDescriptions: Object.entries(endpoints).map(([id, w]) => ({ EndpointId: id, Weight: w, HealthState: 'HEALTHY', ClientIPPreservationEnabled: true })),
      TrafficDialPercentage: dial,
      HealthCheckPort: 80,
      HealthCheckProtocol: 'TCP',
      HealthCheckIntervalSeconds: 30,
      ThresholdCount: 3,
    });
  }

  weights(region: string): Record<string, number> {
    return Object.fromEntries((this.groups.get(region)?.EndpointDescriptions ?? []).map((e) => [e.EndpointId!, e.Weight!]));
  }

  updates(): number {
    return this.mock.commandCalls(UpdateEndpointGroupCommand).length;
  }
}

const reversed = (n: string) => n.replace(/\.$/, '').split('.').reverse().join('.');

export class FakeZone {
  readonly client = new Route53Client({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
  readonly mock = mockClient(this.client);
  records: ResourceRecordSet[] = [];
  /** Reject the next batch as if a record changed between read and write. */
  rejectNext = false;

  constructor(readonly zoneId = 'Z3M3LMPEXAMPLE') {
    this.mock.on(ListResourceRecordSetsCommand).callsFake((input: { HostedZoneId: string; StartRecordName?: string; MaxItems?: number }) => {
      if (input.HostedZoneId !== this.zoneId) throw awsError('NoSuchHostedZone', `No hosted zone found with ID: ${input.HostedZoneId}`, 404);
      const sorted = [...this.records].sort((a, b) => (reversed(a.Name!) < reversed(b.Name!) ? -1 : reversed(a.Name!) > reversed(b.Name!) ? 1 : (a.Type! + (a.SetIdentifier ?? '')) < (b.Type! + (b.SetIdentifier ?? '')) ? -1 : 1));
      const start = reversed(input.StartRecordName ?? '');
      const from = sorted.filter((r) => reversed(r.Name!) >= start);
      const max = input.MaxItems ?? 300;
      return { ResourceRecordSets: structuredClone(from.slice(0, max)), IsTruncated: from.length > max, MaxItems: max };
    });
    this.mock.on(ChangeResourceRecordSetsCommand).callsFake((input: { ChangeBatch: { Changes: Change[] } }) => {
      if (this.rejectNext) {
        this.rejectNext = false;
        throw awsError('InvalidChangeBatch', '[Tried to delete resource record set [name=\'www.example.com.\', type=\'A\', set-identifier=\'drover-osaka-b\'] but the values provided do not match the current values]');
      }
      // Atomic: validate everything, then apply.
      const next = [...this.records];
      const key = (r: ResourceRecordSet) => `${r.Name}/${r.Type}/${r.SetIdentifier ?? ''}`;
      for (const c of input.ChangeBatch.Changes) {
        const r = c.ResourceRecordSet!;
        const i = next.findIndex((x) => key(x) === key(r));
        if (c.Action === 'CREATE') {
          if (i >= 0) throw awsError('InvalidChangeBatch', `[Tried to create resource record set [name='${r.Name}', type='${r.Type}'] but it already exists]`);
          next.push(r);
        } else if (c.Action === 'UPSERT') {
          if (i >= 0) next[i] = r;
          else next.push(r);
        } else {
          if (i < 0 || JSON.stringify(next[i]) !== JSON.stringify(r)) throw awsError('InvalidChangeBatch', `[Tried to delete resource record set [name='${r.Name}', type='${r.Type}'] but it was not found]`);
          next.splice(i, 1);
        }
      }
      this.records = structuredClone(next);
      return { ChangeInfo: { Id: '/change/C2682N5HXP0BZ4', Status: 'PENDING', SubmittedAt: new Date() } };
    });
  }

  batches(): Change[][] {
    return this.mock.commandCalls(ChangeResourceRecordSetsCommand).map((c) => c.args[0].input.ChangeBatch!.Changes!);
  }
}

/** An ip-type target group; a deregistered target stays `draining` (the deregistration delay) until `settle()`. */
export class FakeTargetGroup {
  readonly client = new ElasticLoadBalancingV2Client({ region: 'ap-northeast-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
  readonly mock = mockClient(this.client);
  /** `ip:port` → the target and its health state. */
  readonly targets = new Map<string, { target: TargetDescription; state: TargetHealthStateEnum }>();

  constructor(readonly arn = TARGET_GROUP) {
    const key = (t: TargetDescription) => `${t.Id}:${t.Port ?? 80}`;
    const known = (input: { TargetGroupArn?: string }) => {
      if (input.TargetGroupArn !== this.arn) throw awsError('TargetGroupNotFoundException', 'One or more target groups not found');
    };
    this.mock.on(DescribeTargetHealthCommand).callsFake((input: { TargetGroupArn?: string }) => {
      known(input);
      return {
        TargetHealthDescriptions: [...this.targets.values()].map(({ target, state }) => ({
          Target: structuredClone(target),
          HealthCheckPort: String(target.Port ?? 80),
          TargetHealth: state === 'healthy' ? { State: state } : state === 'draining' ? { State: state, Reason: 'Target.DeregistrationInProgress', Description: 'Target deregistration is in progress' } : { State: state, Reason: 'Elb.RegistrationInProgress', Description: 'Target registration is in progress' },
        })),
      };
    });
    this.mock.on(RegisterTargetsCommand).callsFake((input: { TargetGroupArn?: string; Targets?: TargetDescription[] }) => {
      known(input);
      for (const t of input.Targets ?? []) this.targets.set(key(t), { target: { Id: t.Id, Port: t.Port ?? 80, AvailabilityZone: t.AvailabilityZone ?? 'ap-northeast-1a' }, state: 'initial' });
      return {};
    });
    this.mock.on(DeregisterTargetsCommand).callsFake((input: { TargetGroupArn?: string; Targets?: TargetDescription[] }) => {
      known(input);
      const missing = (input.Targets ?? []).filter((t) => !this.targets.has(key(t)));
      if (missing.length > 0) throw awsError('InvalidTargetException', `The following targets are not registered in target group: ${missing.map(key).join(', ')}`);
      for (const t of input.Targets ?? []) this.targets.get(key(t))!.state = 'draining';
      return {};
    });
  }

  /** A target registered by someone else (another cluster's aws-load-balancer-controller, a person). */
  add(ip: string, port: number, state: TargetHealthStateEnum = 'healthy'): void {
    this.targets.set(`${ip}:${port}`, { target: { Id: ip, Port: port, AvailabilityZone: 'ap-northeast-1a' }, state });
  }

  /** The deregistration delay elapses: draining targets leave; the rest turn healthy. */
  settle(): void {
    for (const [k, t] of this.targets) {
      if (t.state === 'draining') this.targets.delete(k);
      else t.state = 'healthy';
    }
  }

  /** Targets not draining, sorted. */
  registered(): string[] {
    return [...this.targets].filter(([, t]) => t.state !== 'draining').map(([k]) => k).sort();
  }

  registerCalls(): string[][] {
    return this.mock.commandCalls(RegisterTargetsCommand).map((c) => (c.args[0].input.Targets ?? []).map((t) => `${t.Id}:${t.Port}`));
  }

  deregisterCalls(): string[][] {
    return this.mock.commandCalls(DeregisterTargetsCommand).map((c) => (c.args[0].input.Targets ?? []).map((t) => `${t.Id}:${t.Port}`));
  }
}

export function clientsOf(ga?: FakeGa, zone?: FakeZone, tg?: FakeTargetGroup): AwsClients {
  return {
    globalAccelerator: () => ga?.client ?? new GlobalAcceleratorClient({}),
    route53: () => zone?.client ?? new Route53Client({}),
    elbv2: (region) => {
      if (!tg) throw new Error('not used');
      assert.equal(region, 'ap-northeast-1', 'the region comes from the target group ARN');
      return tg.client;
    },
  };
}
