/**
 * The traffic plan compiler: pure, no I/O. From one fleet's Prods, the clusters they run on, its tenants
 * (with the scheduler's assignment in `status.prods`) and its TrafficPolicy, it computes the TrafficPlan
 * the data planes execute. Output is canonical (sorted), so two compilations of the same inputs compare
 * equal as JSON and the controller bumps `revision` only on real changes.
 *
 * Stored as one fleet-level TrafficPlan (`compileFleet`) and one TrafficRoute per tenant (`compileTenant`),
 * so that a tenant change compiles, stores and sends one small object; `assemblePlan` puts them back
 * together, and `compilePlan` does all at once (files, tests, the CLI).
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
 * - A tenant's `fallback` (the scheduler's what-if answer) keeps only active Prods of the tenant's role
 *   that are not on a cordoned/draining cluster nor retiring (unless the policy has failoverToDraining),
 *   and none of its own assigned Prods.
 */
import { clusterDomain, type Cluster } from '../api/kinds/cluster.js';
import type { Fleet } from '../api/kinds/fleet.js';
import type { Prod } from '../api/kinds/prod.js';
import type { Tenant } from '../api/kinds/tenant.js';
import type { PlanEndpoint, PlanGroup, PlanTenant, TrafficPlanSpec } from '../api/kinds/traffic-plan.js';
import { HealthCheckSpec, TrafficPolicySpec, type TrafficPolicy } from '../api/kinds/traffic-policy.js';
import type { Migration } from '../api/kinds/migration.js';
import { legacyPart } from './legacy-endpoints.js';

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
  /** Migrations of any fleet: the legacy endpoint sets of this fleet's edge migrations (legacy-endpoints.ts). */
  migrations?: readonly Migration[] | undefined;
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

/**
 * What a tenant's route needs from its fleet: which Prods serve, the takeovers, the tenant header, and
 * which Prods may take a tenant's traffic as its fallback. Built once per fleet pass, then each tenant's
 * route is compiled alone (`compileTenant`), so a tenant change costs one route, not the fleet.
 */
export interface FleetRouting {
  readonly fleet: string;
  readonly tenantHeader: string;
  readonly swaps: ReadonlyMap<string, string>;
  /** Active Prods that may be given tenants. */
  readonly serving: ReadonlySet<string>;
  /** Role of each serving Prod, and whether it may take a tenant's fallback traffic. */
  readonly fallbackOk: ReadonlyMap<string, { role: 'normal' | 'test' }>;
}

export interface FleetCompilation {
  /** The fleet-level plan: endpoints, groups and settings; `tenants` is empty. */
  plan: TrafficPlanSpec;
  routing: FleetRouting;
}

/** The fleet-level part of the plan (everything but the tenants) and what tenant routes need from it. */
export function compileFleet(input: Omit<CompileInput, 'tenants'>): FleetCompilation {
  const fleetName = input.fleet.metadata.name;
  const policy: TrafficPolicySpec | undefined = input.policy?.spec;
  const clusters = new Map(input.clusters.map((c) => [c.metadata.name, c] as const));
  const prods = input.prods.filter((p) => p.spec.fleet === fleetName);
  const swaps = takeovers(prods);
  const successors = new Set(swaps.values());
  const defaults = TrafficPolicySpec.parse({ fleet: fleetName });
  const failoverToDraining = policy?.failoverToDraining ?? defaults.failoverToDraining;

  // Which Prods appear, and how.
  const endpoints = new Map<string, PlanEndpoint>();
  /** Prods that may be put in groups and given tenants (active, not a waiting successor). */
  const serving = new Set<string>();
  const fallbackOk = new Map<string, { role: 'normal' | 'test' }>();
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
    // A fallback is failover traffic: never to a cordoned, draining or retiring Prod unless the policy
    // allows failover to draining ones. The role is checked per tenant (test tenants: test Prods only).
    if (state === 'active' && ((!clusterOut && !p.spec.retire) || failoverToDraining)) fallbackOk.set(name, { role: p.spec.role });
  }

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

  const tenantHeader = policy?.tenantHeader ?? 'x-drover-tenant';
  const healthCheck = policy?.healthCheck ?? HealthCheckSpec.parse({ path: input.fleet.spec.app.healthPath });
  const plan: TrafficPlanSpec = {
    fleet: fleetName,
    revision: input.revision ?? 0,
    failMode: policy?.failMode ?? defaults.failMode,
    affinity: policy?.affinity ?? defaults.affinity,
    tenantHeader: tenantHeader.toLowerCase(),
    addProdHeader: policy?.addProdHeader ?? defaults.addProdHeader,
    failoverToDraining,
    healthCheck,
    passive: policy?.passive ?? defaults.passive,
    ...(policy?.timeouts ? { timeouts: policy.timeouts } : {}),
    endpoints: [...endpoints.values()].sort((a, b) => byName(a.prod, b.prod)),
    tenants: [],
    groups,
    ...legacyPart(fleetName, input.migrations),
  };
  return { plan, routing: { fleet: fleetName, tenantHeader, swaps, serving, fallbackOk } };
}

/**
 * One tenant's route: its assigned Prods mapped through takeovers, keeping only Prods that serve, and
 * its fallback (the scheduler's what-if answer) kept only where the fail mode lets it take the traffic.
 */
export function compileTenant(routing: FleetRouting, t: Tenant, fallback?: readonly string[]): PlanTenant {
  const assigned: string[] = [];
  for (const p of t.status?.prods ?? []) {
    const r = resolve(p, routing.swaps);
    if (routing.serving.has(r) && !assigned.includes(r)) assigned.push(r);
  }
  const role = t.spec.test ? 'test' : 'normal';
  const spare: string[] = [];
  for (const p of fallback ?? []) {
    const r = resolve(p, routing.swaps);
    if (routing.fallbackOk.get(r)?.role === role && !assigned.includes(r) && !spare.includes(r)) spare.push(r);
  }
  const h = t.spec.match.header;
  return {
    name: t.metadata.name,
    hosts: [...t.spec.match.hosts].map((x) => x.toLowerCase()).sort(byName),
    ...(h ? { header: { name: (h.name ?? routing.tenantHeader).toLowerCase(), value: h.value } } : {}),
    redundancy: t.spec.redundancy,
    prods: assigned,
    ...(spare.length > 0 ? { fallback: spare } : {}),
    ...(t.spec.test ? { test: true as const } : {}),
  };
}

/** The fleet plan with its tenant routes put back, in canonical (name) order: what data planes execute. */
export function assemblePlan(plan: TrafficPlanSpec, routes: Iterable<PlanTenant>): TrafficPlanSpec {
  const tenants = [...plan.tenants, ...routes].sort((a, b) => byName(a.name, b.name));
  return { ...plan, tenants };
}

/** The whole plan in one object (files, `drover plan`, tests): fleet part and every tenant's route. */
export function compilePlan(input: CompileInput & { fallbacks?: ReadonlyMap<string, readonly string[]> }): TrafficPlanSpec {
  const { plan, routing } = compileFleet(input);
  const routes: PlanTenant[] = [];
  for (const t of input.tenants) if (t.spec.fleet === routing.fleet) routes.push(compileTenant(routing, t, input.fallbacks?.get(t.metadata.name)));
  return assemblePlan(plan, routes);
}

/** Plan content without the revision, for "did anything change" comparisons. */
export function planContent(plan: TrafficPlanSpec): Omit<TrafficPlanSpec, 'revision'> {
  const { revision: _r, ...rest } = plan;
  return rest;
}
