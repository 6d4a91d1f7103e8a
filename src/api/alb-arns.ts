/**
 * The shapes of the ALB ARNs a Migration names (listener, listener rule, target group), zod-free and
 * import-free: the API layer (src/api/kinds/migration.ts) validates with them, and it may not import
 * src/cloud/ (a layer above). src/cloud/alb/arns.ts re-exports them with the helpers that take ARNs apart.
 *
 * Partition `aws`, `aws-cn`, `aws-us-gov`…; names are 1–32 letters, digits and hyphens; ids are hex. Only
 * Application Load Balancers (`app/`): weighted forward actions are an ALB feature (an NLB listener forwards
 * to one target group).
 */

export const LISTENER_ARN = /^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:listener\/app\/[A-Za-z0-9-]{1,32}\/[0-9a-f]+\/[0-9a-f]+$/;
export const RULE_ARN = /^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:listener-rule\/app\/[A-Za-z0-9-]{1,32}\/[0-9a-f]+\/[0-9a-f]+\/[0-9a-f]+$/;
export const TARGET_GROUP_ARN = /^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:targetgroup\/[A-Za-z0-9-]{1,32}\/[0-9a-f]+$/;

export type AlbArnKind = 'listener' | 'rule' | 'targetGroup';

const SHAPES: Record<AlbArnKind, { re: RegExp; example: string; what: string }> = {
  listener: {
    re: LISTENER_ARN,
    what: 'an Application Load Balancer listener ARN',
    example: 'arn:aws:elasticloadbalancing:REGION:ACCOUNT:listener/app/LB-NAME/LB-ID/LISTENER-ID',
  },
  rule: {
    re: RULE_ARN,
    what: 'an Application Load Balancer listener rule ARN',
    example: 'arn:aws:elasticloadbalancing:REGION:ACCOUNT:listener-rule/app/LB-NAME/LB-ID/LISTENER-ID/RULE-ID',
  },
  targetGroup: {
    re: TARGET_GROUP_ARN,
    what: 'an ELBv2 target group ARN',
    example: 'arn:aws:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME/ID',
  },
};

/** The message for a value that is not an ARN of this kind (zod's `.regex(re, message)` takes it). */
export function albArnMessage(kind: AlbArnKind): string {
  const s = SHAPES[kind];
  return `must be ${s.what} (${s.example}); \`aws elbv2 describe-${kind === 'targetGroup' ? 'target-groups' : kind === 'rule' ? 'rules --listener-arn …' : 'listeners --load-balancer-arn …'}\` lists them`;
}

export function albArnPattern(kind: AlbArnKind): RegExp {
  return SHAPES[kind].re;
}

/** Undefined when `value` is an ARN of this kind, else why not and the fix. */
export function albArnProblem(kind: AlbArnKind, value: string): string | undefined {
  return SHAPES[kind].re.test(value) ? undefined : `"${value}" ${albArnMessage(kind)}`;
}
