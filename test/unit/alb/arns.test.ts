import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { albArnProblem, albArnsProblems, listenerArnOfRule, loadBalancerDimension, regionOfAlbArn, targetGroupDimension } from '../../../src/cloud/alb/arns.js';
import { FLEET_TG, LEGACY_TG, LISTENER, RULE } from './fake-alb.js';

describe('ALB ARNs', () => {
  it('accepts the ARNs ELBv2 hands out and says what a wrong one should look like', () => {
    assert.equal(albArnProblem('listener', LISTENER), undefined);
    assert.equal(albArnProblem('rule', RULE), undefined);
    assert.equal(albArnProblem('targetGroup', FLEET_TG), undefined);
    assert.equal(albArnProblem('targetGroup', FLEET_TG.replace('arn:aws:', 'arn:aws-cn:')), undefined);
    // A listener is not a rule, an NLB listener carries no weighted forward, a name is not an ARN.
    assert.match(albArnProblem('rule', LISTENER) ?? '', /must be an Application Load Balancer listener rule ARN \(arn:aws:elasticloadbalancing:REGION:ACCOUNT:listener-rule\/app\/LB-NAME\/LB-ID\/LISTENER-ID\/RULE-ID\)/);
    assert.notEqual(albArnProblem('listener', LISTENER.replace('/app/', '/net/')), undefined);
    assert.match(albArnProblem('targetGroup', 'legacy-ec2') ?? '', /"legacy-ec2" must be an ELBv2 target group ARN.*describe-target-groups/);
  });

  it('takes the region, the listener of a rule and the CloudWatch dimensions out of the ARNs', () => {
    assert.equal(regionOfAlbArn(RULE), 'eu-west-1');
    assert.equal(listenerArnOfRule(RULE), LISTENER);
    assert.equal(loadBalancerDimension(RULE), 'app/game-alb/50dc6c495c0c9188');
    assert.equal(loadBalancerDimension(LISTENER), 'app/game-alb/50dc6c495c0c9188');
    assert.equal(targetGroupDimension(LEGACY_TG), 'targetgroup/legacy-ec2/73e2d6bc24d8a067');
  });

  it('lists every problem of a target, each naming its field', () => {
    assert.deepEqual(albArnsProblems({ ruleArn: RULE, legacyTargetGroupArn: LEGACY_TG, fleetTargetGroupArn: FLEET_TG }), []);
    const p = albArnsProblems({ legacyTargetGroupArn: 'x', fleetTargetGroupArn: 'x' });
    assert.equal(p.length, 4, p.join('\n'));
    assert.match(p[0]!, /exactly one of listenerArn/);
    assert.match(p[1]!, /^legacyTargetGroupArn: /);
    assert.match(p[2]!, /^fleetTargetGroupArn: /);
    assert.match(p[3]!, /the same target group/);
  });
});
