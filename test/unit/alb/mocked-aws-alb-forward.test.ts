import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ModifyListenerCommand, ModifyRuleCommand, DescribeRulesCommand, DescribeListenersCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { RetryPolicy } from '../../../src/cloud/aws-call.js';
import { syncAlbForwardWeights, type AlbForwardTarget, type AlbSyncResult } from '../../../src/cloud/alb/forward-weights.js';
import { awsError, CONDITIONS, DEFAULT_RULE, FakeAlb, FLEET_TG, forwardTo, LEGACY_TG, LISTENER, OTHER_TG, RULE, weighted } from './fake-alb.js';

const sleeps: number[] = [];
const retry: RetryPolicy = { attempts: 4, baseMs: 100, capMs: 1_000, sleep: async (ms) => void sleeps.push(ms), random: () => 0.5 };
const ruleTarget: AlbForwardTarget = { ruleArn: RULE, legacyTargetGroupArn: LEGACY_TG, fleetTargetGroupArn: FLEET_TG };
const listenerTarget: AlbForwardTarget = { listenerArn: LISTENER, legacyTargetGroupArn: LEGACY_TG, fleetTargetGroupArn: FLEET_TG };

function ok(r: AlbSyncResult): Extract<AlbSyncResult, { ok: true }> {
  assert.ok(r.ok, `expected success, got ${JSON.stringify(r)}`);
  return r;
}
function failed(r: AlbSyncResult): Extract<AlbSyncResult, { ok: false }> {
  assert.ok(!r.ok, `expected a failure, got ${JSON.stringify(r)}`);
  return r;
}
const tuples = (alb: FakeAlb, which: 'rule' | 'listener' = 'rule') =>
  (which === 'rule' ? alb.ruleForward() : alb.listenerForward())?.ForwardConfig?.TargetGroups?.map((t) => [t.TargetGroupArn === LEGACY_TG ? 'legacy' : t.TargetGroupArn === FLEET_TG ? 'fleet' : t.TargetGroupArn, t.Weight]);

