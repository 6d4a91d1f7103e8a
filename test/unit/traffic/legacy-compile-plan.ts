/** The single-object plan compiler as it was before tenant routes were split out (main at c6c0afb), frozen as the reference the sharded compile must reproduce. */
/**
 * The traffic plan compiler: pure, no I/O. From one fleet's Prods, the clusters they run on, its tenants
 * (with the scheduler's assignment in `status.prods`) and its TrafficPolicy, it computes the TrafficPlan
 * the data planes execute. Output is canonical (sorted), so two compilations of the same inputs compare
 * equal as JSON and the controller bumps `revision` only on real changes.
 *
 * Rules (see docs/architecture.md, "Edge and traffic plans"):
 * - Only Prods with an endpoint in phase Ready (state active) or Draining (state draining) appear.
 * - Blue/green: a successor S (`replaces: P`, `takeover: true`, Ready) takes P's tenants and P's group
 *   slot (weight); P stays in the plan as draining. Without takeover (or before S is Ready) S gets no
 *   traffic (it is left out of the plan) and P keeps serving: flipping takeover is a one-step swap.
 * - failoverTarget is false for Prods on cordoned or draining clusters, retiring Prods, test Prods and
 *   draining Prods. Prods on a draining cluster also leave the endpoint groups (their tenants are being
 *   moved off by the scheduler) but keep serving the tenants still assigned to them.
 * - Groups come from the policy's endpointGroups (by failure domain). A domain that has Prods but no
 *   group in the policy gets a dial-0 group (it takes failover traffic only); without a policy every
 *   domain gets a dial-100 group. Test Prods are in no group: they serve test tenants only.
 */
import { clusterDomain, type Cluster } from '../../../src/api/kinds/cluster.js';
import type { Fleet } from '../../../src/api/kinds/fleet.js';
import type { Prod } from '../../../src/api/kinds/prod.js';
import type { Tenant } from '../../../src/api/kinds/tenant.js';
import type { PlanEndpoint, PlanGroup, PlanTenant, TrafficPlanSpec } from '../../../src/api/kinds/traffic-plan.js';
import { HealthCheckSpec, TrafficPolicySpec, type TrafficPolicy } from '../../../src/api/kinds/traffic-policy.js';

export interface CompileInput {
  fleet: Fleet;
  /** Prods of any fleet; those of other fleets are ignored. */
  prods: readonly Prod[];
  clusters: readonly Cluster[];
  /** Tenants of any fleet; those of other fleets are ignored. */
  tenants: readonly Tenant[];
  policy?: TrafficPolicy | undefined;
  /** Revision to stamp on the plan (the controller owns it). */
  revision?: number;
}

const DEFAULT_WEIGHT = 128;

const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Predecessor → successor, for every successor that has taken over and is Ready with an endpoint. */
export function takeovers(prods: readonly Prod[]): Map<string, string> {
  const out = new Map<string, string>();
  const sorted = [...prods].sort((a, b) => byName(a.metadata.name, b.metadata.name));
  for (const s of sorted) {
    const pred = s.spec.replaces;
    if (pred === undefined || !s.spec.takeover) continue;
    if (s.status?.phase !== 'Ready' || !s.status.endpoint) continue;
    if (!out.has(pred)) out.set(pred, s.metadata.name);
  }
  return out;
}

/** Follows a chain of takeovers (P → S → S2) to its end, guarding against cycles. */
function resolve(name: string, swaps: ReadonlyMap<string, string>): string {
  let cur = name;
  const seen = new Set<string>([cur]);
  for (;;) {
    const next = swaps.get(cur);
    if (next === undefined || seen.has(next)) return cur;
    seen.add(next);
    cur = next;
  }
}

