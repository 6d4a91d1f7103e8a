/**
 * The CloudTraffic controller (key: CloudTraffic name): compiles the fleet's TrafficPlan and Clusters into
 * the provider's desired state (src/cloud/), reads what AWS holds, decides (cloud-traffic-decide.ts, pure),
 * writes the difference to AWS in apply mode, and writes status and Events.
 *
 * Promptness without chatter: it watches TrafficPlan (every Prod, tenant and policy decision reaches cloud
 * weights through the plan) and Cluster (NotReady, cordon and drain zero a cluster's weight at once; the
 * plan does not look at cluster health). Watching Prod or TrafficRoute would add nothing: their effect on
 * the cloud state passes through the plan. A pass whose compiled desired state is the same as at the last
 * sync, within the sync period, returns without any AWS call — so a heartbeat costs nothing, and a killed
 * cluster costs one read and one write per changed group.
 *
 * Errors: AWS errors never throw out of a pass (no crash loop): they become `lastError`, a condition and an
 * Event, and the pass comes back after the sync period (10 s after a throttling or 5xx that outlasted the
 * retries). Missing credentials in dryRun are not an error: observed is "unknown" and AWS is not asked
 * again for 5 minutes.
 */
import { CloudTraffic, FINALIZER_HEALTH_CHECKS, type CloudTraffic as CloudTrafficT } from '../api/kinds/cloud-traffic.js';
import { ANNOTATION_SYNC_REQUESTED_AT } from '../api/labels.js';
import { durationMs } from '../api/meta.js';
import type { AnyResource } from '../api/resource.js';
import { AwsCallError, CallMeter, type RetryPolicy } from '../cloud/aws-call.js';
import type { AwsClients } from '../cloud/clients.js';
import { compileCloud } from '../cloud/compile.js';
import type { Observation } from '../cloud/target.js';
import type { ReconcileContext, Reconciler, Result } from '../runtime/reconciler.js';
import { mutate, mutateStatus } from '../store/mutate.js';
import { canonicalJson } from '../store/object-semantics.js';
import { decideSync, settleSync, type ReadFailure, type SyncEvent, type SyncInput } from './cloud-traffic-decide.js';

export interface CloudTrafficControllerOptions {
  /** Default: clients from the SDK's standard configuration, made on the first AWS call. */
  clients?: () => AwsClients | Promise<AwsClients>;
  retry?: RetryPolicy;
  now?: () => number;
  /** Called after every sync with its AWS calls (bench/). */
  onSync?: (name: string, meter: CallMeter, at: number) => void;
}

const CREDENTIALS_PAUSE_MS = 5 * 60_000;
const TRANSIENT_RETRY_MS = 10_000;

interface Memo {
  desired: string;
  /** The next sync is due then even if nothing changed. */
  dueAt: number;
  generation: number | undefined;
  requested: string | undefined;
}

function revision(o: AnyResource): bigint {
  try {
    return BigInt(o.metadata.resourceVersion ?? '0');
  } catch {
    return 0n;
  }
}

function failure(e: unknown): ReadFailure {
  if (e instanceof AwsCallError) return { code: e.code, message: e.message, errorClass: e.errorClass };
  throw e;
}

/**
 * Held while Drover may own health checks: the spec asks for them in apply mode, or the status still
 * records some (dryRun never creates any, so a laptop without AWS credentials can always delete).
 */
function needsFinalizer(ct: CloudTrafficT): boolean {
  const asked = ct.spec.route53?.healthCheck !== undefined && ct.spec.mode === 'apply';
  return asked || Object.keys(ct.status?.healthChecks ?? {}).length > 0;
}

