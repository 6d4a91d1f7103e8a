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
    tenants: z.array(PlanTenant),
    groups: z.array(PlanGroup),
  })
  .strict();
export type TrafficPlanSpec = z.infer<typeof TrafficPlanSpec>;

export const TrafficPlan = resourceSchema('TrafficPlan', TrafficPlanSpec, z.object({}).strict());
export type TrafficPlan = z.infer<typeof TrafficPlan>;
