/**
 * CloudWatch gates: a metric of the fleet's side of an ALB migration (e.g. HTTPCode_Target_5XX_Count of
 * the fleet's target group) over the gate window, read with one GetMetricData.
 *
 * The value judged, from the window's datapoints (one per `periodSeconds`): Sum and SampleCount add up
 * (the count over the window); Maximum takes the largest, Minimum the smallest; Average and percentiles
 * are judged by their worst datapoint (the largest against `max`, the smallest against `min`), as PromQL
 * gates judge their worst series.
 *
 * No datapoints is inconclusive (no news is not good news) with one exception: the ALB publishes its
 * count metrics (HTTPCode_*_Count, …ErrorCount) only for periods where the count is not zero, so a
 * count metric with no datapoints while RequestCount shows traffic on the same dimensions is 0. RequestCount
 * is asked in the same GetMetricData call. CloudWatch's ALB metrics arrive about a minute late: a bake
 * shorter than that tends to be inconclusive.
 *
 * The dimensions are the gate's own, else the context's (the migration's fleet target group and load
 * balancer, src/cloud/alb/arns.ts albMetricContext); with neither (a Release, which has no ALB), the gate
 * is inconclusive and says why. AWS errors (after awsCall's retries) are inconclusive too: the step waits.
 */
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { Gate } from '../../api/kinds/release.js';
import { AwsCallError, CallMeter, type RetryPolicy } from '../../cloud/aws-call.js';
import { cloudWatchClient } from '../../cloud/cloudwatch/client.js';
import { getMetricData, type MetricQuery } from '../../cloud/cloudwatch/metric-data.js';
import type { GateResult } from './types.js';

export type CloudWatchGate = Extract<Gate, { type: 'cloudwatch' }>;

/** What the caller knows of the ALB: the metrics' region and default dimensions. */
export interface CloudWatchContext {
  region?: string | undefined;
  dimensions: Record<string, string>;
}

export interface CloudWatchDeps {
  /** Default: a client of the gate's (else the context's) region from the standard SDK configuration. */
  client?: CloudWatchClient;
  retry?: RetryPolicy;
  now?: () => number;
  meter?: CallMeter;
}

const ALB_NAMESPACE = 'AWS/ApplicationELB';

/** An ALB count that is published only when not zero (see the header). */
export function publishedOnlyWhenNonZero(g: Pick<CloudWatchGate, 'namespace' | 'metricName' | 'statistic'>): boolean {
  return g.namespace === ALB_NAMESPACE && g.statistic === 'Sum' && /Count$/.test(g.metricName) && g.metricName !== 'RequestCount';
}

/** The value of the window and how it was taken, from the datapoints; undefined when there are none. */
export function windowValue(statistic: string, values: readonly number[], bound: 'max' | 'min'): number | undefined {
  if (values.length === 0) return undefined;
  if (statistic === 'Sum' || statistic === 'SampleCount') return values.reduce((a, b) => a + b, 0);
  if (statistic === 'Maximum') return Math.max(...values);
  if (statistic === 'Minimum') return Math.min(...values);
  return bound === 'max' ? Math.max(...values) : Math.min(...values);
}

const fmt = (x: number) => (Number.isInteger(x) ? String(x) : x.toFixed(3));

export async function evaluateCloudWatch(g: CloudWatchGate, ctx: CloudWatchContext | undefined, windowMs: number, deps: CloudWatchDeps = {}): Promise<GateResult> {
  const name = `${g.namespace} ${g.metricName} ${g.statistic}`;
  const inconclusive = (reason: string): GateResult => ({ gate: 'cloudwatch', outcome: 'inconclusive', reason: `${name}: ${reason}` });
  const dimensions = g.dimensions ?? ctx?.dimensions;
  if (!dimensions || Object.keys(dimensions).length === 0) {
    return inconclusive('no dimensions to read: a cloudwatch gate reads the fleet target group of a Migration on an ALB (spec.target alb); elsewhere give the gate its own dimensions');
  }
  if (g.max === undefined && g.min === undefined) return inconclusive('the gate has neither max nor min: set the limit it checks');
  const now = (deps.now ?? Date.now)();
  const spanMs = Math.max(windowMs, g.periodSeconds * 1000);
  const queries: MetricQuery[] = [{ id: 'gate', namespace: g.namespace, metricName: g.metricName, statistic: g.statistic }];
  const countsZeros = publishedOnlyWhenNonZero(g);
  if (countsZeros) queries.push({ id: 'requests', namespace: ALB_NAMESPACE, metricName: 'RequestCount', statistic: 'Sum' });
  const dims = Object.entries(dimensions)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  let series;
  try {
    const client = deps.client ?? cloudWatchClient(g.region ?? ctx?.region);
    series = await getMetricData(client, deps.meter ?? new CallMeter(), queries, { dimensions, periodSeconds: g.periodSeconds, start: new Date(now - spanMs), end: new Date(now) }, deps.retry);
  } catch (e) {
    if (e instanceof AwsCallError) return inconclusive(`CloudWatch unavailable (${e.errorClass}): ${e.message}`);
    return inconclusive(`CloudWatch unavailable: ${e instanceof Error ? e.message : String(e)}`);
  }
  const main = series.get('gate') ?? { values: [], status: 'Complete', messages: [] };
  const requests = windowValue('Sum', series.get('requests')?.values ?? [], 'max') ?? 0;
  const over = `over ${Math.round(spanMs / 1000)}s {${dims}}`;
  let hi = windowValue(g.statistic, main.values, 'max');
  let lo = windowValue(g.statistic, main.values, 'min');
  let note = `${main.values.length} datapoints${main.status !== 'Complete' ? `, ${main.status}` : ''}`;
  if (hi === undefined || lo === undefined) {
    if (!countsZeros || requests <= 0) {
      const why = main.messages.length > 0 ? ` (${main.messages.join('; ')})` : main.status !== 'Complete' ? ` (${main.status})` : '';
      return inconclusive(`no datapoints ${over}${why}${countsZeros ? ' and no RequestCount either' : ''}`);
    }
    hi = lo = 0;
    note = `no datapoints over ${fmt(requests)} requests: 0 (the ALB publishes counts only when not zero)`;
  }
  if (g.max !== undefined && hi > g.max) return { gate: 'cloudwatch', outcome: 'fail', reason: `${name} = ${fmt(hi)} > ${g.max} ${over} (${note})` };
  if (g.min !== undefined && lo < g.min) return { gate: 'cloudwatch', outcome: 'fail', reason: `${name} = ${fmt(lo)} < ${g.min} ${over} (${note})` };
  const shown = g.max !== undefined ? hi : lo;
  return { gate: 'cloudwatch', outcome: 'pass', reason: `${name} = ${fmt(shown)} ${over} (${note})` };
}
