/**
 * Migration: move the users of some tenants from a legacy backend (whatever serves them today) onto a
 * fleet, in gated steps, on Drover's edge or on an AWS ALB's weighted forward action.
 *
 * - `mode: percent` — each step sends a larger share of every selected tenant's users to the fleet; a
 *   user is on one side by the hash of its affinity key (client IP or cookie), so while the weight only
 *   grows nobody goes from the fleet back to legacy.
 * - `mode: tenants` — whole tenants move, in risk order (test tenants, then ascending users, then name);
 *   each step moves tenants until the share of the selected users on the fleet reaches the step.
 * `steps` are in both modes the share (%) of the selected users on the fleet after the step, strictly
 * increasing, ending at 100. The controller (src/controllers/migration-*.ts) bakes each step, runs the
 * gates (the Release gate types: `wave` = the fleet's Prods of the migrating tenants, `baseline` = the
 * legacy endpoints, so `maxRatioToBaseline` compares with the legacy side), and on a failed gate puts
 * everyone back on legacy in one plan update.
 */
import { z } from 'zod';
import { baseStatus, dnsName, Duration, LabelSelectorSpec } from '../meta.js';
import { resourceSchema } from '../resource.js';
import { Gate } from './release.js';

export { finishedMigrationPhases, isMigrationActive, isMigrationFinished, migrationStepProgress } from '../migration-progress.js';

const ALB_LISTENER_ARN = /^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:listener\/app\/[^/]+\/[^/]+\/[^/]+$/;
const ALB_RULE_ARN = /^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:listener-rule\/app\/[^/]+\/[^/]+\/[^/]+\/[^/]+$/;
const TARGET_GROUP_ARN = /^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:targetgroup\/[^/]+\/[^/]+$/;
const tgArn = z.string().regex(TARGET_GROUP_ARN, 'must be an ELBv2 target group ARN (arn:aws:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME/ID)');

export const LegacyEndpoint = z
  .object({
    url: z.string().url('must be a URL such as http://10.0.0.5:8080'),
    /** Active health check path; default `spec.legacy.healthPath`. */
    healthPath: z.string().startsWith('/').optional(),
  })
  .strict();
export type LegacyEndpoint = z.infer<typeof LegacyEndpoint>;

export const MigrationTarget = z
  .object({
    /** edge: Drover's edge splits the traffic; alb: the weights of an ALB forward action's two target groups. */
    type: z.enum(['edge', 'alb']).default('edge'),
    listenerArn: z.string().regex(ALB_LISTENER_ARN, 'must be an ALB listener ARN (arn:aws:elasticloadbalancing:REGION:ACCOUNT:listener/app/LB/ID/ID)').optional(),
    ruleArn: z.string().regex(ALB_RULE_ARN, 'must be an ALB listener rule ARN (arn:aws:elasticloadbalancing:REGION:ACCOUNT:listener-rule/app/LB/ID/ID/ID)').optional(),
    legacyTargetGroupArn: tgArn.optional(),
    fleetTargetGroupArn: tgArn.optional(),
    region: z.string().min(1).optional(),
    /** Target group stickiness of the forward action (ALB mode); 0 turns it off. Default 1 h. */
    stickinessSeconds: z.number().int().min(0).max(604_800).default(3600),
  })
  .strict()
  .superRefine((t, ctx) => {
    if (t.type !== 'alb') return;
    if ((t.listenerArn === undefined) === (t.ruleArn === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['listenerArn'], message: 'an alb target needs exactly one of listenerArn (the default action) or ruleArn' });
    }
    for (const k of ['legacyTargetGroupArn', 'fleetTargetGroupArn'] as const) {
      if (t[k] === undefined) ctx.addIssue({ code: 'custom', path: [k], message: `an alb target needs ${k} (the forward action's target group of the ${k === 'legacyTargetGroupArn' ? 'legacy backend' : 'fleet'})` });
    }
    if (t.legacyTargetGroupArn !== undefined && t.legacyTargetGroupArn === t.fleetTargetGroupArn) {
      ctx.addIssue({ code: 'custom', path: ['fleetTargetGroupArn'], message: 'the fleet and legacy target groups must differ' });
    }
  });
export type MigrationTarget = z.infer<typeof MigrationTarget>;

export const MigrationTenants = z
  .object({
    names: z.array(dnsName).min(1).optional(),
    selector: LabelSelectorSpec.optional(),
  })
  .strict()
  .refine((t) => (t.names === undefined) !== (t.selector === undefined), { message: 'set exactly one of names or selector (leave spec.tenants out for every tenant of the fleet)' });
export type MigrationTenants = z.infer<typeof MigrationTenants>;

