/**
 * The traffic plan as Route 53 record sets of one name. Pure.
 *
 * - weighted: one record set per cluster that has Prods of the fleet in the plan and a target (its load
 *   balancer's alias, address or DNS name), SetIdentifier `drover-<cluster>`. Route 53 has no groups, so
 *   the edge's group rules are folded into the weights: a failure domain with dial > 0 and a live cluster
 *   keeps a share proportional to its dial, split by cluster weight; the share of a domain with no live
 *   cluster goes to every live cluster by weight, ignoring dials (GA's and the edge's failover rule).
 *   Weight = share × 255 (a positive share never rounds to 0). No live cluster at all: every weight 0, and Route 53
 *   answers with all of them alike (its own fail-open).
 * - failover: PRIMARY = the live cluster of the highest-dial domain (then highest weight, then name);
 *   SECONDARY = the best live cluster of another domain (else of the same domain). SetIdentifiers `drover-primary`/`drover-secondary`
 *   stay put while their targets move, so a failover is one UPSERT.
 * - health checks (`spec.route53.healthCheck`): one Drover-owned check per cluster that has a record
 *   candidate (failover: every candidate, not only the two in records, so that a failover repoints a record
 *   at a check that already runs) and no `healthCheckIds` entry; its record's HealthCheckId is the symbol
 *   `healthCheck/<cluster>` until the write resolves it (src/cloud/route53/target.ts).
 */
import type { ResourceRecordSet } from '@aws-sdk/client-route-53';
import type { Cluster } from '../../api/kinds/cluster.js';
import type { CloudState, Route53Spec } from '../../api/kinds/cloud-traffic.js';
import type { TrafficPlanSpec } from '../../api/kinds/traffic-plan.js';
import { fleetTraffic, type ClusterTraffic } from '../cluster-weights.js';
import { healthCheckFields, type DesiredHealthCheck } from './health-check-settings.js';
import { normalizeName, recordFields, recordKey } from './names.js';

export { recordFields };

export interface DesiredRoute53 {
  /** HealthCheckId `healthCheck/<cluster>` stands for the id of Drover's check of that cluster (resolved on write). */
  records: ResourceRecordSet[];
  /** Health checks Drover owns, keyed by cluster (spec.route53.healthCheck). */
  healthChecks: DesiredHealthCheck[];
  notes: string[];
  failStatic: boolean;
}

export const HEALTH_CHECK_PREFIX = 'healthCheck/';
export const hcResource = (key: string): string => `${HEALTH_CHECK_PREFIX}${key}`;

/** The check of one cluster: at its load balancer's address, else its DNS name. */
function healthCheckOf(spec: Route53Spec, c: ClusterTraffic): DesiredHealthCheck | undefined {
  const hc = spec.healthCheck;
  const lb = c.loadBalancer;
  if (!hc || !lb || (!lb.address && !lb.dnsName)) return undefined;
  return {
    key: c.cluster,
    settings: {
      type: hc.type,
      port: hc.port ?? (hc.type === 'HTTPS' ? 443 : 80),
      intervalSeconds: hc.intervalSeconds,
      failureThreshold: hc.failureThreshold,
      ...(lb.address ? { ipAddress: lb.address } : { fqdn: lb.dnsName! }),
      ...(hc.type !== 'TCP' ? { path: hc.path ?? '/' } : {}),
      ...(hc.regions ? { regions: [...hc.regions] } : {}),
    },
  };
}

function target(spec: Route53Spec, c: ClusterTraffic): Partial<ResourceRecordSet> | undefined {
  const lb = c.loadBalancer;
  if (!lb) return undefined;
  if (spec.type === 'CNAME') return lb.dnsName ? { TTL: spec.ttl, ResourceRecords: [{ Value: lb.dnsName }] } : undefined;
  if (lb.dnsName && lb.hostedZoneId) return { AliasTarget: { HostedZoneId: lb.hostedZoneId, DNSName: normalizeName(lb.dnsName), EvaluateTargetHealth: spec.evaluateTargetHealth } };
  if (lb.address) return { TTL: spec.ttl, ResourceRecords: [{ Value: lb.address }] };
  return undefined;
}

/** Per cluster, its share of the name's traffic (0–1) under the dial and failover rules. */
export function clusterShares(clusters: readonly ClusterTraffic[], dials: ReadonlyMap<string, number>): Map<string, number> {
  const byDomain = new Map<string, ClusterTraffic[]>();
  for (const c of clusters) byDomain.set(c.domain, [...(byDomain.get(c.domain) ?? []), c]);
  const live = clusters.filter((c) => c.weight > 0);
  const liveTotal = live.reduce((s, c) => s + c.weight, 0);
  const shares = new Map<string, number>(clusters.map((c) => [c.cluster, 0] as const));
  if (liveTotal <= 0) return shares;
  let dialTotal = 0;
  for (const d of byDomain.keys()) dialTotal += dials.get(d) ?? 0;
  let failed = 0;
  for (const [d, cs] of byDomain) {
    const dial = dialTotal > 0 ? (dials.get(d) ?? 0) / dialTotal : 1 / byDomain.size;
    if (dial <= 0) continue;
    const w = cs.reduce((s, c) => s + c.weight, 0);
    if (w <= 0) {
      failed += dial;
      continue;
    }
    for (const c of cs) shares.set(c.cluster, (shares.get(c.cluster) ?? 0) + (dial * c.weight) / w);
  }
  // Every dialled domain is down or dialled to 0: everything that is live takes it, by weight.
  if (failed > 0 || [...shares.values()].every((s) => s === 0)) {
    const pool = failed > 0 ? failed : 1;
    for (const c of live) shares.set(c.cluster, (shares.get(c.cluster) ?? 0) + (pool * c.weight) / liveTotal);
  }
  return shares;
}

