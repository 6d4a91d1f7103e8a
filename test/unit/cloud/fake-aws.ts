/**
 * Stateful fakes behind aws-sdk-client-mock, answering with the response shapes of the Global Accelerator
 * and Route 53 API references (ListEndpointGroups, ListTagsForResource, UpdateEndpointGroup, TagResource;
 * ListResourceRecordSets, ChangeResourceRecordSets with its atomic InvalidChangeBatch; health checks:
 * CreateHealthCheck with its CallerReference rules, UpdateHealthCheck with HealthCheckVersion, ListHealthChecks
 * paged by Marker, DeleteHealthCheck, ChangeTagsForResource; ELBv2's
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
import {
  ChangeResourceRecordSetsCommand,
  ChangeTagsForResourceCommand,
  CreateHealthCheckCommand,
  DeleteHealthCheckCommand,
  ListHealthChecksCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
  UpdateHealthCheckCommand,
  type Change,
  type HealthCheck,
  type HealthCheckConfig,
  type ResourceRecordSet,
  type Tag as R53Tag,
  type UpdateHealthCheckRequest,
} from '@aws-sdk/client-route-53';
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
    this.mockHealthChecks();
  }

  batches(): Change[][] {
    return this.mock.commandCalls(ChangeResourceRecordSetsCommand).map((c) => c.args[0].input.ChangeBatch!.Changes!);
  }

  readonly healthChecks = new Map<string, { hc: HealthCheck; tags: R53Tag[] }>();
  /** CallerReferences of deleted checks: Route 53 refuses them for a while (HealthCheckAlreadyExists). */
  readonly deletedRefs = new Set<string>();
  /** The next CreateHealthCheck creates the check, then its answer is lost (a 503 the SDK sees). */
  loseNextCreateAnswer = false;
  /** Runs before the next UpdateHealthCheck is answered (someone editing the check at that moment). */
  beforeNextUpdate: (() => void) | undefined;
  private nextId = 1;

  /** Called by the constructor: the health check API, as the Route 53 API reference describes it. */
  private mockHealthChecks(): void {
    const same = (a: HealthCheckConfig, b: HealthCheckConfig) => JSON.stringify(completeConfig(a)) === JSON.stringify(completeConfig(b));
    this.mock.on(CreateHealthCheckCommand).callsFake((input: { CallerReference: string; HealthCheckConfig: HealthCheckConfig }) => {
      const existing = [...this.healthChecks.values()].find((x) => x.hc.CallerReference === input.CallerReference);
      if (existing) {
        if (same(existing.hc.HealthCheckConfig!, input.HealthCheckConfig)) return { HealthCheck: structuredClone(existing.hc), Location: `https://route53.amazonaws.com/2013-04-01/healthcheck/${existing.hc.Id}` };
        throw awsError('HealthCheckAlreadyExists', `A health check with the caller reference ${input.CallerReference} already exists with different settings.`, 409);
      }
      if (this.deletedRefs.has(input.CallerReference)) throw awsError('HealthCheckAlreadyExists', `The caller reference ${input.CallerReference} was used by a deleted health check.`, 409);
      const id = this.add(input.CallerReference, input.HealthCheckConfig);
      if (this.loseNextCreateAnswer) {
        this.loseNextCreateAnswer = false;
        throw awsError('ServiceUnavailable', 'Service Unavailable', 503, 'server');
      }
      return { HealthCheck: structuredClone(this.healthChecks.get(id)!.hc), Location: `https://route53.amazonaws.com/2013-04-01/healthcheck/${id}` };
    });
    this.mock.on(UpdateHealthCheckCommand).callsFake((input: UpdateHealthCheckRequest) => {
      const hook = this.beforeNextUpdate;
      this.beforeNextUpdate = undefined;
      hook?.();
      const x = this.healthChecks.get(input.HealthCheckId!);
      if (!x) throw awsError('NoSuchHealthCheck', `No health check exists with the specified ID ${input.HealthCheckId}`, 404);
      if (input.HealthCheckVersion !== undefined && input.HealthCheckVersion !== x.hc.HealthCheckVersion) {
        throw awsError('HealthCheckVersionMismatch', 'The value of HealthCheckVersion in the request doesn\'t match the value of HealthCheckVersion in the health check.', 409);
      }
      const c = x.hc.HealthCheckConfig!;
      if (input.IPAddress !== undefined && c.IPAddress === undefined) throw awsError('InvalidInput', 'You can\'t add an IP address to a health check that has none.');
      for (const k of ['IPAddress', 'Port', 'ResourcePath', 'FullyQualifiedDomainName', 'FailureThreshold', 'Regions', 'EnableSNI', 'Inverted', 'Disabled'] as const) {
        if (input[k] !== undefined) (c as unknown as Record<string, unknown>)[k] = structuredClone(input[k]);
      }
      for (const r of input.ResetElements ?? []) delete (c as unknown as Record<string, unknown>)[r];
      x.hc.HealthCheckVersion = (x.hc.HealthCheckVersion ?? 1) + 1;
      return { HealthCheck: structuredClone(x.hc) };
    });
    this.mock.on(DeleteHealthCheckCommand).callsFake((input: { HealthCheckId: string }) => {
      const x = this.healthChecks.get(input.HealthCheckId);
      if (!x) throw awsError('NoSuchHealthCheck', `No health check exists with the specified ID ${input.HealthCheckId}`, 404);
      this.healthChecks.delete(input.HealthCheckId);
      this.deletedRefs.add(x.hc.CallerReference!);
      return {};
    });
    this.mock.on(ListHealthChecksCommand).callsFake((input: { Marker?: string; MaxItems?: number }) => {
      const all = [...this.healthChecks.values()].map((x) => x.hc).sort((a, b) => (a.Id! < b.Id! ? -1 : 1));
      const from = input.Marker ? all.findIndex((h) => h.Id === input.Marker) : 0;
      const max = Math.min(input.MaxItems ?? 100, 1000);
      const page = all.slice(Math.max(0, from), Math.max(0, from) + max);
      const next = all[Math.max(0, from) + max];
      return { HealthChecks: structuredClone(page), Marker: input.Marker ?? '', IsTruncated: next !== undefined, ...(next ? { NextMarker: next.Id } : {}), MaxItems: max };
    });
    this.mock.on(ChangeTagsForResourceCommand).callsFake((input: { ResourceType: string; ResourceId: string; AddTags?: R53Tag[] }) => {
      const x = this.healthChecks.get(input.ResourceId);
      if (input.ResourceType !== 'healthcheck' || !x) throw awsError('NoSuchHealthCheck', `No health check exists with the specified ID ${input.ResourceId}`, 404);
      for (const t of input.AddTags ?? []) x.tags = [...x.tags.filter((o) => o.Key !== t.Key), t];
      return {};
    });
  }

  /** A health check as Route 53 holds it (someone else's, when the reference is not Drover's). */
  add(callerReference: string, config: HealthCheckConfig): string {
    const id = `${String(this.nextId++).padStart(8, '0')}-1111-2222-3333-444455556666`;
    this.healthChecks.set(id, { hc: { Id: id, CallerReference: callerReference, HealthCheckConfig: completeConfig(config), HealthCheckVersion: 1 }, tags: [] });
    return id;
  }

  calls(command: typeof CreateHealthCheckCommand | typeof UpdateHealthCheckCommand | typeof DeleteHealthCheckCommand | typeof ChangeTagsForResourceCommand): number {
    return this.mock.commandCalls(command as typeof CreateHealthCheckCommand).length;
  }
}

/** What Route 53 answers for a config: its defaults filled in (every checker region when none is set). */
function completeConfig(c: HealthCheckConfig): HealthCheckConfig {
  const https = c.Type === 'HTTPS' || c.Type === 'HTTPS_STR_MATCH';
  return {
    ...c,
    Port: c.Port ?? (https ? 443 : 80),
    RequestInterval: c.RequestInterval ?? 30,
    FailureThreshold: c.FailureThreshold ?? 3,
    MeasureLatency: c.MeasureLatency ?? false,
    Inverted: c.Inverted ?? false,
    Disabled: c.Disabled ?? false,
    EnableSNI: c.EnableSNI ?? false,
    Regions: c.Regions ?? ['sa-east-1', 'us-west-1', 'us-west-2', 'ap-northeast-1', 'ap-southeast-1', 'eu-west-1', 'us-east-1', 'ap-southeast-2'],
  };
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