export function cloudTrafficController(opts: CloudTrafficControllerOptions = {}): Reconciler {
  const now = opts.now ?? Date.now;
  let clients: AwsClients | undefined;
  const awsClients = async (): Promise<AwsClients> => {
    if (clients) return clients;
    // The SDK is loaded only when a CloudTraffic exists.
    clients = opts.clients ? await opts.clients() : (await import('../cloud/clients.js')).defaultAwsClients();
    return clients;
  };
  /** CloudTraffic name → its fleet, so a plan change enqueues only its fleet's CloudTraffics. */
  const fleetOf = new Map<string, string>();
  const memo = new Map<string, Memo>();
  const written = new Map<string, { rv: bigint; status: CloudTrafficT['status'] }>();
  let credentialsMissingUntil = 0;

  const track = (ct: CloudTrafficT): void => {
    fleetOf.set(ct.metadata.name, ct.spec.fleet);
  };
  const byFleet = (o: AnyResource): string[] => [...fleetOf].filter(([, f]) => f === o.metadata.name).map(([n]) => n);

  async function reconcile(ctx: ReconcileContext, name: string): Promise<Result> {
    const cached = ctx.cache ? ctx.cache.get<CloudTrafficT>('CloudTraffic', name) : await ctx.store.get('CloudTraffic', name);
    if (!cached || cached.metadata.deletionTimestamp) {
      // What Drover wrote to AWS stays: deleting the CloudTraffic stops the steering, it does not undo it.
      // Only what Drover made for this object alone (Route 53 health checks) goes, under the finalizer.
      fleetOf.delete(name);
      memo.delete(name);
      written.delete(name);
      if (cached?.metadata.finalizers.includes(FINALIZER_HEALTH_CHECKS)) return finalize(ctx, CloudTraffic.parse(cached));
      return {};
    }
    const ct = CloudTraffic.parse(cached);
    // Before the first health check is created: deleting the object must delete them.
    if (needsFinalizer(ct) !== ct.metadata.finalizers.includes(FINALIZER_HEALTH_CHECKS)) {
      await mutate<CloudTrafficT>(ctx.store, 'CloudTraffic', name, (o) => {
        if (o.metadata.deletionTimestamp) return false;
        const has = o.metadata.finalizers.includes(FINALIZER_HEALTH_CHECKS);
        if (needsFinalizer(CloudTraffic.parse(o)) === has) return false;
        o.metadata.finalizers = has ? o.metadata.finalizers.filter((f) => f !== FINALIZER_HEALTH_CHECKS) : [...o.metadata.finalizers, FINALIZER_HEALTH_CHECKS];
      });
    }
    // The cache lags our own status writes: a sync right after a write must compare with what it wrote.
    const mine = written.get(name);
    if (mine && revision(cached) < mine.rv && mine.status) ct.status = mine.status;
    track(ct);
    const periodMs = durationMs(ct.spec.syncPeriod);
    const plan = ctx.cache ? ctx.cache.get('TrafficPlan', ct.spec.fleet) : await ctx.store.get('TrafficPlan', ct.spec.fleet);
    const clusters = ctx.cache ? ctx.cache.list('Cluster') : (await ctx.store.list('Cluster')).items;
    const compiled = plan ? compileCloud(ct.spec, plan.spec, clusters) : undefined;
    const t = now();
    const requested = ct.metadata.annotations[ANNOTATION_SYNC_REQUESTED_AT];
    // Fail static changes no desired state (plan weights, registrations kept) but is said at once.
    const desiredJson = canonicalJson({ state: compiled?.state ?? null, failStatic: compiled?.failStatic ?? false });
    const last = memo.get(name);
    if (last && last.desired === desiredJson && last.generation === ct.metadata.generation && last.requested === requested && t < last.dueAt) {
      return { requeueAfterMs: last.dueAt - t };
    }

    const meter = new CallMeter();
    const input: SyncInput = { ct, desired: compiled?.state, notes: compiled?.notes ?? [], failStatic: compiled?.failStatic ?? false, now: new Date(t).toISOString() };
    let observation: Observation | undefined;
    let target;
    if (compiled) {
      const dry = ct.spec.mode === 'dryRun';
      if (dry && t < credentialsMissingUntil) {
        input.readError = { code: 'CredentialsProviderError', message: 'no AWS credentials (not asked again for a while)', errorClass: 'credentials' };
      } else {
        const { cloudTarget } = await import('../cloud/targets.js');
        target = cloudTarget(ct, compiled, await awsClients(), opts.retry);
        try {
          observation = await target?.observe(meter, ct.status?.lastApplied);
          if (observation) input.observed = observation;
        } catch (e) {
          input.readError = failure(e);
          if (input.readError.errorClass === 'credentials') credentialsMissingUntil = now() + CREDENTIALS_PAUSE_MS;
        }
      }
    }

    const decision = decideSync(input);
    let { status } = decision;
    const events: SyncEvent[] = [...decision.events];
    let writeError: ReadFailure | undefined;
    if (decision.write && target && observation) {
      let outcome: { ok: true; healthChecks?: Record<string, string> } | { ok: false; error: ReadFailure };
      try {
        const result = await target.apply(meter, observation, decision.changes, ct.status?.lastApplied);
        outcome = { ok: true, ...(result?.healthChecks ? { healthChecks: result.healthChecks } : {}) };
      } catch (e) {
        writeError = failure(e);
        outcome = { ok: false, error: writeError };
      }
      const settled = settleSync(input, decision, outcome);
      status = settled.status;
      events.push(...settled.events);
    }
    status.lastSyncCalls = { reads: meter.reads, writes: meter.writes };
    opts.onSync?.(name, meter, now());

    const stored = await mutateStatus<CloudTrafficT>(ctx.store, 'CloudTraffic', name, (o) => {
      if (canonicalJson(o.status ?? null) === canonicalJson(status)) return false;
      o.status = status;
    });
    if (stored) written.set(name, { rv: revision(stored), status: stored.status });
    for (const ev of events) await ctx.recordEvent(stored ?? ct, ev.type, ev.reason, ev.message);

    // Throttling or 5xx that outlasted the retries: again in 10 s. A permanent error (AccessDenied, no such
    // listener) waits for the period or a change of the object: no crash loop.
    const err = writeError ?? input.readError;
    const transient = err !== undefined && (err.errorClass === 'throttling' || err.errorClass === 'transient');
    const waitMs = transient ? Math.min(TRANSIENT_RETRY_MS, periodMs) : periodMs;
    memo.set(name, { desired: desiredJson, dueAt: t + waitMs, generation: ct.metadata.generation, requested });
    return { requeueAfterMs: waitMs };
  }

  /** Deletes Drover's health checks of a CloudTraffic being deleted, then lets it go. */
  async function finalize(ctx: ReconcileContext, ct: CloudTrafficT): Promise<Result> {
    const meter = new CallMeter();
    try {
      const { releaseCloudResources } = await import('../cloud/targets.js');
      const deleted = await releaseCloudResources(ct, await awsClients(), meter, opts.retry);
      if (deleted.length > 0) await ctx.recordEvent(ct, 'Normal', 'HealthChecksDeleted', `deleted ${deleted.length} Route 53 health check(s) Drover created: ${deleted.join(', ')}`);
    } catch (e) {
      const f = failure(e);
      await ctx.recordEvent(ct, 'Warning', 'CleanupFailed', `deleting Drover's Route 53 health checks failed: ${f.code}: ${f.message}; retried, or remove the finalizer ${FINALIZER_HEALTH_CHECKS} to leave them`);
      return { requeueAfterMs: f.errorClass === 'throttling' || f.errorClass === 'transient' ? TRANSIENT_RETRY_MS : durationMs(ct.spec.syncPeriod) };
    }
    await mutate<CloudTrafficT>(ctx.store, 'CloudTraffic', ct.metadata.name, (o) => {
      if (!o.metadata.finalizers.includes(FINALIZER_HEALTH_CHECKS)) return false;
      o.metadata.finalizers = o.metadata.finalizers.filter((f) => f !== FINALIZER_HEALTH_CHECKS);
    });
    return {};
  }

  return {
    name: 'cloud-traffic',
    watches: [
      { kind: 'CloudTraffic' },
      { kind: 'TrafficPlan', mapToKeys: byFleet },
      { kind: 'Cluster', mapToKeys: () => [...fleetOf.keys()] },
    ],
    resyncMs: 60_000,
    listKeys: async (ctx) => {
      const list = ctx.cache ? ctx.cache.list<CloudTrafficT>('CloudTraffic') : (await ctx.store.list('CloudTraffic')).items;
      for (const ct of list) track(ct);
      return list.map((ct) => ct.metadata.name);
    },
    reconcile,
  };
}

