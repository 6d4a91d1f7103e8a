/**
 * The LoadBalancerMirror controller (key: mirror name). Every `syncPeriod` (and at once on a spec change
 * or `drover mirror sync`): read the source — an Octavia LB (src/cloud/octavia/) or a Service of type
 * LoadBalancer on a Drover cluster (src/cloud/service-source/), both into the same model — compile the NLB it should have (src/cloud/nlb/compile.ts),
 * read what AWS holds (observe.ts), write only the difference (apply.ts), then the DNS split
 * (mirror-dns.ts), then status and Events (mirror-decide.ts, pure).
 *
 * Deletion: the finalizer `drover.dev/nlb-mirror` is added before anything is created in AWS; when the
 * mirror is deleted the controller deletes the NLB, its target groups, its DNS records and health checks —
 * only what Drover owns — then removes the finalizer. A pass prompted by our own status write (same
 * generation and sync annotation, before the period is up) calls nothing.
 *
 * Errors never throw out of a pass: they become `lastError` (with the spec field and the fix), `Synced=False`
 * and one Event; throttling and 5xx come back after 10 s, the rest after the sync period.
 */
import type { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { isIPv4 } from 'node:net';
import type { Cluster } from '../api/kinds/cluster.js';
import { ANNOTATION_SYNC_REQUESTED_AT } from '../api/labels.js';
import { LoadBalancerMirror, MIRROR_FINALIZER, mirrorOwnerId, type LoadBalancerMirror as Mirror, type MirrorNote } from '../api/kinds/load-balancer-mirror.js';
import { durationMs } from '../api/meta.js';
import { AwsCallError, CallMeter, type RetryPolicy } from '../cloud/aws-call.js';
import type { AwsClients } from '../cloud/clients.js';
import { compileMirror, desiredState, type DesiredNlb } from '../cloud/nlb/compile.js';
import type { Built } from '../cloud/nlb/observe.js';
import { OctaviaError } from '../cloud/octavia/errors.js';
import { OctaviaMeter, OctaviaReader, type OctaviaLoadBalancer, type OctaviaReaderOptions } from '../cloud/octavia/reader.js';
import { readServiceSource, serviceSourceId, type KubeGetter } from '../cloud/service-source/reader.js';
import type { ReconcileContext, Reconciler, Result } from '../runtime/reconciler.js';
import { mutate, mutateStatus } from '../store/mutate.js';
import { canonicalJson } from '../store/object-semantics.js';
import { planMirror, settleMirror, type Failure, type MirrorEvent, type MirrorFacts } from './mirror-decide.js';
import type { SyncHealthChecks } from './mirror-dns.js';

export interface MirrorControllerOptions {
  clients?: () => AwsClients | Promise<AwsClients>;
  /** Octavia reader options (fetch, timeout, environment) for every mirror. */
  octavia?: OctaviaReaderOptions;
  /** The Kubernetes API of a Cluster, for `spec.source.service` (default: the driver's client with its kubeconfig). */
  kube?: (cluster: Cluster) => KubeGetter | undefined;
  /** Default: src/cloud/route53/health-checks.ts's. */
  syncHealthChecks?: SyncHealthChecks;
  retry?: RetryPolicy;
  now?: () => number;
  /** Called after every sync with its AWS calls (bench/). */
  onSync?: (name: string, meter: CallMeter, octaviaCalls: number, at: number) => void;
}

const TRANSIENT_RETRY_MS = 10_000;

const VPC_FIELD_CODES = new Set(['InvalidConfigurationRequest', 'InvalidConfigurationRequestException', 'InvalidSubnet', 'InvalidSubnetException', 'SubnetNotFound', 'SubnetNotFoundException']);

/** An error as status says it: the spec field at fault and the fix when there is one. */
export function failureOf(e: unknown): Failure {
  if (e instanceof OctaviaError) return { code: e.code, message: e.message, field: e.field, fix: e.fix, retrySoon: e.code === 'OctaviaUnreachable' || e.code === 'ServiceUnreachable' };
  if (e instanceof AwsCallError) {
    const retrySoon = e.errorClass === 'throttling' || e.errorClass === 'transient';
    if ((e.operation === 'CreateLoadBalancer' || e.operation === 'SetSubnets') && VPC_FIELD_CODES.has(e.code)) {
      return { code: e.code, message: e.message, field: 'spec.target.nlb.subnets', fix: 'list existing subnets of one VPC, at most one per Availability Zone' };
    }
    if (e.code === 'DuplicateLoadBalancerNameException' || e.code === 'DuplicateTargetGroupNameException') {
      return { code: e.code, message: e.message, field: 'spec.target.nlb.namePrefix', fix: 'another resource has this name with other settings: change namePrefix or ownerId' };
    }
    if (e.errorClass === 'credentials') return { code: e.code, message: e.message, fix: 'give `drover server` AWS credentials (environment, profile, IRSA or instance role)' };
    return { code: e.code, message: e.message, retrySoon };
  }
  return { code: 'Internal', message: (e as Error)?.message ?? String(e) };
}

interface Memo {
  dueAt: number;
  generation: number | undefined;
  requested: string | undefined;
}

/** The id the NLB's and groups' names hash: the Octavia LB's id, or the Service's cluster/namespace/name. */
export function sourceIdOf(m: Mirror): string {
  const { octavia, service } = m.spec.source;
  return octavia ? octavia.loadBalancerId : service ? serviceSourceId(service) : m.metadata.name;
}

export function mirrorController(opts: MirrorControllerOptions = {}): Reconciler {
  const now = opts.now ?? Date.now;
  let clients: AwsClients | undefined;
  const awsClients = async (): Promise<AwsClients> => (clients ??= opts.clients ? await opts.clients() : (await import('../cloud/clients.js')).defaultAwsClients());
  const healthChecks = async (): Promise<SyncHealthChecks> => opts.syncHealthChecks ?? (await import('../cloud/route53/health-checks.js')).syncOwnedHealthChecks;
  const readers = new Map<string, { key: string; reader: OctaviaReader }>();
  const memo = new Map<string, Memo>();
  const kubeApis = new Map<string, { key: string; api: KubeGetter | undefined }>();

  /** One API client per mirror, kept while the Cluster's provider and kubeconfig stay the same. */
  const kubeFor = async (m: Mirror, cluster: Cluster): Promise<KubeGetter | undefined> => {
    const key = JSON.stringify([cluster.metadata.name, cluster.spec.provider, cluster.spec.kubernetes ?? null]);
    const have = kubeApis.get(m.metadata.name);
    if (have?.key === key) return have.api;
    const make = opts.kube ?? (await import('../cloud/service-source/kube-getter.js')).kubeGetterFor;
    const api = make(cluster);
    kubeApis.set(m.metadata.name, { key, api });
    return api;
  };

  async function readSource(ctx: ReconcileContext, m: Mirror, om: OctaviaMeter): Promise<{ lb: OctaviaLoadBalancer; notes: MirrorNote[] }> {
    const octavia = m.spec.source.octavia;
    if (octavia) return { lb: await readerFor(m).read(om, octavia.loadBalancerId), notes: [] };
    const ref = m.spec.source.service;
    if (!ref) throw new OctaviaError('InvalidTarget', 'the mirror has no source', { field: 'spec.source', fix: 'set spec.source.octavia or spec.source.service' });
    const cluster = ctx.cache ? ctx.cache.get<Cluster>('Cluster', ref.cluster) : await ctx.store.get<Cluster>('Cluster', ref.cluster);
    const api = cluster && (cluster.spec.provider === 'kubernetes' || cluster.spec.provider === 'eks') ? await kubeFor(m, cluster) : undefined;
    return readServiceSource(om, cluster ? { provider: cluster.spec.provider, api } : undefined, ref);
  }

  const readerFor = (m: Mirror): OctaviaReader => {
    const cloud = m.spec.source.octavia?.cloud;
    const key = JSON.stringify(cloud ?? null);
    const have = readers.get(m.metadata.name);
    if (have?.key === key) return have.reader;
    const reader = new OctaviaReader(cloud, opts.octavia);
    readers.set(m.metadata.name, { key, reader });
    return reader;
  };

  async function writeStatus(ctx: ReconcileContext, m: Mirror, facts: MirrorFacts): Promise<void> {
    const { status, events } = settleMirror(facts);
    const stored = await mutateStatus<Mirror>(ctx.store, 'LoadBalancerMirror', m.metadata.name, (o) => {
      if (canonicalJson(o.status ?? null) === canonicalJson(status)) return false;
      o.status = status;
    });
    await record(ctx, stored ?? m, events);
  }

  async function record(ctx: ReconcileContext, m: Mirror, events: readonly MirrorEvent[]): Promise<void> {
    for (const ev of events) await ctx.recordEvent(m, ev.type, ev.reason, ev.message);
  }

  async function finalize(ctx: ReconcileContext, m: Mirror): Promise<Result> {
    const meter = new CallMeter();
    const built: Built = structuredClone(m.status?.built ?? { targetGroups: {}, listeners: {} });
    try {
      const c = await awsClients();
      const elb = c.elbv2(m.spec.target.nlb.region);
      const { observeNlb } = await import('../cloud/nlb/observe.js');
      const { deleteNlb } = await import('../cloud/nlb/apply.js');
      const shell = compileMirror({ id: sourceIdOf(m), name: '', vipAddress: '', operatingStatus: '', provisioningStatus: '', listeners: [], pools: [] }, m.spec.target.nlb, { name: m.metadata.name, ownerId: mirrorOwnerId(m) });
      const observed = await observeNlb(meter, elb, shell, built, mirrorOwnerId(m), opts.retry);
      await deleteNlb(meter, elb, observed, built, opts.retry);
      if (m.spec.dns) {
        const { deleteMirrorDns } = await import('./mirror-dns.js');
        await deleteMirrorDns(meter, c.route53(), m, m.status?.dns?.healthCheckIds ?? {}, await healthChecks(), opts.retry);
      }
    } catch (e) {
      const f = failureOf(e);
      await writeStatus(ctx, m, { mirror: m, now: new Date(now()).toISOString(), notes: m.status?.notes ?? [], changes: [], built, error: f, calls: { octavia: 0, awsReads: meter.reads, awsWrites: meter.writes } });
      await record(ctx, m, [{ type: 'Warning', reason: 'DeleteFailed', message: `deleting the NLB mirror: ${f.code}: ${f.message}` }]);
      return { requeueAfterMs: TRANSIENT_RETRY_MS };
    }
    await record(ctx, m, [{ type: 'Normal', reason: 'Deleted', message: `deleted the NLB ${m.status?.built.loadBalancerArn ?? '(none built)'}, its target groups${m.spec.dns ? ' and DNS records' : ''}` }]);
    await mutate<Mirror>(ctx.store, 'LoadBalancerMirror', m.metadata.name, (o) => {
      if (!o.metadata.finalizers.includes(MIRROR_FINALIZER)) return false;
      o.metadata.finalizers = o.metadata.finalizers.filter((x) => x !== MIRROR_FINALIZER);
    });
    memo.delete(m.metadata.name);
    readers.delete(m.metadata.name);
    kubeApis.delete(m.metadata.name);
    return {};
  }

  async function reconcile(ctx: ReconcileContext, name: string): Promise<Result> {
    const cached = ctx.cache ? ctx.cache.get<Mirror>('LoadBalancerMirror', name) : await ctx.store.get('LoadBalancerMirror', name);
    if (!cached) {
      memo.delete(name);
      readers.delete(name);
      kubeApis.delete(name);
      return {};
    }
    const m = LoadBalancerMirror.parse(cached);
    if (m.metadata.deletionTimestamp) return m.metadata.finalizers.includes(MIRROR_FINALIZER) ? finalize(ctx, m) : {};
    const t = now();
    const requested = m.metadata.annotations[ANNOTATION_SYNC_REQUESTED_AT];
    const last = memo.get(name);
    if (last && last.generation === m.metadata.generation && last.requested === requested && t < last.dueAt) return { requeueAfterMs: last.dueAt - t };
    const periodMs = durationMs(m.spec.syncPeriod);

    if (!m.metadata.finalizers.includes(MIRROR_FINALIZER)) {
      // Before anything exists in AWS: what Drover builds is always deleted with the mirror.
      await mutate<Mirror>(ctx.store, 'LoadBalancerMirror', name, (o) => {
        if (o.metadata.finalizers.includes(MIRROR_FINALIZER)) return false;
        o.metadata.finalizers = [...o.metadata.finalizers, MIRROR_FINALIZER];
      });
    }
    const meter = new CallMeter();
    const om = new OctaviaMeter();
    const built: Built = structuredClone(m.status?.built ?? { targetGroups: {}, listeners: {} });
    const facts: MirrorFacts = { mirror: m, now: new Date(t).toISOString(), notes: [], changes: [], built, calls: { octavia: 0, awsReads: 0, awsWrites: 0 } };
    try {
      await syncOnce(ctx, m, facts, meter, om);
    } catch (e) {
      facts.error = failureOf(e);
    }
    facts.calls = { octavia: om.calls, awsReads: meter.reads, awsWrites: meter.writes };
    opts.onSync?.(name, meter, om.calls, now());
    await writeStatus(ctx, m, facts);
    const waitMs = facts.error?.retrySoon ? Math.min(TRANSIENT_RETRY_MS, periodMs) : periodMs;
    memo.set(name, { dueAt: t + waitMs, generation: m.metadata.generation, requested });
    return { requeueAfterMs: waitMs };
  }

  /** Fills `facts` as far as it gets; throws the first error (facts keep what was done before it). */
  async function syncOnce(ctx: ReconcileContext, m: Mirror, facts: MirrorFacts, meter: CallMeter, om: OctaviaMeter): Promise<void> {
    const { lb, notes: sourceNotes } = await readSource(ctx, m, om);
    facts.source = {
      name: lb.name,
      vipAddress: lb.vipAddress,
      operatingStatus: lb.operatingStatus,
      provisioningStatus: lb.provisioningStatus,
      listeners: lb.listeners.length,
      pools: lb.pools.length,
      members: lb.pools.reduce((n, p) => n + p.members.length, 0),
    };
    const desired: DesiredNlb = compileMirror(lb, m.spec.target.nlb, { name: m.metadata.name, ownerId: mirrorOwnerId(m) });
    facts.notes = [...sourceNotes, ...desired.notes];
    facts.desired = desiredState(desired);
    const c = await awsClients();
    const elb: ElasticLoadBalancingV2Client = c.elbv2(m.spec.target.nlb.region);
    const [{ observeNlb }, { applyNlb }] = await Promise.all([import('../cloud/nlb/observe.js'), import('../cloud/nlb/apply.js')]);
    const observed = await observeNlb(meter, elb, desired, facts.built, mirrorOwnerId(m), opts.retry);
    facts.observed = { state: observed.state, foreign: observed.foreign, healthyTargets: observed.healthyTargets };
    if (observed.lb) Object.assign(facts.built, { loadBalancerArn: observed.lb.arn, dnsName: observed.lb.dnsName, canonicalHostedZoneId: observed.lb.canonicalHostedZoneId, vpcId: observed.lb.vpcId });
    const plan = planMirror(facts.desired, observed);
    facts.changes = plan.changes;
    if (plan.write) {
      facts.wrote = { ok: false };
      await applyNlb(meter, elb, desired, observed, facts.built, m.spec.target.nlb.targetAvailabilityZone, opts.retry);
      facts.wrote = { ok: true };
    }
    const dns = m.spec.dns;
    if (dns && observed.foreign.length === 0) {
      const { syncMirrorDns } = await import('./mirror-dns.js');
      const first = [...desired.listeners.values()][0];
      const sourceAddress = dns.route53.sourceAddress ?? lb.vipAddress;
      // The source record is an A record: a Service whose ingress is a hostname, or not assigned yet, has no address for it.
      if (!isIPv4(sourceAddress)) {
        throw new OctaviaError('SourceAddressMissing', sourceAddress ? `the source's address ${sourceAddress} is not an IPv4 address: the weighted source record is an A record` : 'the source has no address yet (a Service whose load balancer has no ingress)', {
          field: 'spec.dns.route53.sourceAddress',
          fix: 'set spec.dns.route53.sourceAddress to the IPv4 address of the source load balancer, or wait until the Service has an ingress IP',
        });
      }
      facts.dns = await syncMirrorDns(
        meter,
        c.route53(),
        m,
        {
          sourceAddress,
          ...(facts.built.dnsName && facts.built.canonicalHostedZoneId ? { nlb: { dnsName: facts.built.dnsName, canonicalHostedZoneId: facts.built.canonicalHostedZoneId } } : {}),
          port: first?.port ?? 80,
        },
        m.status?.dns?.healthCheckIds ?? {},
        await healthChecks(),
        opts.retry,
      );
    }
  }

  return {
    name: 'load-balancer-mirror',
    // Clusters: in the (scoped) cache for spec.source.service; no pass of their own — their status changes
    // at every heartbeat, and a Service source is read on the mirror's period anyway.
    watches: [{ kind: 'LoadBalancerMirror' }, { kind: 'Cluster', mapToKeys: () => [] }],
    resyncMs: 60_000,
    listKeys: async (ctx) => {
      const list = ctx.cache ? ctx.cache.list<Mirror>('LoadBalancerMirror') : (await ctx.store.list('LoadBalancerMirror')).items;
      return list.map((m) => m.metadata.name);
    },
    reconcile,
  };
}
