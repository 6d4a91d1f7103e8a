import { z } from 'zod';
import { dnsName } from '../meta.js';
import { resourceSchema } from '../resource.js';
import { HealthCheckSpec, PolicyTimeouts, TrafficPolicySpec } from './traffic-policy.js';

/**
 * The compiled answer to "where does each request of this fleet go", written by the traffic controller
 * and executed by data planes (the edge, later cloud adapters). Data planes never look at other kinds.
 */
export const PlanEndpoint = z
  .object({
    prod: dnsName,
    url: z.string(),
    cluster: z.string(),
    domain: z.string(),
    version: z.string(),
    role: z.enum(['normal', 'test']),
    /** active: takes traffic; draining: in-flight requests finish, no new ones, no failover traffic. */
    state: z.enum(['active', 'draining']),
    /** A cordoned cluster's Prod serves its tenants but is never a failover target. */
    failoverTarget: z.boolean(),
  })
  .strict();
export type PlanEndpoint = z.infer<typeof PlanEndpoint>;

export const PlanTenant = z
  .object({
    name: z.string(),
    hosts: z.array(z.string()),
    header: z.object({ name: z.string(), value: z.string() }).strict().optional(),
    redundancy: z.number().int(),
    prods: z.array(z.string()),
    /**
     * Where the scheduler would move the tenant if the cluster of its Prods died (its own what-if, as
     * `drover plan --fail-cluster` computes): the edge serves from these at once when every assigned Prod
     * is unhealthy, instead of the fleet's failover pool, so it lands where the control plane will put it.
     */
    fallback: z.array(z.string()).optional(),
    /**
     * A test tenant: served by its own (test) Prods and their fallbacks only — never by the endpoint
     * groups, the failover pool or fail-open over normal Prods. With none serving it gets 503.
     */
    test: z.literal(true).optional(),
  })
  .strict();
export type PlanTenant = z.infer<typeof PlanTenant>;

export const PlanGroup = z
  .object({
    domain: z.string(),
    trafficDial: z.number().int().min(0).max(100),
    endpoints: z.array(z.object({ prod: z.string(), weight: z.number().int().min(0).max(255) }).strict()),
  })
  .strict();
export type PlanGroup = z.infer<typeof PlanGroup>;

/**
 * A legacy backend a Migration moves users off (src/traffic/legacy-endpoints.ts compiles it): its endpoints
 * are health-checked, retried and counted like Prods (named `legacy:<migration>:<i>` in /stats and
 * /metrics). A covered request goes to the fleet when the hash of its affinity key falls under
 * `fleetPercent` (or its tenant is in `moved`), else to these endpoints.
 */
export const PlanLegacy = z
  .object({
    migration: z.string(),
    affinity: z.enum(['cookie', 'clientIp']),
    endpoints: z.array(z.object({ name: z.string(), url: z.string(), healthPath: z.string() }).strict()),
    /** Covered tenants; absent: every tenant of the fleet and the requests that match none. */
    tenants: z.array(z.string()).optional(),
    /** Share (%) of each covered tenant's users sent to the fleet. */
    fleetPercent: z.number().min(0).max(100),
    /** Covered tenants wholly on the fleet (tenants mode). */
    moved: z.array(z.string()).optional(),
  })
  .strict();
export type PlanLegacy = z.infer<typeof PlanLegacy>;

export const TrafficPlanSpec = z
  .object({
    fleet: dnsName,
    /** Increases with every change of the plan's content. */
    revision: z.number().int().min(0),
    failMode: TrafficPolicySpec.shape.failMode,
    affinity: TrafficPolicySpec.shape.affinity,
    tenantHeader: z.string(),
    addProdHeader: z.boolean(),
    failoverToDraining: z.boolean(),
    healthCheck: HealthCheckSpec,
    passive: z.object({ connectErrors: z.number().int(), consecutive5xx: z.number().int() }).strict(),
    /** The policy's timeouts, when it sets any (absent: the data plane's own defaults). */
    timeouts: PolicyTimeouts.optional(),
    endpoints: z.array(PlanEndpoint),
    /**
     * Tenant routes. A stored TrafficPlan carries none: each tenant's route is its own TrafficRoute object,
     * so a tenant change writes and sends one small object; plan sources assemble them back in here.
     */
    tenants: z.array(PlanTenant),
    groups: z.array(PlanGroup),
    /** Legacy backends of the fleet's active edge Migrations (absent: none). */
    legacy: z.array(PlanLegacy).optional(),
  })
  .strict();
export type TrafficPlanSpec = z.infer<typeof TrafficPlanSpec>;

export const TrafficPlan = resourceSchema('TrafficPlan', TrafficPlanSpec, z.object({}).strict());
export type TrafficPlan = z.infer<typeof TrafficPlan>;

/**
 * One tenant's entry of its fleet's plan, stored apart (named as the Tenant) so that the plan is
 * O(objects) in the store and O(changes) on the wire. Data planes put it back into `TrafficPlan.tenants`.
 */
export const TrafficRouteSpec = PlanTenant.extend({ fleet: dnsName }).strict();
export type TrafficRouteSpec = z.infer<typeof TrafficRouteSpec>;

export const TrafficRoute = resourceSchema('TrafficRoute', TrafficRouteSpec, z.object({}).strict());
export type TrafficRoute = z.infer<typeof TrafficRoute>;
