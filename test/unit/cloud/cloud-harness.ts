/**
 * The CloudTraffic controller on a MemoryStore with mocked AWS clients: the one set-up of every
 * "mocked AWS" controller test (Global Accelerator, Route 53, target group). Clusters, a TrafficPlan of the
 * fleet `web` and the CloudTraffic are stored; the clock is the test's.
 */
import type { CloudTraffic, Cluster, Event, Prod, TrafficPolicy } from '../../../src/api/index.js';
import type { AwsClients } from '../../../src/cloud/clients.js';
import { compileCloud } from '../../../src/cloud/compile.js';
import { cloudDiff, formatCloudDiff } from '../../../src/cloud/format-diff.js';
import { plannedChanges } from '../../../src/cloud/state.js';
import { cloudTrafficController } from '../../../src/controllers/cloud-traffic-controller.js';
import { recordEvent } from '../../../src/runtime/events.js';
import type { ReconcileContext } from '../../../src/runtime/reconciler.js';
import { MemoryStore } from '../../../src/store/memory/memory-store.js';
import { mutateStatus } from '../../../src/store/mutate.js';
import { plan, policy, world, worldProds } from './cloud-fixtures.js';

export interface HarnessOptions {
  clients: AwsClients;
  clusters?: Cluster[];
  prods?: Prod[];
  pol?: TrafficPolicy;
}

/** Fast retries with no sleeping: a throttled call is retried at once, 4 attempts in all. */
const RETRY = { attempts: 4, baseMs: 1, capMs: 2, sleep: async () => {} };

export async function cloudHarness(ct: CloudTraffic, opts: HarnessOptions) {
  const store = new MemoryStore();
  const clusters = opts.clusters ?? world();
  const pol = opts.pol ?? policy([{ domain: 'tokyo', trafficDial: 100 }, { domain: 'osaka', trafficDial: 100 }]);
  for (const c of clusters) await store.create(c);
  await store.create({ apiVersion: 'drover.dev/v1alpha1', kind: 'TrafficPlan', metadata: { name: 'web', labels: {}, annotations: {}, finalizers: [], ownerReferences: [] }, spec: plan(opts.prods ?? worldProds(), clusters, pol) });
  await store.create(ct);
  let clock = Date.parse('2026-12-01T12:00:00Z');
  const newController = () => cloudTrafficController({ clients: () => opts.clients, retry: RETRY, now: () => clock });
  let controller = newController();
  const ctx: ReconcileContext = { store, cache: store.view(), signal: new AbortController().signal, recordEvent: async (o, t, r, m) => void (await recordEvent(store, o, t, r, m)) };
  const name = ct.metadata.name;
  return {
    store,
    /** One full sync: the clock moves past the sync period, so the pass reads AWS even if nothing changed. */
    async sync() {
      clock += 120_000;
      return controller.reconcile(ctx, name);
    },
    /** A pass prompted by a change, at the same time (no sync period elapsed). */
    pass: () => controller.reconcile(ctx, name),
    /** A control-plane restart: a new controller (no memory of earlier passes) on the same store. */
    restart() {
      controller = newController();
    },
    object: async () => (await store.get<CloudTraffic>('CloudTraffic', name))!,
    status: async () => (await store.get<CloudTraffic>('CloudTraffic', name))!.status!,
    events: async () => (await store.list('Event')).items.map((e: Event) => e.spec.reason),
    eventMessages: async () => (await store.list('Event')).items.map((e: Event) => `${e.spec.reason}: ${e.spec.message}`),
    async setPhase(cluster: string, phase: 'Ready' | 'NotReady') {
      await mutateStatus<Cluster>(store, 'Cluster', cluster, (c) => {
        c.status = { ...c.status!, phase };
      });
    },
    /** `drover cloud diff` as the CLI computes it, from the stored objects. */
    async diffText() {
      const cur = (await store.get<CloudTraffic>('CloudTraffic', name))!;
      const p = (await store.get('TrafficPlan', 'web'))!;
      const compiled = compileCloud(cur.spec, p.spec, (await store.list('Cluster')).items);
      return formatCloudDiff(cloudDiff(cur, plannedChanges(compiled.state, cur.status), p.spec.revision, compiled.notes, compiled.failStatic));
    },
  };
}

export type CloudHarness = Awaited<ReturnType<typeof cloudHarness>>;