describe('mocked AWS: ALB weighted forward for a migration (rule mode)', () => {
  it('each step reads, writes once and reads back; a step already held makes one read and no write', async () => {
    const alb = new FakeAlb();
    let last: number | undefined;
    for (const p of [1, 10, 30, 50, 100]) {
      alb.mock.resetHistory();
      const r = ok(await syncAlbForwardWeights(ruleTarget, p, last, { client: alb.client, retry }));
      assert.equal(r.changed, true);
      assert.equal(r.drift, undefined);
      assert.deepEqual(r.observed, { legacyWeight: 100 - p, fleetWeight: p, stickinessSeconds: 3600 });
      assert.deepEqual(alb.calls(), ['DescribeRules', 'ModifyRule', 'DescribeRules'], `step ${p}`);
      assert.deepEqual(r.calls, { reads: 2, writes: 1, retries: 0 });
      // Both groups stay listed (weight 0 at 100 %): a rollback is one weight change.
      assert.deepEqual(tuples(alb), [['legacy', 100 - p], ['fleet', p]]);
      last = p;

      alb.mock.resetHistory();
      const again = ok(await syncAlbForwardWeights(ruleTarget, p, last, { client: alb.client, retry }));
      assert.equal(again.changed, false);
      assert.deepEqual(alb.calls(), ['DescribeRules'], `step ${p} in sync`);
      assert.deepEqual(again.calls, { reads: 1, writes: 0, retries: 0 });
    }
  });

  it('writes only the rule\'s actions: conditions, priority and the forward\'s Order stay; the forward loses its single TargetGroupArn', async () => {
    const alb = new FakeAlb();
    ok(await syncAlbForwardWeights(ruleTarget, 10, undefined, { client: alb.client, retry }));
    const input = alb.mock.commandCalls(ModifyRuleCommand)[0]!.args[0].input;
    assert.deepEqual(Object.keys(input).sort(), ['Actions', 'RuleArn'], 'no Conditions/Transforms sent: ELBv2 keeps them');
    assert.deepEqual(input.Actions, [
      {
        Type: 'forward',
        Order: 1,
        ForwardConfig: {
          TargetGroups: [
            { TargetGroupArn: LEGACY_TG, Weight: 90 },
            { TargetGroupArn: FLEET_TG, Weight: 10 },
          ],
          TargetGroupStickinessConfig: { Enabled: true, DurationSeconds: 3600 },
        },
      },
    ]);
    const rule = alb.rules.get(RULE)!;
    assert.deepEqual(rule.Conditions, CONDITIONS);
    assert.equal(rule.Priority, '10');
  });

  it('drift: weights changed by hand are reported against the last applied step, then set back', async () => {
    const alb = new FakeAlb([weighted([[LEGACY_TG, 90], [FLEET_TG, 10]], 3600)]);
    ok(await syncAlbForwardWeights(ruleTarget, 10, 10, { client: alb.client, retry }));
    alb.setRuleActions([weighted([[LEGACY_TG, 1], [FLEET_TG, 1]], 3600)]);
    alb.mock.resetHistory();
    const r = ok(await syncAlbForwardWeights(ruleTarget, 10, 10, { client: alb.client, retry }));
    assert.match(r.drift ?? '', /holds legacy 1 \/ fleet 1 \(fleet 50\.0%\), Drover last set fleet 10%: changed outside Drover/);
    assert.equal(r.changed, true);
    assert.deepEqual(tuples(alb), [['legacy', 90], ['fleet', 10]]);
    assert.deepEqual(alb.calls(), ['DescribeRules', 'ModifyRule', 'DescribeRules']);

    // Same share on another scale (9/1 for 10 %) is not drift, but is rewritten to Drover's scale.
    alb.setRuleActions([weighted([[LEGACY_TG, 9], [FLEET_TG, 1]], 3600)]);
    const scaled = ok(await syncAlbForwardWeights(ruleTarget, 10, 10, { client: alb.client, retry }));
    assert.equal(scaled.drift, undefined);
    assert.equal(scaled.changed, true);
    // The first step has no baseline: a rule at 100 % legacy is where a migration starts, not drift.
    const fresh = new FakeAlb();
    assert.equal(ok(await syncAlbForwardWeights(ruleTarget, 1, undefined, { client: fresh.client, retry })).drift, undefined);
  });

  it('a rule that forwards to other target groups too is refused, with nothing written', async () => {
    const alb = new FakeAlb([weighted([[LEGACY_TG, 80], [OTHER_TG, 20]])]);
    const r = failed(await syncAlbForwardWeights(ruleTarget, 10, undefined, { client: alb.client, retry }));
    assert.equal(r.code, 'ForeignTargetGroups');
    assert.equal(r.permanent, true);
    assert.match(r.message, /batch-api/);
    assert.deepEqual(alb.calls(), ['DescribeRules']);
    assert.deepEqual(tuples(alb), [['legacy', 80], [OTHER_TG, 20]]);

    const single = new FakeAlb([forwardTo(OTHER_TG)]);
    assert.equal(failed(await syncAlbForwardWeights(ruleTarget, 10, undefined, { client: single.client, retry })).code, 'ForeignTargetGroups');
    assert.equal(single.mock.commandCalls(ModifyRuleCommand).length, 0);

    const fixed = new FakeAlb([{ Type: 'fixed-response', Order: 1, FixedResponseConfig: { StatusCode: '503', ContentType: 'text/plain' } }]);
    const none = failed(await syncAlbForwardWeights(ruleTarget, 10, undefined, { client: fixed.client, retry }));
    assert.equal(none.code, 'NoForwardAction');
    assert.equal(fixed.mock.commandCalls(ModifyRuleCommand).length, 0);
  });

  it('throttling and 5xx are retried with backoff and full jitter, then succeed', async () => {
    const alb = new FakeAlb();
    const real = alb.mock.commandCalls.bind(alb.mock);
    let describes = 0;
    let modifies = 0;
    alb.mock.on(DescribeRulesCommand).callsFake((input: { RuleArns: string[] }) => {
      describes++;
      if (describes <= 2) throw awsError('Throttling', 'Rate exceeded', 400);
      return { Rules: input.RuleArns.map((a) => structuredClone(alb.rules.get(a)!)) };
    });
    alb.mock.on(ModifyRuleCommand).callsFake((input: { RuleArn: string; Actions: never[] }) => {
      modifies++;
      if (modifies === 1) throw awsError('InternalFailure', 'An internal error occurred', 500, 'server');
      alb.rules.get(input.RuleArn)!.Actions = input.Actions;
      return { Rules: [structuredClone(alb.rules.get(input.RuleArn)!)] };
    });
    sleeps.length = 0;
    const r = ok(await syncAlbForwardWeights(ruleTarget, 30, undefined, { client: alb.client, retry }));
    assert.deepEqual(r.observed, { legacyWeight: 70, fleetWeight: 30, stickinessSeconds: 3600 });
    assert.deepEqual(r.calls, { reads: 4, writes: 2, retries: 3 });
    assert.equal(real(DescribeRulesCommand).length, 4);
    // random() = 0.5 of min(cap, base·2^n): 50 ms, then 100 ms for the reads; 50 ms for the write.
    assert.deepEqual(sleeps, [50, 100, 50]);
  });

  it('a permanent error is reported once, without retries; throttling that outlasts the retries is not permanent', async () => {
    const denied = new FakeAlb();
    denied.mock.on(ModifyRuleCommand).rejects(awsError('AccessDenied', 'User: arn:aws:iam::123456789012:role/drover is not authorized to perform: elasticloadbalancing:ModifyRule', 403));
    const r = failed(await syncAlbForwardWeights(ruleTarget, 10, undefined, { client: denied.client, retry }));
    assert.deepEqual([r.code, r.permanent], ['AccessDenied', true]);
    assert.match(r.message, /not authorized to perform: elasticloadbalancing:ModifyRule/);
    assert.deepEqual(denied.calls(), ['DescribeRules', 'ModifyRule']);

    const gone = new FakeAlb();
    const missing = failed(await syncAlbForwardWeights({ ...ruleTarget, ruleArn: RULE.replace(/[0-9a-f]+$/, 'abcdef0123456789') }, 10, undefined, { client: gone.client, retry }));
    assert.deepEqual([missing.code, missing.permanent], ['RuleNotFoundException', true]);
    assert.deepEqual(gone.calls(), ['DescribeRules']);

    const invalid = new FakeAlb();
    invalid.mock.on(ModifyRuleCommand).rejects(awsError('ValidationError', 'Target group weight must be between 0 and 999'));
    assert.deepEqual(failed(await syncAlbForwardWeights(ruleTarget, 10, undefined, { client: invalid.client, retry })).permanent, true);
    assert.equal(invalid.mock.commandCalls(ModifyRuleCommand).length, 1);

    const busy = new FakeAlb();
    busy.mock.on(DescribeRulesCommand).rejects(awsError('Throttling', 'Rate exceeded', 400));
    const t = failed(await syncAlbForwardWeights(ruleTarget, 10, undefined, { client: busy.client, retry }));
    assert.deepEqual([t.code, t.permanent], ['Throttling', false]);
    assert.equal(busy.mock.commandCalls(DescribeRulesCommand).length, retry.attempts);
    assert.match(t.message, /after 4 attempts/);
  });

  it('bad input is refused before any call', async () => {
    const alb = new FakeAlb();
    const both = failed(await syncAlbForwardWeights({ ...ruleTarget, listenerArn: LISTENER }, 10, undefined, { client: alb.client, retry }));
    assert.match(both.message, /exactly one of listenerArn .* or ruleArn/);
    const notArn = failed(await syncAlbForwardWeights({ ...ruleTarget, fleetTargetGroupArn: 'drover-eks' }, 10, undefined, { client: alb.client, retry }));
    assert.match(notArn.message, /fleetTargetGroupArn: "drover-eks" must be an ELBv2 target group ARN \(arn:aws:elasticloadbalancing:REGION:ACCOUNT:targetgroup\/NAME\/ID\)/);
    const same = failed(await syncAlbForwardWeights({ ...ruleTarget, fleetTargetGroupArn: LEGACY_TG }, 10, undefined, { client: alb.client, retry }));
    assert.match(same.message, /the same target group/);
    assert.match(failed(await syncAlbForwardWeights(ruleTarget, 101, undefined, { client: alb.client, retry })).message, /fleetPercent 101 must be within 0–100/);
    assert.match(failed(await syncAlbForwardWeights({ ...ruleTarget, stickinessSeconds: 700_000 }, 10, undefined, { client: alb.client, retry })).message, /stickinessSeconds 700000/);
    assert.deepEqual(alb.calls(), []);
  });
});

