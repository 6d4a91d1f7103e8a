/**
 * Per-tenant fallbacks: for every cluster that holds a tenant's Prods, where the scheduler would move the
 * tenant if that cluster died now. It is the same what-if as `drover plan --fail-cluster` (a seeded pass
 * with the cluster NotReady, seeded by today's assignment), run once per cluster of the fleet, so the edge,
 * failing a tenant over before the control plane has even noticed, lands it exactly where the control plane
 * will put it: no second move, no flip-flop.
 */
import type { Tenant } from '../api/index.js';
import { assignTenants } from './assign-tenants.js';
import { buildSnapshot, scheduleFleet, tenantPlacement, type FleetObjects } from './snapshot.js';
import type { AssignResult } from './model.js';
import type { FleetSnapshot } from './snapshot.js';

export interface Baseline {
  snap: FleetSnapshot;
  result: AssignResult;
  /** The fleet's tenants with status.prods set to today's assignment: the seed of every what-if. */
  seeded: Tenant[];
}

/** What the scheduler would assign today, and the tenants seeded by it. */
export function baseline(objs: FleetObjects, epsilon?: number): Baseline {
  const base = scheduleFleet(objs, { epsilon });
  const index = new Map(base.snap.tenantNames.map((n, i) => [n, i]));
  const seeded: Tenant[] = objs.tenants.map((t) => {
    const i = index.get(t.metadata.name) ?? -1;
    const prods = i >= 0 ? tenantPlacement(base.snap, base.result, i).prods : [];
    return { ...t, status: { conditions: [], domains: [], ...t.status, prods } };
  });
  return { ...base, seeded };
}

/** The what-if of one cluster failing, from a baseline. */
export function whatIfClusterFails(objs: FleetObjects, base: Baseline, cluster: string, epsilon?: number): { snap: FleetSnapshot; result: AssignResult } {
  return scheduleFleet({ ...objs, tenants: base.seeded }, { epsilon, failClusters: new Set([cluster]) });
}

/**
 * Tenant name → fallback Prods: the Prods the what-if gives it that it does not have today, over the
 * clusters of its Prods (in cluster-name order). Tenants whose what-if leaves them where they are, or
 * without a Prod, have no entry.
 *
 * The same computation as `baseline` + `whatIfClusterFails` per cluster (the property test holds them
 * equal), without building a snapshot per cluster: the what-if's snapshot differs from today's only in
 * its seed (today's assignment) and in the failed cluster's Prods not serving, so one snapshot and one
 * assignment pass per cluster on patched copies of its tables do. Building the snapshot from objects costs
 * more than the passes.
 */
export function computeFallbacks(objs: FleetObjects, epsilon?: number): Map<string, string[]> {
  const out = new Map<string, string[]>();
  if (objs.tenants.length === 0) return out;
  const snap = buildSnapshot(objs, { epsilon });
  const base = assignTenants(snap.input);
  const { input } = snap;
  const T = input.tenants.count;
  // Today's assignment as the seed, in the order tenantPlacement lists it.
  const prev0 = new Int32Array(T);
  const prev1 = new Int32Array(T);
  for (let t = 0; t < T; t++) {
    const a = base.slot0[t] ?? -1;
    const b = base.slot1[t] ?? -1;
    prev0[t] = a >= 0 ? a : b;
    prev1[t] = a >= 0 ? b : -1;
  }
  const tenants = { ...input.tenants, prev0, prev1 };
  const clusterOfProd = snap.prodInfo.map((p) => p.cluster);
  const clusters = [...new Set(snap.prodInfo.filter((p) => p.notServing === undefined).map((p) => p.cluster))].sort();
  for (const cluster of clusters) {
    const serving = Uint8Array.from(input.prods.serving, (v, p) => (clusterOfProd[p] === cluster ? 0 : v));
    const what = assignTenants({ ...input, prods: { ...input.prods, serving }, tenants });
    for (let t = 0; t < T; t++) {
      const a = base.slot0[t] ?? -1;
      const b = base.slot1[t] ?? -1;
      if (!((a >= 0 && clusterOfProd[a] === cluster) || (b >= 0 && clusterOfProd[b] === cluster))) continue;
      for (const p of [what.slot0[t] ?? -1, what.slot1[t] ?? -1]) {
        if (p < 0 || p === a || p === b) continue;
        const name = snap.tenantNames[t] ?? '';
        const prod = snap.prodInfo[p]?.name ?? '';
        const list = out.get(name);
        if (!list) out.set(name, [prod]);
        else if (!list.includes(prod)) list.push(prod);
      }
    }
  }
  return out;
}
