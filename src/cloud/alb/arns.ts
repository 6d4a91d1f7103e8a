/**
 * ALB ARNs: their shapes (from src/api/alb-arns.ts, which the Migration kind validates with) and the parts
 * the adapters need — the region an ELBv2 call must go to, the listener of a rule (a default rule is
 * written through its listener), and the CloudWatch dimensions of a load balancer and a target group.
 *
 * CloudWatch names an ALB `app/NAME/ID` and a target group `targetgroup/NAME/ID`: the ARNs' resource part
 * without the `loadbalancer/` prefix (AWS/ApplicationELB's `LoadBalancer` and `TargetGroup` dimensions).
 */
import { albArnProblem, LISTENER_ARN, RULE_ARN, TARGET_GROUP_ARN } from '../../api/alb-arns.js';

export { albArnMessage, albArnPattern, albArnProblem, LISTENER_ARN, RULE_ARN, TARGET_GROUP_ARN, type AlbArnKind } from '../../api/alb-arns.js';

/** What a Migration on an ALB names: the rule or the listener whose forward action it weighs, and the two groups. */
export interface AlbArns {
  region?: string | undefined;
  listenerArn?: string | undefined;
  ruleArn?: string | undefined;
  legacyTargetGroupArn: string;
  fleetTargetGroupArn: string;
}

/** The region field of an ARN (arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE). */
export function regionOfAlbArn(arn: string): string | undefined {
  return arn.split(':')[3] || undefined;
}

/** arn:…:listener-rule/app/N/LB/L/R → arn:…:listener/app/N/LB/L. */
export function listenerArnOfRule(ruleArn: string): string {
  if (!RULE_ARN.test(ruleArn)) throw new Error(albArnProblem('rule', ruleArn));
  return ruleArn.replace(':listener-rule/', ':listener/').replace(/\/[0-9a-f]+$/, '');
}

/** The `LoadBalancer` dimension (app/NAME/ID) of a listener or rule ARN. */
export function loadBalancerDimension(listenerOrRuleArn: string): string {
  if (!LISTENER_ARN.test(listenerOrRuleArn) && !RULE_ARN.test(listenerOrRuleArn)) throw new Error(albArnProblem('listener', listenerOrRuleArn));
  const resource = listenerOrRuleArn.split(':').slice(5).join(':');
  const [, app, name, id] = resource.split('/');
  return `${app}/${name}/${id}`;
}

/** The `TargetGroup` dimension (targetgroup/NAME/ID) of a target group ARN. */
export function targetGroupDimension(targetGroupArn: string): string {
  if (!TARGET_GROUP_ARN.test(targetGroupArn)) throw new Error(albArnProblem('targetGroup', targetGroupArn));
  return targetGroupArn.split(':').slice(5).join(':');
}

/**
 * The default dimensions of a cloudwatch gate on an ALB migration: the fleet's target group on that load
 * balancer (AWS/ApplicationELB publishes HTTPCode_Target_5XX_Count, TargetResponseTime, RequestCount… per
 * LoadBalancer + TargetGroup), the legacy group's for ratios, and the region the metrics live in.
 */
export function albMetricContext(t: AlbArns): { region?: string; dimensions: Record<string, string>; legacyDimensions: Record<string, string> } {
  const lbArn = t.ruleArn ?? t.listenerArn;
  const lb: Record<string, string> = lbArn ? { LoadBalancer: loadBalancerDimension(lbArn) } : {};
  const dimensions = { TargetGroup: targetGroupDimension(t.fleetTargetGroupArn), ...lb };
  const legacyDimensions = { TargetGroup: targetGroupDimension(t.legacyTargetGroupArn), ...lb };
  const region = t.region ?? regionOfAlbArn(t.fleetTargetGroupArn);
  return { ...(region ? { region } : {}), dimensions, legacyDimensions };
}

/** Every problem of an AlbArns, each naming the field and the fix; empty when valid. */
export function albArnsProblems(t: AlbArns): string[] {
  const out: string[] = [];
  if (!t.listenerArn === !t.ruleArn) out.push('give exactly one of listenerArn (its default action is weighed) or ruleArn (that rule\'s forward action is weighed)');
  if (t.listenerArn) pushProblem(out, 'listenerArn', albArnProblem('listener', t.listenerArn));
  if (t.ruleArn) pushProblem(out, 'ruleArn', albArnProblem('rule', t.ruleArn));
  pushProblem(out, 'legacyTargetGroupArn', albArnProblem('targetGroup', t.legacyTargetGroupArn));
  pushProblem(out, 'fleetTargetGroupArn', albArnProblem('targetGroup', t.fleetTargetGroupArn));
  if (t.legacyTargetGroupArn === t.fleetTargetGroupArn) out.push('legacyTargetGroupArn and fleetTargetGroupArn are the same target group: name the legacy backend\'s group and the fleet\'s');
  return out;
}

function pushProblem(out: string[], field: string, problem: string | undefined): void {
  if (problem) out.push(`${field}: ${problem}`);
}
