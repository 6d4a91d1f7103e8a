/** A LoadBalancerMirror, its controller over a MemoryStore, and mocked AWS (ELBv2 + Route 53) for the mirror tests and bench. */
import { Route53Client } from '@aws-sdk/client-route-53';
import { LoadBalancerMirror, type LoadBalancerMirror as Mirror } from '../../../src/api/kinds/load-balancer-mirror.js';
import type { Event } from '../../../src/api/kinds/event.js';
import type { AwsClients } from '../../../src/cloud/clients.js';
import type { DesiredHealthCheck } from '../../../src/cloud/route53/health-checks.js';
import { mirrorController, type MirrorControllerOptions } from '../../../src/controllers/mirror-controller.js';
import type { SyncHealthChecks } from '../../../src/controllers/mirror-dns.js';
import { recordEvent } from '../../../src/runtime/events.js';
import type { ReconcileContext } from '../../../src/runtime/reconciler.js';
import { MemoryStore } from '../../../src/store/memory/memory-store.js';
import { FakeElb } from './mirror-fake-elb.js';

export function mirror(name: string, spec: Record<string, unknown>): Mirror {
  return LoadBalancerMirror.parse({ apiVersion: 'drover.dev/v1alpha1', kind: 'LoadBalancerMirror', metadata: { name }, spec });
}

export function octaviaSpec(lbId: string, cloudsYaml: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    source: { octavia: { loadBalancerId: lbId, cloud: { name: 'test', configPath: cloudsYaml } } },
    target: { nlb: { region: 'eu-west-1', subnets: ['subnet-0a1', 'subnet-0b2'], tags: { team: 'platform' } } },
    syncPeriod: '30s',
    ...extra,
  };
}

/** A fake of src/cloud/route53/health-checks.ts's syncOwnedHealthChecks: one id per key, no Route 53 behind it. */
export class FakeHealthChecks {
  readonly checks = new Map<string, DesiredHealthCheck>();
  calls = 0;
  private seq = 0;
  readonly sync: SyncHealthChecks = async (_client, _owner, desired, observedIds = {}, opts = {}) => {
    this.calls++;
    const ids: Record<string, string> = {};
    const created: string[] = [];
    const stale: string[] = [];
    for (const d of desired) {
      const id = observedIds[d.key] ?? `hc-${++this.seq}`;
      if (!observedIds[d.key]) created.push(d.key);
      this.checks.set(id, d);
      ids[d.key] = id;
    }
    for (const [key, id] of Object.entries(observedIds)) {
      if (ids[key]) continue;
      if (opts.prune ?? true) this.checks.delete(id);
      stale.push(id);
    }
    const prune = opts.prune ?? true;
    return { ids, created, updated: [], deleted: prune ? stale : [], stale: prune ? [] : stale, missing: [], notOwned: [] };
  };
}

export function clientsFor(elb: FakeElb, route53?: Route53Client): AwsClients {
  return {
    globalAccelerator: () => {
      throw new Error('not used by the mirror');
    },
    route53: () => route53 ?? new Route53Client({ region: 'us-east-1' }),
    elbv2: () => elb.client,
  };
}

export async function harness(m: Mirror, elb: FakeElb, opts: MirrorControllerOptions & { route53?: Route53Client; healthChecks?: FakeHealthChecks } = {}) {
  const store = new MemoryStore();
  await store.create(m);
  let clock = Date.parse('2026-12-01T12:00:00Z');
  const hc = opts.healthChecks ?? new FakeHealthChecks();
  const make = () =>
    mirrorController({
      clients: () => clientsFor(elb, opts.route53),
      retry: { attempts: 3, baseMs: 1, capMs: 2, sleep: async () => {} },
      now: () => clock,
      syncHealthChecks: hc.sync,
      octavia: { timeoutMs: 3_000 },
      ...opts,
    });
  let controller = make();
  const ctx: ReconcileContext = { store, cache: store.view(), signal: new AbortController().signal, recordEvent: async (o, t, r, msg) => void (await recordEvent(store, o, t, r, msg)) };
  const name = m.metadata.name;
  return {
    store,
    hc,
    /** A sync `afterMs` later (default one minute: past the tests' sync period, so the memo lets it through). */
    async sync(afterMs = 60_000) {
      clock += afterMs;
      return controller.reconcile(ctx, name);
    },
    /** A pass at the same instant (a watch event of our own status write). */
    pass: () => controller.reconcile(ctx, name),
    /** A new controller (a restarted control plane) on the same store. */
    restart() {
      controller = make();
    },
    get: async () => (await store.get<Mirror>('LoadBalancerMirror', name))!,
    status: async () => (await store.get<Mirror>('LoadBalancerMirror', name))!.status!,
    events: async () => (await store.list<Event>('Event')).items.map((e) => `${e.spec.reason}: ${e.spec.message}`),
  };
}
