/**
 * The I/O half of `drover explain tenant` and `drover plan --fail-cluster`: fetch one fleet's live
 * objects through the API, then hand them to the pure scheduler. Computed client-side so a dry-run needs
 * no server support and uses exactly the controller's code.
 */
import { errors } from '../errors.js';
import { explainTenant, type TenantExplanation } from '../scheduler/explain.js';
import { planClusterFailure, type FailurePlan } from '../scheduler/plan-failure.js';
import { scheduleFleet, type FleetObjects } from '../scheduler/snapshot.js';
import type { Store } from '../store/store.js';

export async function loadFleetObjects(store: Store, fleet: string): Promise<FleetObjects> {
  const [f, clusters, prods, tenants] = await Promise.all([
    store.get('Fleet', fleet),
    store.list('Cluster'),
    store.list('Prod'),
    store.list('Tenant'),
  ]);
  return {
    fleet: f,
    clusters: clusters.items,
    prods: prods.items.filter((p) => p.spec.fleet === fleet),
    tenants: tenants.items.filter((t) => t.spec.fleet === fleet),
  };
}

export async function explainTenantFromStore(store: Store, name: string, epsilon?: number): Promise<TenantExplanation> {
  const t = await store.get('Tenant', name);
  if (!t) throw errors.notFound('Tenant', name);
  const { snap, result } = scheduleFleet(await loadFleetObjects(store, t.spec.fleet), { epsilon });
  const i = snap.tenantNames.indexOf(name);
  return explainTenant(snap, result, i);
}

export async function planFailureFromStore(store: Store, cluster: string, fleet?: string, epsilon?: number): Promise<FailurePlan[]> {
  if (!(await store.get('Cluster', cluster))) throw errors.notFound('Cluster', cluster);
  const fleets = fleet ? [fleet] : (await store.list('Fleet')).items.map((f) => f.metadata.name);
  const plans: FailurePlan[] = [];
  for (const f of fleets) plans.push(planClusterFailure(f, await loadFleetObjects(store, f), cluster, epsilon));
  return plans;
}
