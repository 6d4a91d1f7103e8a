import { z } from 'zod';
import { baseStatus, LabelSelectorSpec } from '../meta.js';
import { resourceSchema } from '../resource.js';

export const AppSpec = z
  .object({
    /** Container image for Kubernetes clusters; `${version}` in it is replaced by the Prod's version. */
    image: z.string().min(1).optional(),
    /** Command for local clusters (and the container's command on Kubernetes, if set). */
    command: z.string().min(1).optional(),
    args: z.array(z.string()).default([]),
    env: z.record(z.string()).default({}),
    /** Port the app listens on inside a container. Local workloads get a free port in $PORT instead. */
    port: z.number().int().min(1).max(65535).default(8080),
    healthPath: z.string().startsWith('/').default('/healthz'),
    replicas: z.number().int().min(1).default(1),
    resources: z
      .object({
        requests: z.record(z.string()).optional(),
        limits: z.record(z.string()).optional(),
      })
      .strict()
      .optional(),
    autoscale: z
      .object({ minReplicas: z.number().int().min(1), maxReplicas: z.number().int().min(1), targetCPUUtilization: z.number().int().min(1).max(100).default(80) })
      .strict()
      .optional(),
  })
  .strict()
  .refine((a) => a.image !== undefined || a.command !== undefined, {
    message: 'needs `image` (Kubernetes clusters) or `command` (local clusters), or both',
  });
export type AppSpec = z.infer<typeof AppSpec>;

/**
 * Most Prods one Fleet may ask for. Every Prod is a whole environment on a cluster slot; a number beyond
 * this is a typo (`1e9`), not a plan, and refusing it at apply time beats a fleet that never converges.
 */
export const MAX_FLEET_PRODS = 1000;

export const FleetSpec = z
  .object({
    prods: z
      .number()
      .int()
      .min(0)
      .max(MAX_FLEET_PRODS, { message: `at most ${MAX_FLEET_PRODS} Prods per fleet (more is a typo, or wants several fleets)` })
      .default(3),
    /** How many of `prods` are test Prods (role: test), which get only test tenants and go first in releases. */
    testProds: z.number().int().min(0).max(MAX_FLEET_PRODS).default(0),
    version: z.string().min(1),
    app: AppSpec,
    placement: z
      .object({
        spreadBy: z.enum(['domain', 'cluster']).default('domain'),
        clusterSelector: LabelSelectorSpec.optional(),
        avoidProviders: z.array(z.enum(['local', 'kubernetes', 'eks'])).default([]),
      })
      .strict()
      .default({}),
    warmup: z
      .object({
        /** Consecutive successful health answers before a Prod serves. */
        requests: z.number().int().min(1).default(3),
        path: z.string().startsWith('/').optional(),
      })
      .strict()
      .default({}),
    /** Most users a single Prod should carry; the scheduler treats it as a hard capacity. */
    maxUsersPerProd: z.number().int().positive().optional(),
  })
  .strict()
  .refine((f) => f.testProds <= f.prods, { message: 'testProds must not exceed prods', path: ['testProds'] });

export const FleetStatus = z
  .object({
    ...baseStatus,
    prods: z.number().int().default(0),
    readyProds: z.number().int().default(0),
    versions: z.record(z.number().int()).default({}),
    /** Hash of the template revision the Fleet asks for now (src/api/template.ts). */
    templateHash: z.string().optional(),
    /** Counted Prods already on that revision. */
    updatedProds: z.number().int().optional(),
    /** The revision whose rollout stopped because its first successor failed; cleared by any other template. */
    stalledTemplate: z.string().optional(),
    message: z.string().optional(),
  })
  .strict();

export const Fleet = resourceSchema('Fleet', FleetSpec, FleetStatus);
export type Fleet = z.infer<typeof Fleet>;
export type FleetSpec = z.infer<typeof FleetSpec>;
