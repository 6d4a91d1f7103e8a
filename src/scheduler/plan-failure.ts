/**
 * `drover plan --fail-cluster`: what would happen to a fleet's tenants if a cluster died now. The
 * baseline is what the scheduler would assign today; the what-if re-runs it seeded by that baseline with
 * the cluster NotReady, so the difference is the failure's effect alone.
 */
import { baseline, whatIfClusterFails } from './fallbacks.js';
import { diffPlacements } from './moves.js';
import { tenantPlacement, type FleetObjects } from './snapshot.js';

export interface FailurePlan {
  fleet: string;
  cluster: string;
  moves: { tenant: string; from: string[]; to: string[]; cause: string }[];
  lostRedundancy: { tenant: string; prods: string[]; reasons: string[] }[];
  noProd: { tenant: string; reasons: string[] }[];
  /** Tenants on the cluster's Prods: the fewest that had to move. */
  mustMove: number;
}

export function planClusterFailure(fleetName: string, objs: FleetObjects, cluster: string, epsilon?: number): FailurePlan {
  const base = baseline(objs, epsilon);
  const what = whatIfClusterFails(objs, base, cluster, epsilon);
  const onCluster = new Set(what.snap.prodInfo.filter((p) => p.cluster === cluster).map((p) => p.name));
  const moves = diffPlacements(what.snap, what.result);
  const plan: FailurePlan = { fleet: fleetName, cluster, moves: [], lostRedundancy: [], noProd: [], mustMove: 0 };
  for (const prev of what.snap.storedPrev) if (prev.some((n) => onCluster.has(n))) plan.mustMove++;
  const whatIndex = new Map(what.snap.tenantNames.map((n, i) => [n, i]));
  for (const m of moves) {
    const t = whatIndex.get(m.tenant) ?? -1;
    const placement = tenantPlacement(what.snap, what.result, t);
    if (m.unassigned) plan.noProd.push({ tenant: m.tenant, reasons: placement.reasons });
    else {
      plan.moves.push({ tenant: m.tenant, from: m.from, to: m.to, cause: m.cause });
      if (m.lostRedundancy) plan.lostRedundancy.push({ tenant: m.tenant, prods: m.to, reasons: placement.reasons });
    }
  }
  return plan;
}