export const MigrationMode = z.enum(['percent', 'tenants']);
export type MigrationMode = z.infer<typeof MigrationMode>;

export const MigrationSpec = z
  .object({
    fleet: dnsName,
    legacy: z
      .object({
        endpoints: z.array(LegacyEndpoint).min(1, 'give at least one legacy endpoint (spec.legacy.endpoints[].url)'),
        healthPath: z.string().startsWith('/').default('/healthz'),
      })
      .strict(),
    /** Absent: every tenant of the fleet, and the fleet's requests that match no tenant. */
    tenants: MigrationTenants.optional(),
    mode: MigrationMode.default('percent'),
    /** Share (%) of the selected users on the fleet after each step: increasing, ending at 100. */
    steps: z
      .array(z.number().gt(0, 'a step is a share of users above 0 %').max(100, 'a step is at most 100 (%)'))
      .min(1)
      .default([1, 10, 30, 50, 100])
      .superRefine((s, ctx) => {
        for (let i = 1; i < s.length; i++) {
          if (s[i]! <= s[i - 1]!) ctx.addIssue({ code: 'custom', path: [i], message: `steps must increase: ${s[i]} after ${s[i - 1]}` });
        }
        if (s.at(-1) !== 100) ctx.addIssue({ code: 'custom', path: [s.length - 1], message: 'the last step must be 100 (everyone on the fleet)' });
      }),
    bake: Duration.default('30s'),
    gates: z.array(Gate).default([{ type: 'errorRate', max: 0.01, minRequests: 20 }]),
    /** Which key keeps a user on its side (edge target): a cookie the edge sets, or the client's IP. */
    affinity: z.enum(['cookie', 'clientIp']).default('cookie'),
    target: MigrationTarget.default({}),
    paused: z.boolean().default(false),
    /** One-shot request of `drover migration abort|promote|resume`, reset by the controller. */
    action: z.enum(['none', 'abort', 'promote', 'resume']).default('none'),
  })
  .strict();
export type MigrationSpec = z.infer<typeof MigrationSpec>;

export const MigrationPhase = z.enum(['Pending', 'Progressing', 'Paused', 'RolledBack', 'Succeeded', 'Aborted']);
export type MigrationPhase = z.infer<typeof MigrationPhase>;

export const MigrationTenantProgress = z
  .object({
    name: z.string(),
    users: z.number().int(),
    test: z.boolean().optional(),
    /** Share (%) of this tenant's users on the fleet. */
    weight: z.number(),
    /** tenants mode: the step that moves it. */
    step: z.number().int().optional(),
  })
  .strict();
export type MigrationTenantProgress = z.infer<typeof MigrationTenantProgress>;

export const MigrationDecision = z.object({ time: z.string(), action: z.string(), reason: z.string() }).strict();
export type MigrationDecision = z.infer<typeof MigrationDecision>;

export const MigrationStatus = z
  .object({
    ...baseStatus,
    phase: MigrationPhase.default('Pending'),
    /** Index of the step in flight (Progressing/Paused), or of the last step (Succeeded). */
    step: z.number().int().min(0).default(0),
    /** Share (%) of the selected users on the fleet, as the plan (or ALB) is told. */
    weight: z.number().min(0).max(100).default(0),
    /** The selected tenants, in risk order, with their progress (absent when the migration covers every tenant in percent mode). */
    tenants: z.array(MigrationTenantProgress).optional(),
    /** Every tenant of the fleet and its unmatched requests (spec.tenants unset). */
    allTenants: z.boolean().optional(),
    selectedUsers: z.number().int().optional(),
    stepStartedAt: z.string().optional(),
    /** When the target was seen holding this step's weight: the bake clock's start. */
    bakeStartedAt: z.string().optional(),
    /** Why the migration holds (inconclusive gate, permanent target error, an active Release). */
    holdReason: z.string().optional(),
    /** ALB target: the fleet share last written and what the ALB holds. */
    target: z
      .object({
        appliedWeight: z.number().optional(),
        observed: z.object({ legacyWeight: z.number(), fleetWeight: z.number(), stickinessSeconds: z.number() }).strict().optional(),
        drift: z.string().optional(),
        syncedAt: z.string().optional(),
      })
      .strict()
      .optional(),
    lastError: z.object({ code: z.string(), message: z.string(), time: z.string(), permanent: z.boolean() }).strict().optional(),
    decisions: z.array(MigrationDecision).default([]),
    message: z.string().optional(),
    finishedAt: z.string().optional(),
  })
  .strict();
export type MigrationStatus = z.infer<typeof MigrationStatus>;

export const Migration = resourceSchema('Migration', MigrationSpec, MigrationStatus);
export type Migration = z.infer<typeof Migration>;
