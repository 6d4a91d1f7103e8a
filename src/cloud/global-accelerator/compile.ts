/**
 * The traffic plan as Global Accelerator endpoint groups. Pure.
 *
 * GA's rules, and how the plan maps onto them (the edge implements the same ones, src/edge/routing.ts):
 * - One endpoint group per AWS region; its clusters are the spec's `clusters`, else those of its
 *   `domains`, else those whose `spec.region` is the group's region.
 * - TrafficDialPercentage (0–100) = the plan's dial of the group's failure domain (the highest when the
 *   group spans several); a domain without a plan group has dial 0: it takes failover traffic only.
 * - Endpoint weight (0–255) per cluster load balancer = the sum of the plan weights of the cluster's
 *   serving Prods, scaled into 0–255 when larger (`toByteWeights`, over the whole accelerator so that
 *   ratios hold across groups); 0 for a cluster that is NotReady, cordoned or draining.
 * - A group with no endpoint of weight > 0 is failed over by GA itself, ignoring the dials: exactly the
 *   edge's rule 4, so weight 0 is how Drover fails a region over before GA's health checks notice.
 */
import type { Cluster } from '../../api/kinds/cluster.js';
import type { CloudState, GaHealthCheck, GlobalAcceleratorSpec } from '../../api/kinds/cloud-traffic.js';
import type { TrafficPlanSpec } from '../../api/kinds/traffic-plan.js';
import { fleetTraffic, toByteWeights, type ClusterTraffic } from '../cluster-weights.js';

export interface DesiredEndpointGroup {
  region: string;
  trafficDial: number;
  /** Load balancer ARN → weight 0–255, one per cluster behind the group that has an ARN. */
  endpoints: Map<string, number>;
  /** ARN → cluster, for messages. */
  clusterOf: Map<string, string>;
  healthCheck?: GaHealthCheck;
}

export interface DesiredGa {
  groups: DesiredEndpointGroup[];
  /** Clusters that would take traffic but have no `spec.loadBalancer.arn`, and other notes. */
  notes: string[];
  failStatic: boolean;
}

export function groupClusters(spec: GlobalAcceleratorSpec['endpointGroups'][number], all: ReadonlyMap<string, ClusterTraffic>): ClusterTraffic[] {
  const list = [...all.values()];
  if (spec.clusters) return list.filter((c) => spec.clusters!.includes(c.cluster));
  if (spec.domains) return list.filter((c) => spec.domains!.includes(c.domain));
  return list.filter((c) => c.region === spec.region);
}

export function compileGlobalAccelerator(spec: GlobalAcceleratorSpec, plan: TrafficPlanSpec, clusters: readonly Cluster[]): DesiredGa {
  const traffic = fleetTraffic(plan, clusters);
  const notes: string[] = [];
  const raw = new Map<string, number>();
  const members = spec.endpointGroups.map((g) => {
    const cs = groupClusters(g, traffic.clusters);
    for (const c of cs) {
      const arn = c.loadBalancer?.arn;
      if (arn === undefined) {
        if (c.planWeight > 0) notes.push(`cluster ${c.cluster} serves the fleet but has no spec.loadBalancer.arn: Global Accelerator cannot target it`);
        continue;
      }
      raw.set(arn, (raw.get(arn) ?? 0) + c.weight);
    }
    return cs;
  });
  const bytes = toByteWeights(raw);
  const groups = spec.endpointGroups.map((g, i): DesiredEndpointGroup => {
    const cs = members[i]!;
    const endpoints = new Map<string, number>();
    const clusterOf = new Map<string, string>();
    let dial = 0;
    for (const c of cs) {
      dial = Math.max(dial, traffic.dials.get(c.domain) ?? 0);
      const arn = c.loadBalancer?.arn;
      if (arn === undefined) continue;
      endpoints.set(arn, bytes.get(arn) ?? 0);
      clusterOf.set(arn, c.cluster);
    }
    return { region: g.region, trafficDial: dial, endpoints, clusterOf, ...(g.healthCheck ? { healthCheck: g.healthCheck } : {}) };
  });
  return { groups, notes, failStatic: traffic.failStatic };
}

export const gaResource = (region: string): string => `endpointGroup/${region}`;
export const weightField = (arn: string): string => `weight[${arn}]`;

const HC_FIELDS = [
  ['port', 'healthCheckPort'],
  ['protocol', 'healthCheckProtocol'],
  ['path', 'healthCheckPath'],
  ['intervalSeconds', 'healthCheckIntervalSeconds'],
  ['thresholdCount', 'thresholdCount'],
] as const;

/** The desired groups as flat state: `trafficDial`, `weight[arn]`, and the health check fields the spec sets. */
export function gaDesiredState(d: DesiredGa): CloudState {
  const out: CloudState = {};
  for (const g of d.groups) {
    const f: CloudState[string] = { trafficDial: g.trafficDial };
    for (const [arn, w] of g.endpoints) f[weightField(arn)] = w;
    for (const [k, name] of HC_FIELDS) {
      const v = g.healthCheck?.[k];
      if (v !== undefined) f[name] = v;
    }
    out[gaResource(g.region)] = f;
  }
  return out;
}

/** The subset of an observed group's fields that Drover manages: the same keys as its desired state. */
export interface ObservedGroup {
  arn: string;
  region: string;
  trafficDial: number;
  endpoints: { id: string; weight: number; clientIPPreservation?: boolean }[];
  health: Partial<Record<(typeof HC_FIELDS)[number][1], string | number>>;
}

/**
 * An observed group as flat state, restricted to what Drover manages: its dial, the weights of the
 * endpoints Drover targets now or wrote before (`managed`), and the health check fields it sets.
 */
export function gaObservedFields(g: ObservedGroup, managed: ReadonlySet<string>, healthFields: ReadonlySet<string>): CloudState[string] {
  const f: CloudState[string] = { trafficDial: g.trafficDial };
  for (const e of g.endpoints) if (managed.has(e.id)) f[weightField(e.id)] = e.weight;
  for (const [, name] of HC_FIELDS) {
    const v = g.health[name];
    if (healthFields.has(name) && v !== undefined) f[name] = v;
  }
  return f;
}

/** The endpoint ARNs named in a group's flat state. */
export function endpointsIn(fields: CloudState[string] | undefined): string[] {
  return Object.keys(fields ?? {})
    .filter((k) => k.startsWith('weight[') && k.endsWith(']'))
    .map((k) => k.slice('weight['.length, -1));
}

export function healthFieldNames(fields: CloudState[string] | undefined): Set<string> {
  const names = new Set<string>(HC_FIELDS.map(([, n]) => n));
  return new Set(Object.keys(fields ?? {}).filter((k) => names.has(k as (typeof HC_FIELDS)[number][1])));
}

export const HEALTH_FIELDS = HC_FIELDS;