export function compileRoute53(spec: Route53Spec, plan: TrafficPlanSpec, clusters: readonly Cluster[]): DesiredRoute53 {
  const traffic = fleetTraffic(plan, clusters);
  const inPlan = new Set(plan.endpoints.map((e) => e.cluster));
  const notes: string[] = [];
  const candidates: { c: ClusterTraffic; t: Partial<ResourceRecordSet> }[] = [];
  for (const c of traffic.clusters.values()) {
    if (!inPlan.has(c.cluster) && c.planWeight <= 0) continue;
    const t = target(spec, c);
    if (!t) {
      notes.push(`cluster ${c.cluster} has Prods of the fleet but no usable spec.loadBalancer for a ${spec.type} record (alias: dnsName + hostedZoneId; A/AAAA: address; CNAME: dnsName)`);
      continue;
    }
    candidates.push({ c, t });
  }
  const name = normalizeName(spec.recordName);
  const healthChecks: DesiredHealthCheck[] = [];
  for (const { c } of candidates) {
    if (spec.healthCheckIds[c.cluster] !== undefined || !spec.healthCheck) continue;
    const d = healthCheckOf(spec, c);
    if (d) healthChecks.push(d);
    else notes.push(`cluster ${c.cluster}: no health check (spec.loadBalancer has neither address nor dnsName to check)`);
  }
  const owned = new Set(healthChecks.map((d) => d.key));
  const base = (t: Partial<ResourceRecordSet>, id: string, c: ClusterTraffic): ResourceRecordSet => {
    const hc = spec.healthCheckIds[c.cluster] ?? (owned.has(c.cluster) ? hcResource(c.cluster) : undefined);
    return { Name: name, Type: spec.type, SetIdentifier: id, ...t, ...(hc ? { HealthCheckId: hc } : {}) };
  };
  const records: ResourceRecordSet[] = [];
  if (spec.routing === 'weighted') {
    const shares = clusterShares(candidates.map((x) => x.c), traffic.dials);
    // A fixed scale (share × 255), not "largest = 255": a change of one cluster's share rewrites only the
    // records whose share changed, not every record of the name.
    for (const { c, t } of candidates) {
      const share = shares.get(c.cluster) ?? 0;
      records.push({ ...base(t, `drover-${c.cluster}`, c), Weight: share > 0 ? Math.max(1, Math.round(share * 255)) : 0 });
    }
  } else {
    const rank = (x: { c: ClusterTraffic }): [number, number, number, string] => [x.c.weight > 0 ? 0 : 1, -(traffic.dials.get(x.c.domain) ?? 0), -x.c.planWeight, x.c.cluster];
    const cmp = (a: { c: ClusterTraffic }, b: { c: ClusterTraffic }): number => {
      const ra = rank(a);
      const rb = rank(b);
      for (let i = 0; i < ra.length; i++) if (ra[i] !== rb[i]) return ra[i]! < rb[i]! ? -1 : 1;
      return 0;
    };
    const sorted = [...candidates].sort(cmp);
    const primary = sorted[0];
    // A live cluster of another domain, else any live one, else another domain's, else any other.
    const others = sorted.filter((x) => x !== primary);
    const otherDomain = (x: { c: ClusterTraffic }): boolean => x.c.domain !== primary?.c.domain;
    const secondary = others.find((x) => x.c.weight > 0 && otherDomain(x)) ?? others.find((x) => x.c.weight > 0) ?? others.find(otherDomain) ?? others[0];
    if (primary) records.push({ ...base(primary.t, 'drover-primary', primary.c), Failover: 'PRIMARY' });
    if (secondary) records.push({ ...base(secondary.t, 'drover-secondary', secondary.c), Failover: 'SECONDARY' });
  }
  records.sort((a, b) => (recordKey(a) < recordKey(b) ? -1 : 1));
  healthChecks.sort((a, b) => (a.key < b.key ? -1 : 1));
  return { records, healthChecks, notes, failStatic: traffic.failStatic };
}

export const r53Resource = (r: ResourceRecordSet): string => `record/${recordKey(r)}`;

export function recordsState(records: readonly ResourceRecordSet[]): CloudState {
  const out: CloudState = {};
  for (const r of records) out[r53Resource(r)] = recordFields(r);
  return out;
}

/** The desired state: the records, and Drover's health checks as `healthCheck/<cluster>`. */
export function route53DesiredState(d: DesiredRoute53): CloudState {
  const out = recordsState(d.records);
  for (const hc of d.healthChecks) out[hcResource(hc.key)] = healthCheckFields(hc.settings);
  return out;
}
