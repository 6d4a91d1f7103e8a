import { z } from 'zod';
import { baseStatus, dnsName } from '../meta.js';
import { resourceSchema } from '../resource.js';

export const EndpointGroup = z
  .object({
    domain: z.string().min(1),
    /** Share of the group's traffic it keeps, as Global Accelerator's traffic dial (0–100). */
    trafficDial: z.number().int().min(0).max(100).default(100),
    /** Per-Prod weights 0–255; Prods not listed get `defaultWeight`. */
    weights: z.record(z.number().int().min(0).max(255)).default({}),
    defaultWeight: z.number().int().min(0).max(255).default(128),
  })
  .strict();

export const HealthCheckSpec = z
  .object({
    path: z.string().startsWith('/').default('/healthz'),
    intervalMs: z.number().int().min(50).default(1000),
    timeoutMs: z.number().int().min(10).default(500),
    unhealthyThreshold: z.number().int().min(1).default(2),
    healthyThreshold: z.number().int().min(1).default(2),
  })
  .strict();

/** Longest timeout accepted: Node's timers overflow (and fire at once) past 2^31-1 ms. */
const MAX_TIMEOUT_MS = 86_400_000;
const timeoutMs = z.number().int().min(0).max(MAX_TIMEOUT_MS);

/**
 * Per-fleet timeouts of the data plane; unset fields take the edge's flags (`drover edge --body-timeout`,
 * `--response-timeout`, `--upstream-idle-timeout`). 0 waits forever. The request-head and keep-alive idle
 * timeouts are per edge only: they run before the request's tenant (and so its fleet) is known.
 */
export const PolicyTimeouts = z
  .object({
    /** The whole request body must arrive within this after the head, or the client gets 408. */
    requestBodyMs: timeoutMs.optional(),
    /** How long a Prod may take to start answering (its response head) before 504. */
    responseMs: timeoutMs.optional(),
    /** Longest pause between chunks of a Prod's response body before the edge cuts it off. */
    upstreamIdleMs: timeoutMs.optional(),
  })
  .strict();
export type PolicyTimeouts = z.infer<typeof PolicyTimeouts>;

export const TrafficPolicySpec = z
  .object({
    fleet: dnsName,
    endpointGroups: z.array(EndpointGroup).default([]),
    healthCheck: HealthCheckSpec.default({}),
    passive: z
      .object({
        /** Consecutive connect errors that mark an endpoint unhealthy at once. */
        connectErrors: z.number().int().min(1).default(1),
        /** Consecutive 5xx answers that mark an endpoint unhealthy. */
        consecutive5xx: z.number().int().min(1).default(5),
      })
      .strict()
      .default({}),
    failMode: z.enum(['failClosed', 'failOpen']).default('failClosed'),
    affinity: z.enum(['none', 'clientIp', 'cookie']).default('clientIp'),
    tenantHeader: z.string().min(1).default('x-drover-tenant'),
    /** Let drained or cordoned Prods take failover traffic when nothing else can serve. */
    failoverToDraining: z.boolean().default(false),
    addProdHeader: z.boolean().default(true),
    timeouts: PolicyTimeouts.optional(),
  })
  .strict();

export const TrafficPolicy = resourceSchema('TrafficPolicy', TrafficPolicySpec, z.object({ ...baseStatus }).strict());
export type TrafficPolicy = z.infer<typeof TrafficPolicy>;
export type TrafficPolicySpec = z.infer<typeof TrafficPolicySpec>;
export type HealthCheckSpec = z.infer<typeof HealthCheckSpec>;
