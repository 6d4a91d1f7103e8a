import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { CloudWatchClient, GetMetricDataCommand, type MetricDataResult } from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import { Gate } from '../../../src/api/kinds/release.js';
import type { RetryPolicy } from '../../../src/cloud/aws-call.js';
import { albMetricContext } from '../../../src/cloud/alb/arns.js';
import { evaluateCloudWatch, type CloudWatchGate } from '../../../src/release/gates/cloudwatch.js';
import { runGates } from '../../../src/release/gates/index.js';

const base = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012';
const ALB = {
  ruleArn: `${base}:listener-rule/app/game-alb/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee`,
  legacyTargetGroupArn: `${base}:targetgroup/legacy-ec2/73e2d6bc24d8a067`,
  fleetTargetGroupArn: `${base}:targetgroup/drover-eks/3bb63f11dfb0faf9`,
};
const NOW = Date.parse('2026-12-01T12:00:00Z');
const retry: RetryPolicy = { attempts: 3, baseMs: 1, capMs: 2, sleep: async () => {} };
const gate = (extra: Partial<CloudWatchGate> = {}): CloudWatchGate => Gate.parse({ type: 'cloudwatch', metricName: 'HTTPCode_Target_5XX_Count', max: 5, ...extra }) as CloudWatchGate;
/** A GetMetricData answer as the CloudWatch API reference shows it: one MetricDataResult per query id. */
const answer = (series: Record<string, number[]>): { MetricDataResults: MetricDataResult[]; Messages: [] } => ({
  MetricDataResults: Object.entries(series).map(([Id, Values]) => ({
    Id,
    Label: Id,
    Timestamps: Values.map((_, i) => new Date(NOW - (i + 1) * 60_000)),
    Values,
    StatusCode: 'Complete',
  })),
  Messages: [],
});

const cw = mockClient(CloudWatchClient);
afterEach(() => cw.reset());

function deps() {
  return { client: new CloudWatchClient({ region: 'eu-west-1' }), retry, now: () => NOW };
}

