/**
 * From a fleet's traffic plan to per-cluster traffic, the one input every cloud compiler shares: cloud
 * load balancers sit in front of clusters, not Prods, so a cluster's weight is the sum of the plan weights
 * of its Prods that serve (active, in an endpoint group, weight > 0).
 *
 * Rules (pure, no I/O):
 * - A cluster that is NotReady (or Unknown), cordoned, draining (a replace cordons too) gets weight 0 at
 *   once: Drover knows within its heartbeat grace, long before a cloud health check does. A group whose
 *   clusters all have weight 0 then fails over by the cloud's own rule (GA ignores dials for it).
 * - Fail static: when that would leave no cluster anywhere with weight > 0 (every cluster looks lost at
 *   once — the control plane is the likelier fault), clusters keep their plan weights and `failStatic` says so.
 * - A domain's dial is the plan group's `trafficDial` (0–100); a domain without a plan group has dial 0.
 */
import type { Cluster } from '../api/kinds/cluster.js';
import { clusterDomain } from '../api/kinds/cluster.js';
import type { TrafficPlanSpec } from '../api/kinds/traffic-plan.js';

export type ClusterOut = 'NotReady' | 'Cordoned' | 'Draining' | 'Unknown';

export interface ClusterTraffic {
  cluster: string;
  domain: string;
  region: string;
  /** Sum of the plan weights of its serving Prods, before any zeroing. */
  planWeight: number;
  /** planWeight, or 0 when the cluster is out. */
  weight: number;
  /** Why the weight is 0 although the plan gives it traffic. */
  out?: ClusterOut;
  servingProds: number;
  loadBalancer?: NonNullable<Cluster['spec']['loadBalancer']>;
}

export interface FleetTraffic {
  /** Per cluster known to the control plane, by name (clusters without Prods of the fleet too). */
  clusters: Map<string, ClusterTraffic>;
  /** Domain → trafficDial from the plan's groups. */
  dials: Map<string, number>;
  /** True when every cluster would be out and the plan weights were kept instead. */
  failStatic: boolean;
}

function outReason(c: Cluster): ClusterOut | undefined {
  if (c.spec.draining) return 'Draining';
  if (c.spec.cordoned) return 'Cordoned';
  const phase = c.status?.phase ?? 'Unknown';
  if (phase === 'NotReady') return 'NotReady';
  if (phase !== 'Ready') return 'Unknown';
  return undefined;
}

export function fleetTraffic(plan: TrafficPlanSpec | undefined, clusters: readonly Cluster[]): FleetTraffic {
  const byProd = new Map((plan?.endpoints ?? []).map((e) => [e.prod, e] as const));
  const sums = new Map<string, { weight: number; prods: number }>();
  const dials = new Map<string, number>();
  for (const g of plan?.groups ?? []) {
    dials.set(g.domain, g.trafficDial);
    for (const m of g.endpoints) {
      const e = byProd.get(m.prod);
      if (!e || e.state !== 'active' || m.weight <= 0) continue;
      const s = sums.get(e.cluster) ?? { weight: 0, prods: 0 };
      s.weight += m.weight;
      s.prods += 1;
      sums.set(e.cluster, s);
    }
  }
  const out = new Map<string, ClusterTraffic>();
  let anyLive = false;
  let anyPlanned = false;
  for (const c of [...clusters].sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1))) {
    const name = c.metadata.name;
    const s = sums.get(name) ?? { weight: 0, prods: 0 };
    const reason = outReason(c);
    const t: ClusterTraffic = {
      cluster: name,
      domain: clusterDomain(c),
      region: c.spec.region,
      planWeight: s.weight,
      weight: reason ? 0 : s.weight,
      servingProds: s.prods,
      ...(reason && s.weight > 0 ? { out: reason } : {}),
      ...(c.spec.loadBalancer ? { loadBalancer: c.spec.loadBalancer } : {}),
    };
    if (t.weight > 0) anyLive = true;
    if (s.weight > 0 && reason !== 'Cordoned' && reason !== 'Draining') anyPlanned = true;
    out.set(name, t);
  }
  // Only health-driven zeroing is undone: a cordon or a drain is an operator's decision.
  const failStatic = !anyLive && anyPlanned;
  if (failStatic) {
    for (const t of out.values()) {
      if (t.out === 'NotReady' || t.out === 'Unknown') {
        t.weight = t.planWeight;
        delete t.out;
      }
    }
  }
  return { clusters: out, dials, failStatic };
}

/**
 * Scales non-negative weights into 0–255 keeping their ratios: unchanged when they fit, else scaled so
 * the largest is 255; a positive weight never rounds down to 0 (that would take it out of service).
 */
export function toByteWeights(weights: ReadonlyMap<string, number>): Map<string, number> {
  let max = 0;
  for (const w of weights.values()) max = Math.max(max, w);
  const out = new Map<string, number>();
  for (const [k, w] of weights) {
    if (w <= 0) out.set(k, 0);
    else if (max <= 255 && Number.isInteger(w)) out.set(k, w);
    else out.set(k, Math.max(1, Math.round((w * 255) / max)));
  }
  return out;
}