describe('mocked AWS: ALB weighted forward for a migration (listener mode, stickiness)', () => {
  it('listener mode reads DescribeListeners and writes only DefaultActions, passing other actions back', async () => {
    const oidc = {
      Type: 'authenticate-oidc' as const,
      Order: 1,
      AuthenticateOidcConfig: {
        Issuer: 'https://idp.example.com',
        AuthorizationEndpoint: 'https://idp.example.com/authorize',
        TokenEndpoint: 'https://idp.example.com/token',
        UserInfoEndpoint: 'https://idp.example.com/userinfo',
        ClientId: 'drover',
        SessionCookieName: 'AWSELBAuthSessionCookie',
        Scope: 'openid',
        SessionTimeout: 604800,
        OnUnauthenticatedRequest: 'authenticate' as const,
      },
    };
    const alb = new FakeAlb(undefined, [oidc, { ...forwardTo(LEGACY_TG), Order: 2 }]);
    const r = ok(await syncAlbForwardWeights(listenerTarget, 50, undefined, { client: alb.client, retry }));
    assert.deepEqual(r.observed, { legacyWeight: 50, fleetWeight: 50, stickinessSeconds: 3600 });
    assert.deepEqual(alb.calls(), ['DescribeListeners', 'ModifyListener', 'DescribeListeners']);
    const input = alb.mock.commandCalls(ModifyListenerCommand)[0]!.args[0].input;
    assert.deepEqual(Object.keys(input).sort(), ['DefaultActions', 'ListenerArn'], 'port, protocol, certificates and SSL policy are not sent: ELBv2 keeps them');
    // Describe never returns the OIDC client secret: it goes back with UseExistingClientSecret.
    assert.deepEqual(input.DefaultActions?.[0], { ...oidc, AuthenticateOidcConfig: { ...oidc.AuthenticateOidcConfig, UseExistingClientSecret: true } });
    assert.equal(input.DefaultActions?.[1]?.Order, 2);
    assert.deepEqual(tuples(alb, 'listener'), [['legacy', 50], ['fleet', 50]]);
    assert.equal(alb.mock.commandCalls(DescribeRulesCommand).length + alb.mock.commandCalls(ModifyRuleCommand).length, 0);

    alb.mock.resetHistory();
    assert.equal(ok(await syncAlbForwardWeights(listenerTarget, 50, 50, { client: alb.client, retry })).changed, false);
    assert.deepEqual(alb.calls(), ['DescribeListeners']);
  });

  it('the default rule of a listener is written through ModifyListener (ModifyRule refuses it)', async () => {
    const alb = new FakeAlb();
    const r = ok(await syncAlbForwardWeights({ ...ruleTarget, ruleArn: DEFAULT_RULE }, 10, undefined, { client: alb.client, retry }));
    assert.deepEqual(r.observed, { legacyWeight: 90, fleetWeight: 10, stickinessSeconds: 3600 });
    assert.deepEqual(alb.calls(), ['DescribeRules', 'ModifyListener', 'DescribeRules']);
    assert.equal(alb.mock.commandCalls(ModifyListenerCommand)[0]!.args[0].input.ListenerArn, LISTENER);
    assert.equal(alb.mock.commandCalls(DescribeListenersCommand).length, 0);
  });

  it('stickiness: on for an hour by default, a duration of its own, 0 turns it off; a change of it alone is written, and is not drift', async () => {
    const alb = new FakeAlb();
    ok(await syncAlbForwardWeights(ruleTarget, 10, undefined, { client: alb.client, retry }));
    assert.deepEqual(alb.ruleForward()?.ForwardConfig?.TargetGroupStickinessConfig, { Enabled: true, DurationSeconds: 3600 });

    alb.mock.resetHistory();
    const short = ok(await syncAlbForwardWeights({ ...ruleTarget, stickinessSeconds: 600 }, 10, 10, { client: alb.client, retry }));
    assert.deepEqual([short.changed, short.drift, short.observed.stickinessSeconds], [true, undefined, 600]);
    assert.deepEqual(alb.ruleForward()?.ForwardConfig?.TargetGroupStickinessConfig, { Enabled: true, DurationSeconds: 600 });
    assert.deepEqual(tuples(alb), [['legacy', 90], ['fleet', 10]]);
    assert.deepEqual(alb.calls(), ['DescribeRules', 'ModifyRule', 'DescribeRules']);

    const off = ok(await syncAlbForwardWeights({ ...ruleTarget, stickinessSeconds: 0 }, 10, 10, { client: alb.client, retry }));
    assert.equal(off.observed.stickinessSeconds, 0);
    assert.deepEqual(alb.ruleForward()?.ForwardConfig?.TargetGroupStickinessConfig, { Enabled: false });

    alb.mock.resetHistory();
    assert.equal(ok(await syncAlbForwardWeights({ ...ruleTarget, stickinessSeconds: 0 }, 10, 10, { client: alb.client, retry })).changed, false);
    assert.deepEqual(alb.calls(), ['DescribeRules']);
  });

  it('a write the ALB does not hold on read-back is reported, not taken as done', async () => {
    const alb = new FakeAlb();
    // A concurrent writer: the ALB answers the ModifyRule but keeps the old actions.
    alb.mock.on(ModifyRuleCommand).resolves({ Rules: [] });
    const r = failed(await syncAlbForwardWeights(ruleTarget, 10, undefined, { client: alb.client, retry }));
    assert.deepEqual([r.code, r.permanent], ['ReadBackMismatch', false]);
    assert.match(r.message, /holds legacy 1 \/ fleet 0/);
  });
});
