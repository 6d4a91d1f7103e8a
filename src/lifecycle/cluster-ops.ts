/**
 * Cluster cordon / uncordon / drain, as spec changes the scheduler acts on (cordoned: no new Prods;
 * draining: tenants move off, implies cordoned), plus the drain report: which tenants are still on the
 * cluster, and which redundant tenants lost their second failure domain because capacity was missing.
 */
import { clusterDomain, type Cluster } from '../api/kinds/cluster.js';
import type { Prod } from '../api/kinds/prod.js';
import type { Tenant } from '../api/kinds/tenant.js';
import { errors } from '../errors.js';
import { mutate } from '../store/mutate.js';
import type { Store } from '../store/store.js';

export const ClusterOp = ['cordon', 'uncordon', 'drain'] as const;
export type ClusterOp = (typeof ClusterOp)[number];

/** Sets the cluster's state for `op`; `changed` is false when it already was so (nothing written). */
export async function changeClusterState(store: Store, name: string, op: ClusterOp): Promise<{ cluster: Cluster; changed: boolean }> {
  let changed = false;
  const c = await mutate<Cluster>(store, 'Cluster', name, (cl) => {
    const want = op === 'uncordon' ? { cordoned: false, draining: false } : op === 'drain' ? { cordoned: true, draining: true } : { cordoned: true, draining: cl.spec.draining };
    if (cl.spec.cordoned === want.cordoned && cl.spec.draining === want.draining) return false;
    cl.spec.cordoned = want.cordoned;
    cl.spec.draining = want.draining;
    changed = true;
  });
  if (!c) throw errors.notFound('Cluster', name);
  return { cluster: c, changed };
}

export async function setClusterState(store: Store, name: string, op: ClusterOp): Promise<Cluster> {
  return (await changeClusterState(store, name, op)).cluster;
}

/** What `drover cluster cordon|uncordon` prints: the change, or that it already held. */
export async function cordonMessage(store: Store, name: string, op: 'cordon' | 'uncordon'): Promise<string> {
  const { cluster, changed } = await changeClusterState(store, name, op);
  const done = op === 'cordon' ? 'cordoned' : 'uncordoned';
  return changed ? `cluster ${cluster.metadata.name} ${done}` : `cluster ${cluster.metadata.name} already ${done}`;
}

export interface DrainReport {
  cluster: string;
  /** Tenants still assigned to a Prod on the cluster. */
  remaining: string[];
  /** Redundancy-2 tenants that are not on two Prods in two failure domains, with the scheduler's reason. */
  degraded: { tenant: string; prods: string[]; domains: string[]; reason: string }[];
  done: boolean;
}

export function drainReport(cluster: string, clusters: readonly Cluster[], prods: readonly Prod[], tenants: readonly Tenant[]): DrainReport {
  const prodCluster = new Map(prods.map((p) => [p.metadata.name, p.spec.cluster] as const));
  const domainOf = new Map(clusters.map((c) => [c.metadata.name, clusterDomain(c)] as const));
  const remaining: string[] = [];
  const degraded: DrainReport['degraded'] = [];
  for (const t of tenants) {
    const assigned = t.status?.prods ?? [];
    if (assigned.some((p) => prodCluster.get(p) === cluster)) remaining.push(t.metadata.name);
    if (t.spec.redundancy !== 2) continue;
    const domains = [...new Set(assigned.map((p) => domainOf.get(prodCluster.get(p) ?? '') ?? '?'))];
    if (assigned.length < 2 || domains.length < 2) {
      degraded.push({ tenant: t.metadata.name, prods: assigned, domains, reason: t.status?.reason ?? 'not enough capacity in a second failure domain' });
    }
  }
  return { cluster, remaining: remaining.sort(), degraded, done: remaining.length === 0 };
}

export async function readDrainReport(store: Store, cluster: string): Promise<DrainReport> {
  const [clusters, prods, tenants] = await Promise.all([store.list('Cluster'), store.list('Prod'), store.list('Tenant')]);
  return drainReport(cluster, clusters.items, prods.items, tenants.items);
}

/** Sets draining, then polls until no tenant is left on the cluster (or the deadline passes). */
export async function drainCluster(
  store: Store,
  name: string,
  opts: { timeoutMs?: number; pollMs?: number; onProgress?: (r: DrainReport) => void; signal?: AbortSignal } = {},
): Promise<DrainReport> {
  await setClusterState(store, name, 'drain');
  const end = Date.now() + (opts.timeoutMs ?? 120_000);
  let last = '';
  for (;;) {
    const r = await readDrainReport(store, name);
    const key = JSON.stringify(r);
    if (key !== last) opts.onProgress?.(r);
    last = key;
    if (r.done || Date.now() > end || opts.signal?.aborted) return r;
    await new Promise((res) => setTimeout(res, opts.pollMs ?? 500));
  }
}