describe('mocked AWS: cloudwatch gate (GetMetricData)', () => {
  const ctx = albMetricContext(ALB);

  it('derives the ALB dimensions from the fleet target group and the rule, and the region from the ARN', () => {
    assert.deepEqual(ctx, {
      region: 'eu-west-1',
      dimensions: { TargetGroup: 'targetgroup/drover-eks/3bb63f11dfb0faf9', LoadBalancer: 'app/game-alb/50dc6c495c0c9188' },
      legacyDimensions: { TargetGroup: 'targetgroup/legacy-ec2/73e2d6bc24d8a067', LoadBalancer: 'app/game-alb/50dc6c495c0c9188' },
    });
  });

  it('passes under the limit: the window\'s Sum is the sum of its datapoints; one call with the metric and RequestCount', async () => {
    cw.on(GetMetricDataCommand).resolves(answer({ gate: [1, 2], requests: [400, 380] }));
    const r = await evaluateCloudWatch(gate(), ctx, 120_000, deps());
    assert.equal(r.outcome, 'pass', r.reason);
    assert.match(r.reason, /AWS\/ApplicationELB HTTPCode_Target_5XX_Count Sum = 3 over 120s \{TargetGroup=targetgroup\/drover-eks\/3bb63f11dfb0faf9,LoadBalancer=app\/game-alb\/50dc6c495c0c9188\}/);
    const calls = cw.commandCalls(GetMetricDataCommand);
    assert.equal(calls.length, 1);
    const input = calls[0]!.args[0].input;
    assert.deepEqual(input.StartTime, new Date(NOW - 120_000));
    assert.deepEqual(input.EndTime, new Date(NOW));
    assert.deepEqual(
      input.MetricDataQueries?.map((q) => [q.Id, q.MetricStat?.Metric?.Namespace, q.MetricStat?.Metric?.MetricName, q.MetricStat?.Stat, q.MetricStat?.Period]),
      [
        ['gate', 'AWS/ApplicationELB', 'HTTPCode_Target_5XX_Count', 'Sum', 60],
        ['requests', 'AWS/ApplicationELB', 'RequestCount', 'Sum', 60],
      ],
    );
    assert.deepEqual(input.MetricDataQueries?.[0]?.MetricStat?.Metric?.Dimensions, [
      { Name: 'LoadBalancer', Value: 'app/game-alb/50dc6c495c0c9188' },
      { Name: 'TargetGroup', Value: 'targetgroup/drover-eks/3bb63f11dfb0faf9' },
    ]);
  });

  it('fails over the limit, and against a minimum', async () => {
    cw.on(GetMetricDataCommand).resolves(answer({ gate: [4, 3], requests: [400] }));
    const r = await evaluateCloudWatch(gate(), ctx, 120_000, deps());
    assert.equal(r.outcome, 'fail');
    assert.match(r.reason, /= 7 > 5/);

    cw.reset();
    cw.on(GetMetricDataCommand).resolves(answer({ gate: [300, 12] }));
    const low = await evaluateCloudWatch(gate({ metricName: 'RequestCount', max: undefined, min: 500 }), ctx, 120_000, deps());
    assert.equal(low.outcome, 'fail');
    assert.match(low.reason, /RequestCount Sum = 312 < 500/);
  });

  it('an average or a percentile is judged by its worst datapoint', async () => {
    cw.on(GetMetricDataCommand).resolves(answer({ gate: [0.12, 0.61, 0.2] }));
    const r = await evaluateCloudWatch(gate({ metricName: 'TargetResponseTime', statistic: 'p99', max: 0.5 }), ctx, 180_000, deps());
    assert.equal(r.outcome, 'fail');
    assert.match(r.reason, /TargetResponseTime p99 = 0\.610 > 0\.5/);
    assert.equal((cw.commandCalls(GetMetricDataCommand)[0]!.args[0].input).MetricDataQueries?.length, 1, 'no RequestCount for a non-count metric');
  });

  it('no datapoints is inconclusive; a count with none while RequestCount shows traffic is 0 (the ALB publishes counts only when non-zero)', async () => {
    cw.on(GetMetricDataCommand).resolves(answer({ gate: [], requests: [] }));
    const none = await evaluateCloudWatch(gate(), ctx, 120_000, deps());
    assert.equal(none.outcome, 'inconclusive');
    assert.match(none.reason, /no datapoints and no RequestCount either over 120s \{TargetGroup=/);

    cw.reset();
    cw.on(GetMetricDataCommand).resolves(answer({ gate: [], requests: [250, 240] }));
    const zero = await evaluateCloudWatch(gate(), ctx, 120_000, deps());
    assert.equal(zero.outcome, 'pass', zero.reason);
    assert.match(zero.reason, /= 0 .*no datapoints over 490 requests/);

    cw.reset();
    cw.on(GetMetricDataCommand).resolves(answer({ gate: [] }));
    const latency = await evaluateCloudWatch(gate({ metricName: 'TargetResponseTime', statistic: 'Average', max: 1 }), ctx, 120_000, deps());
    assert.equal(latency.outcome, 'inconclusive');
  });

  it('throttling is retried; an error that will not pass (AccessDenied) is inconclusive after one call', async () => {
    cw.on(GetMetricDataCommand)
      .rejectsOnce(Object.assign(new Error('Rate exceeded'), { name: 'Throttling', $fault: 'client', $metadata: { httpStatusCode: 400 } }))
      .resolves(answer({ gate: [1], requests: [100] }));
    assert.equal((await evaluateCloudWatch(gate(), ctx, 60_000, deps())).outcome, 'pass');
    assert.equal(cw.commandCalls(GetMetricDataCommand).length, 2);

    cw.reset();
    cw.on(GetMetricDataCommand).rejects(Object.assign(new Error('User is not authorized to perform: cloudwatch:GetMetricData'), { name: 'AccessDenied', $fault: 'client', $metadata: { httpStatusCode: 403 } }));
    const denied = await evaluateCloudWatch(gate(), ctx, 60_000, deps());
    assert.equal(denied.outcome, 'inconclusive');
    assert.match(denied.reason, /CloudWatch unavailable \(permanent\): GetMetricData: AccessDenied: User is not authorized/);
    assert.equal(cw.commandCalls(GetMetricDataCommand).length, 1);
  });

  it('maxRatioToLegacy: counts compared per request against the legacy group in the same call', async () => {
    // Fleet 3 errors in 100 requests (3 %); legacy 10 in 10,000 (0.1 %): 30× worse.
    cw.on(GetMetricDataCommand).resolves(answer({ gate: [3], requests: [100], legacy: [6, 4], legacyrequests: [5000, 5000] }));
    const r = await evaluateCloudWatch(gate({ max: 50, maxRatioToLegacy: 2 }), ctx, 120_000, deps());
    assert.equal(r.outcome, 'fail', r.reason);
    assert.match(r.reason, /fleet 0\.030 per request = 30\.00× legacy 0\.001 > 2×/);
    const input = cw.commandCalls(GetMetricDataCommand)[0]!.args[0].input;
    assert.deepEqual(
      input.MetricDataQueries?.map((q) => [q.Id, q.MetricStat?.Metric?.MetricName, q.MetricStat?.Metric?.Dimensions?.find((d) => d.Name === 'TargetGroup')?.Value]),
      [
        ['gate', 'HTTPCode_Target_5XX_Count', 'targetgroup/drover-eks/3bb63f11dfb0faf9'],
        ['requests', 'RequestCount', 'targetgroup/drover-eks/3bb63f11dfb0faf9'],
        ['legacy', 'HTTPCode_Target_5XX_Count', 'targetgroup/legacy-ec2/73e2d6bc24d8a067'],
        ['legacyrequests', 'RequestCount', 'targetgroup/legacy-ec2/73e2d6bc24d8a067'],
      ],
    );

    // No 5xx on either side while both served (counts absent: 0; legacy floored at 0.1 %).
    cw.reset();
    cw.on(GetMetricDataCommand).resolves(answer({ gate: [], requests: [2000], legacy: [], legacyrequests: [90000] }));
    const same = await evaluateCloudWatch(gate({ max: 50, maxRatioToLegacy: 2 }), ctx, 120_000, deps());
    assert.equal(same.outcome, 'pass', same.reason);

    // Latency compares values; no legacy datapoints is inconclusive.
    cw.reset();
    cw.on(GetMetricDataCommand).resolves(answer({ gate: [0.2, 0.25], legacy: [0.1] }));
    const slow = await evaluateCloudWatch(gate({ metricName: 'TargetResponseTime', statistic: 'p99', max: 1, maxRatioToLegacy: 2 }), ctx, 120_000, deps());
    assert.equal(slow.outcome, 'fail');
    assert.match(slow.reason, /fleet 0\.250 = 2\.50× legacy 0\.100 > 2×/);
    cw.reset();
    cw.on(GetMetricDataCommand).resolves(answer({ gate: [0.2], legacy: [] }));
    assert.equal((await evaluateCloudWatch(gate({ metricName: 'TargetResponseTime', statistic: 'p99', max: 1, maxRatioToLegacy: 2 }), ctx, 120_000, deps())).outcome, 'inconclusive');
    // A gate with dimensions of its own has no legacy side.
    assert.match((await evaluateCloudWatch(gate({ dimensions: { TargetGroup: 'targetgroup/x/1' }, maxRatioToLegacy: 2 }), ctx, 120_000, deps())).reason, /maxRatioToLegacy needs the legacy target group/);
  });

  it('a window shorter than the period reads one whole period', async () => {
    cw.on(GetMetricDataCommand).resolves(answer({ gate: [0], requests: [10] }));
    await evaluateCloudWatch(gate({ periodSeconds: 300 }), ctx, 30_000, deps());
    const input = cw.commandCalls(GetMetricDataCommand)[0]!.args[0].input;
    assert.deepEqual(input.StartTime, new Date(NOW - 300_000));
  });
});

describe('cloudwatch gate: schema and wiring into runGates', () => {
  it('defaults namespace, statistic and period; refuses a period and a statistic CloudWatch does not take', () => {
    const g = Gate.parse({ type: 'cloudwatch', metricName: 'HTTPCode_Target_5XX_Count', max: 0 });
    assert.deepEqual(g, { type: 'cloudwatch', metricName: 'HTTPCode_Target_5XX_Count', namespace: 'AWS/ApplicationELB', statistic: 'Sum', periodSeconds: 60, max: 0 });
    assert.match(JSON.stringify(Gate.safeParse({ type: 'cloudwatch', metricName: 'X', periodSeconds: 45 }).error?.issues), /multiple of 60/);
    assert.match(JSON.stringify(Gate.safeParse({ type: 'cloudwatch', metricName: 'X', statistic: 'avg' }).error?.issues), /Sum, Average, Minimum, Maximum, SampleCount or a percentile/);
    assert.equal(Gate.safeParse({ type: 'cloudwatch', metricName: 'X', statistic: 'p99.9' }).success, true);
  });

  it('a release (no ALB context) gets inconclusive with the reason; a migration on an ALB reads CloudWatch through the default client', async () => {
    const check = { gates: [gate()], wave: ['web-2'], baseline: [], windowMs: 60_000, edgeStatsUrls: [] };
    const release = await runGates(check);
    assert.equal(release.outcome, 'inconclusive');
    assert.match(release.reason, /cloudwatch: .*no dimensions to read: a cloudwatch gate reads the fleet target group of a Migration on an ALB/);
    assert.equal(cw.commandCalls(GetMetricDataCommand).length, 0);

    cw.on(GetMetricDataCommand).resolves(answer({ gate: [9], requests: [100] }));
    const migration = await runGates({ ...check, cloudwatch: albMetricContext(ALB) });
    assert.equal(migration.outcome, 'fail');
    assert.match(migration.reason, /cloudwatch: AWS\/ApplicationELB HTTPCode_Target_5XX_Count Sum = 9 > 5/);
    assert.equal(cw.commandCalls(GetMetricDataCommand).length, 1);
  });

  it('a gate without a limit says so rather than passing', async () => {
    const r = await evaluateCloudWatch(gate({ max: undefined }), albMetricContext(ALB), 60_000, deps());
    assert.equal(r.outcome, 'inconclusive');
    assert.match(r.reason, /neither max, min nor maxRatioToLegacy/);
  });
});
