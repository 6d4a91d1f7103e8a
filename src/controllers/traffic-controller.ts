/**
 * The traffic controller: keeps one TrafficPlan per fleet (named as the fleet) equal to what
 * `compilePlan` makes of the fleet's current Prods, clusters, tenants and policy. Level-based: every
 * reconcile reads everything afresh. `revision` increases only when the plan's content changes, so
 * data planes (which watch TrafficPlans) see a change only when there is one.
 */
import { API_VERSION } from '../api/meta.js';
import type { AnyResource } from '../api/resource.js';
import type { Cluster } from '../api/kinds/cluster.js';
import type { Fleet } from '../api/kinds/fleet.js';
import type { Prod } from '../api/kinds/prod.js';
import type { Tenant } from '../api/kinds/tenant.js';
import type { TrafficPlan } from '../api/kinds/traffic-plan.js';
import type { TrafficPolicy } from '../api/kinds/traffic-policy.js';
import { isDroverError } from '../errors.js';
import type { ReconcileContext, Reconciler, Result, WatchSpec } from '../runtime/reconciler.js';
import { canonicalJson } from '../store/object-semantics.js';
import { compilePlan, planContent } from '../traffic/compile-plan.js';
import type { ControllerFactory } from './index.js';

function fleetOf(obj: AnyResource): string[] {
  const spec = obj.spec as { fleet?: unknown } | undefined;
  return typeof spec?.fleet === 'string' ? [spec.fleet] : [];
}

export class TrafficController implements Reconciler {
  readonly name = 'traffic';
  readonly resyncMs = 30_000;
  /** Fleets seen so far: a Cluster change may affect any of them. */
  private readonly known = new Set<string>();
  readonly watches: readonly WatchSpec[] = [
    { kind: 'Fleet' },
    { kind: 'Prod', mapToKeys: fleetOf },
    { kind: 'Tenant', mapToKeys: fleetOf },
    { kind: 'TrafficPolicy', mapToKeys: fleetOf },
    { kind: 'Cluster', mapToKeys: (): string[] => [...this.known] },
    { kind: 'TrafficPlan' },
  ];

  async listKeys(ctx: ReconcileContext): Promise<string[]> {
    const [fleets, plans] = await Promise.all([ctx.store.list<Fleet>('Fleet'), ctx.store.list<TrafficPlan>('TrafficPlan')]);
    const keys = new Set([...fleets.items.map((f) => f.metadata.name), ...plans.items.map((p) => p.metadata.name)]);
    for (const k of keys) this.known.add(k);
    return [...keys];
  }

  async reconcile(ctx: ReconcileContext, key: string): Promise<Result> {
    const { store } = ctx;
    const fleet = await store.get<Fleet>('Fleet', key);
    const existing = await store.get<TrafficPlan>('TrafficPlan', key);
    if (!fleet || fleet.metadata.deletionTimestamp) {
      this.known.delete(key);
      if (existing) await deleteIgnoringNotFound(ctx, key);
      return {};
    }
    this.known.add(key);
    const [prods, clusters, tenants, policies] = await Promise.all([
      store.list<Prod>('Prod'),
      store.list<Cluster>('Cluster'),
      store.list<Tenant>('Tenant'),
      store.list<TrafficPolicy>('TrafficPolicy'),
    ]);
    const policy = policies.items.find((p) => p.metadata.name === key && p.spec.fleet === key) ?? policies.items.find((p) => p.spec.fleet === key);
    const compiled = compilePlan({ fleet, prods: prods.items, clusters: clusters.items, tenants: tenants.items, policy });

    if (existing && canonicalJson(planContent(existing.spec)) === canonicalJson(planContent(compiled))) return {};
    const spec = { ...compiled, revision: (existing?.spec.revision ?? 0) + 1 };
    const owner = { apiVersion: API_VERSION, kind: 'Fleet', name: key, uid: fleet.metadata.uid ?? '', controller: true };
    if (existing) {
      // Compare-and-swap on the version we read: a concurrent writer makes this fail and retry.
      await store.update<TrafficPlan>({ ...existing, spec });
    } else {
      const plan: TrafficPlan = {
        apiVersion: API_VERSION,
        kind: 'TrafficPlan',
        metadata: { name: key, labels: { 'drover.dev/fleet': key }, annotations: {}, finalizers: [], ownerReferences: [owner] },
        spec,
      };
      await store.create(plan);
    }
    return {};
  }
}

async function deleteIgnoringNotFound(ctx: ReconcileContext, key: string): Promise<void> {
  try {
    await ctx.store.delete('TrafficPlan', key);
  } catch (e) {
    if (!isDroverError(e, 'DROVER_E_NOT_FOUND')) throw e;
  }
}

export const trafficControllerFactory: ControllerFactory = () => new TrafficController();
