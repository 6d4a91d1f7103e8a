import { z } from 'zod';
import { baseStatus, dnsName, Duration } from '../meta.js';
import { resourceSchema } from '../resource.js';

// Zod-free, so that the CLI's views load no schemas; re-exported for the readers that import them here.
export { finishedReleasePhases, isReleaseActive, isReleaseFinished, waveProgress } from '../release-progress.js';

export const Gate = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('errorRate'),
      /** Highest share of 5xx answers (0–1) allowed on the new Prods. */
      max: z.number().min(0).max(1).default(0.01),
      /** Highest ratio to the known-good Prods' rate over the same window (e.g. 2 = twice as bad). */
      maxRatioToBaseline: z.number().positive().optional(),
      minRequests: z.number().int().min(0).default(20),
    })
    .strict(),
  z
    .object({
      type: z.literal('latency'),
      percentile: z.union([z.literal(50), z.literal(90), z.literal(99)]).default(99),
      maxMs: z.number().positive(),
      maxRatioToBaseline: z.number().positive().optional(),
      minRequests: z.number().int().min(0).default(20),
    })
    .strict(),
  z
    .object({
      type: z.literal('promql'),
      /** `$prods` in the query is replaced by a regex of the wave's Prod names. */
      query: z.string().min(1),
      /** The gate passes when the query's value is ≤ max (or ≥ min). */
      max: z.number().optional(),
      min: z.number().optional(),
    })
    .strict(),
  z
    .object({
      type: z.literal('cloudwatch'),
      /** e.g. HTTPCode_Target_5XX_Count, TargetResponseTime (src/release/gates/cloudwatch.ts). */
      metricName: z.string().min(1).max(255),
      namespace: z.string().min(1).max(255).default('AWS/ApplicationELB'),
      /** Sum, Average, Minimum, Maximum, SampleCount or a percentile (p99, p99.9). */
      statistic: z.string().regex(/^(Sum|Average|Minimum|Maximum|SampleCount|p\d{1,2}(\.\d+)?)$/, 'must be Sum, Average, Minimum, Maximum, SampleCount or a percentile such as p99').default('Sum'),
      /** Default: the migration's fleet target group and load balancer (TargetGroup, LoadBalancer). */
      dimensions: z.record(z.string().min(1)).optional(),
      /** The gate passes when the value over the window is ≤ max (and ≥ min). */
      max: z.number().optional(),
      min: z.number().optional(),
      /**
       * Highest ratio of the fleet's value to the legacy target group's over the same window; counts are
       * compared per request (HTTPCode_Target_5XX_Count / RequestCount on each side).
       */
      maxRatioToLegacy: z.number().positive().optional(),
      /** CloudWatch accepts 1, 5, 10, 30 or a multiple of 60. */
      periodSeconds: z
        .number()
        .int()
        .positive()
        .refine((s) => [1, 5, 10, 30].includes(s) || s % 60 === 0, 'must be 1, 5, 10, 30 or a multiple of 60 (CloudWatch periods)')
        .default(60),
      region: z.string().min(1).optional(),
    })
    .strict(),
]);
export type Gate = z.infer<typeof Gate>;

export const ReleasePhase = z.enum(['Pending', 'Progressing', 'Paused', 'RollingBack', 'RolledBack', 'Succeeded', 'Failed', 'Aborted']);
export type ReleasePhase = z.infer<typeof ReleasePhase>;

/**
 * Synthetic probes for the gates: during a wave's bake the release controller sends `rate` requests per
 * second to each of the wave's new Prods (at their endpoint, with the Host of one of their tenants), counted
 * apart from user traffic; the gates judge them alongside the users' requests, so that a release decides
 * even when users are too few. Default rate: enough for twice the gates' `minRequests` within the bake.
 */
export const ReleaseProbes = z
  .object({
    enabled: z.boolean().default(true),
    /** Requests per second per new Prod; default from the bake and the gates' minRequests (1–20/s). */
    rate: z.number().positive().max(100).optional(),
    path: z.string().startsWith('/').default('/'),
    timeoutMs: z.number().int().positive().max(60_000).default(2000),
  })
  .strict();
export type ReleaseProbes = z.infer<typeof ReleaseProbes>;
export const WaveState = z.enum(['Pending', 'Updating', 'WarmingUp', 'Baking', 'Passed', 'Failed', 'RolledBack', 'Skipped']);

export const ReleaseSpec = z
  .object({
    fleet: dnsName,
    version: z.string().min(1),
    maxParallel: z.number().int().min(1).default(1),
    bake: Duration.default('30s'),
    gates: z.array(Gate).default([{ type: 'errorRate', max: 0.01, minRequests: 20 }]),
    warmup: z.object({ requests: z.number().int().min(1).default(3) }).strict().default({}),
    autoRollback: z.boolean().default(true),
    /** Extra environment for the new version's Prods. */
    env: z.record(z.string()).default({}),
    /** Absent = the defaults of ReleaseProbes (on). */
    probes: ReleaseProbes.optional(),
    paused: z.boolean().default(false),
    /** Set by `drover release abort|rollback|promote`. */
    action: z.enum(['none', 'abort', 'rollback', 'promote']).default('none'),
  })
  .strict();

export const ReleaseStatus = z
  .object({
    ...baseStatus,
    phase: ReleasePhase.default('Pending'),
    fromVersion: z.string().optional(),
    currentWave: z.number().int().default(0),
    waves: z
      .array(
        z
          .object({
            index: z.number().int(),
            riskClass: z.enum(['test', 'fewUsers', 'redundant', 'nonRedundant']),
            prods: z.array(z.string()),
            replacements: z.array(z.string()).default([]),
            users: z.number().int().default(0),
            state: WaveState.default('Pending'),
            reason: z.string().optional(),
            startedAt: z.string().optional(),
            /** When the wave's successors were observed serving (takeover on, in the plan): the bake clock's start. */
            bakeStartedAt: z.string().optional(),
            finishedAt: z.string().optional(),
          })
          .strict(),
      )
      .default([]),
    decisions: z
      .array(z.object({ time: z.string(), action: z.string(), reason: z.string() }).strict())
      .default([]),
    message: z.string().optional(),
  })
  .strict();

export const Release = resourceSchema('Release', ReleaseSpec, ReleaseStatus);
export type Release = z.infer<typeof Release>;
export type ReleaseSpec = z.infer<typeof ReleaseSpec>;
export type ReleaseStatus = z.infer<typeof ReleaseStatus>;