export function legacyCompilePlan(input: CompileInput): TrafficPlanSpec {
  const fleetName = input.fleet.metadata.name;
  const policy: TrafficPolicySpec | undefined = input.policy?.spec;
  const clusters = new Map(input.clusters.map((c) => [c.metadata.name, c] as const));
  const prods = input.prods.filter((p) => p.spec.fleet === fleetName);
  const swaps = takeovers(prods);
  const successors = new Set(swaps.values());

  // Which Prods appear, and how.
  const endpoints = new Map<string, PlanEndpoint>();
  /** Prods that may be put in groups and given tenants (active, not a waiting successor). */
  const serving = new Set<string>();
  const onDrainingCluster = new Set<string>();
  for (const p of prods) {
    const name = p.metadata.name;
    const phase = p.status?.phase;
    const url = p.status?.endpoint;
    if (!url || (phase !== 'Ready' && phase !== 'Draining')) continue;
    // A successor that has not taken over gets no traffic: leave it out.
    if (p.spec.replaces !== undefined && !successors.has(name)) continue;
    const cluster = clusters.get(p.spec.cluster);
    const domain = cluster ? clusterDomain(cluster) : 'unknown';
    const replaced = swaps.has(name);
    const state: PlanEndpoint['state'] = phase === 'Draining' || replaced ? 'draining' : 'active';
    const clusterOut = cluster === undefined || cluster.spec.cordoned || cluster.spec.draining;
    if (cluster?.spec.draining) onDrainingCluster.add(name);
    endpoints.set(name, {
      prod: name,
      url,
      cluster: p.spec.cluster,
      domain,
      version: p.status?.version ?? p.spec.version,
      role: p.spec.role,
      state,
      failoverTarget: state === 'active' && !clusterOut && !p.spec.retire && p.spec.role !== 'test',
    });
    if (state === 'active') serving.add(name);
  }

  // Tenants: their assigned Prods mapped through takeovers, keeping only Prods that serve.
  const tenants: PlanTenant[] = [];
  const tenantHeader = policy?.tenantHeader ?? 'x-drover-tenant';
  for (const t of input.tenants) {
    if (t.spec.fleet !== fleetName) continue;
    const assigned: string[] = [];
    for (const p of t.status?.prods ?? []) {
      const r = resolve(p, swaps);
      if (serving.has(r) && !assigned.includes(r)) assigned.push(r);
    }
    const h = t.spec.match.header;
    tenants.push({
      name: t.metadata.name,
      hosts: [...t.spec.match.hosts].map((x) => x.toLowerCase()).sort(byName),
      ...(h ? { header: { name: (h.name ?? tenantHeader).toLowerCase(), value: h.value } } : {}),
      redundancy: t.spec.redundancy,
      prods: assigned,
      ...(t.spec.test ? { test: true as const } : {}),
    });
  }
  tenants.sort((a, b) => byName(a.name, b.name));

  // Groups: one per failure domain. A successor inherits its predecessor's weight.
  const members = new Map<string, string[]>();
  for (const e of endpoints.values()) {
    if (e.state !== 'active' || e.role === 'test' || onDrainingCluster.has(e.prod)) continue;
    const list = members.get(e.domain) ?? [];
    list.push(e.prod);
    members.set(e.domain, list);
  }
  const predecessorOf = new Map<string, string>();
  for (const pred of swaps.keys()) predecessorOf.set(resolve(pred, swaps), pred);
  const groups: PlanGroup[] = [];
  const policyGroups = new Map((policy?.endpointGroups ?? []).map((g) => [g.domain, g] as const));
  const domains = new Set([...members.keys(), ...policyGroups.keys()]);
  for (const domain of domains) {
    const g = policyGroups.get(domain);
    const names = (members.get(domain) ?? []).sort(byName);
    const weightOf = (prod: string): number => {
      if (!g) return DEFAULT_WEIGHT;
      const own = g.weights[prod];
      if (own !== undefined) return own;
      const pred = predecessorOf.get(prod);
      const inherited = pred !== undefined ? g.weights[pred] : undefined;
      return inherited ?? g.defaultWeight;
    };
    groups.push({
      domain,
      trafficDial: g ? g.trafficDial : policy ? 0 : 100,
      endpoints: names.map((prod) => ({ prod, weight: weightOf(prod) })),
    });
  }
  groups.sort((a, b) => byName(a.domain, b.domain));

  const defaults = TrafficPolicySpec.parse({ fleet: fleetName });
  const healthCheck = policy?.healthCheck ?? HealthCheckSpec.parse({ path: input.fleet.spec.app.healthPath });
  return {
    fleet: fleetName,
    revision: input.revision ?? 0,
    failMode: policy?.failMode ?? defaults.failMode,
    affinity: policy?.affinity ?? defaults.affinity,
    tenantHeader: tenantHeader.toLowerCase(),
    addProdHeader: policy?.addProdHeader ?? defaults.addProdHeader,
    failoverToDraining: policy?.failoverToDraining ?? defaults.failoverToDraining,
    healthCheck,
    passive: policy?.passive ?? defaults.passive,
    endpoints: [...endpoints.values()].sort((a, b) => byName(a.prod, b.prod)),
    tenants,
    groups,
  };
}
