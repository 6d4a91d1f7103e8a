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
 * `maxRatioToLegacy` compares with the legacy target group over the same window, in the same call: values
 * as they are, counts per request (a 1 % fleet and a 99 % legacy side see different counts), the legacy
 * rate floored at 0.1 % as the stats gates floor their baseline.
 *
 * The dimensions are the gate's own, else the context's (the migration's fleet target group and load
 * balancer, src/cloud/alb/arns.ts albMetricContext); with neither (a Release, which has no ALB), the gate
 * is inconclusive and says why. AWS errors (after awsCall's retries) are inconclusive too: the step waits.
 */
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { Gate } from '../../api/kinds/release.js';
import { AwsCallError, CallMeter, type RetryPolicy } from '../../cloud/aws-call.js';
import { cloudWatchClient } from '../../cloud/cloudwatch/client.js';
import { getMetricData, type MetricQuery, type MetricSeries } from '../../cloud/cloudwatch/metric-data.js';
import { BASELINE_ERROR_FLOOR } from './stats-gates.js';
import type { GateResult } from './types.js';

export type CloudWatchGate = Extract<Gate, { type: 'cloudwatch' }>;

/** What the caller knows of the ALB: the metrics' region and default dimensions. */
export interface CloudWatchContext {
  region?: string | undefined;
  dimensions: Record<string, string>;
  /** The legacy target group's dimensions, for `maxRatioToLegacy`. */
  legacyDimensions?: Record<string, string> | undefined;
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
  // HealthyHostCount/UnHealthyHostCount are gauges published every minute: their absence is no zero.
  return g.namespace === ALB_NAMESPACE && g.statistic === 'Sum' && /Count$/.test(g.metricName) && !/^(RequestCount|(Un)?HealthyHostCount)$/.test(g.metricName);
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

/** One side's value over the window, or why there is none. */
type SideValue = { hi: number; lo: number; requests: number; note: string } | { missing: string };

function sideValue(g: CloudWatchGate, main: MetricSeries | undefined, requestSeries: MetricSeries | undefined, countsZeros: boolean): SideValue {
  const m = main ?? { values: [], status: 'Complete', messages: [] };
  const requests = windowValue('Sum', requestSeries?.values ?? [], 'max') ?? 0;
  const hi = windowValue(g.statistic, m.values, 'max');
  const lo = windowValue(g.statistic, m.values, 'min');
  if (hi !== undefined && lo !== undefined) return { hi, lo, requests, note: `${m.values.length} datapoints${m.status !== 'Complete' ? `, ${m.status}` : ''}` };
  if (countsZeros && requests > 0) return { hi: 0, lo: 0, requests, note: `no datapoints over ${fmt(requests)} requests: 0 (the ALB publishes counts only when not zero)` };
  const why = m.messages.length > 0 ? ` (${m.messages.join('; ')})` : m.status !== 'Complete' ? ` (${m.status})` : '';
  return { missing: `no datapoints${why}${countsZeros ? ' and no RequestCount either' : ''}` };
}

export async function evaluateCloudWatch(g: CloudWatchGate, ctx: CloudWatchContext | undefined, windowMs: number, deps: CloudWatchDeps = {}): Promise<GateResult> {
  const name = `${g.namespace} ${g.metricName} ${g.statistic}`;
  const inconclusive = (reason: string): GateResult => ({ gate: 'cloudwatch', outcome: 'inconclusive', reason: `${name}: ${reason}` });
  const dimensions = g.dimensions ?? ctx?.dimensions;
  if (!dimensions || Object.keys(dimensions).length === 0) {
    return inconclusive('no dimensions to read: a cloudwatch gate reads the fleet target group of a Migration on an ALB (spec.target alb); elsewhere give the gate its own dimensions');
  }
  if (g.max === undefined && g.min === undefined && g.maxRatioToLegacy === undefined) return inconclusive('the gate has neither max, min nor maxRatioToLegacy: set the limit it checks');
  // A gate with dimensions of its own names no legacy side.
  const legacy = g.maxRatioToLegacy !== undefined && !g.dimensions ? ctx?.legacyDimensions : undefined;
  if (g.maxRatioToLegacy !== undefined && !legacy) return inconclusive('maxRatioToLegacy needs the legacy target group (a Migration on an ALB, without dimensions on the gate)');

  const now = (deps.now ?? Date.now)();
  const spanMs = Math.max(windowMs, g.periodSeconds * 1000);
  const countsZeros = publishedOnlyWhenNonZero(g);
  const metric = { namespace: g.namespace, metricName: g.metricName, statistic: g.statistic };
  const requestCount = { namespace: ALB_NAMESPACE, metricName: 'RequestCount', statistic: 'Sum' };
  const queries: MetricQuery[] = [{ id: 'gate', ...metric }];
  if (countsZeros) queries.push({ id: 'requests', ...requestCount });
  if (legacy) {
    queries.push({ id: 'legacy', ...metric, dimensions: legacy });
    if (countsZeros) queries.push({ id: 'legacyrequests', ...requestCount, dimensions: legacy });
  }
  const dims = Object.entries(dimensions)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  const over = `over ${Math.round(spanMs / 1000)}s {${dims}}`;
  let series: Map<string, MetricSeries>;
  try {
    const client = deps.client ?? cloudWatchClient(g.region ?? ctx?.region);
    series = await getMetricData(client, deps.meter ?? new CallMeter(), queries, { dimensions, periodSeconds: g.periodSeconds, start: new Date(now - spanMs), end: new Date(now) }, deps.retry);
  } catch (e) {
    if (e instanceof AwsCallError) return inconclusive(`CloudWatch unavailable (${e.errorClass}): ${e.message}`);
    return inconclusive(`CloudWatch unavailable: ${e instanceof Error ? e.message : String(e)}`);
  }
  const fleet = sideValue(g, series.get('gate'), series.get('requests'), countsZeros);
  if ('missing' in fleet) return inconclusive(`${fleet.missing} ${over}`);
  if (g.max !== undefined && fleet.hi > g.max) return { gate: 'cloudwatch', outcome: 'fail', reason: `${name} = ${fmt(fleet.hi)} > ${g.max} ${over} (${fleet.note})` };
  if (g.min !== undefined && fleet.lo < g.min) return { gate: 'cloudwatch', outcome: 'fail', reason: `${name} = ${fmt(fleet.lo)} < ${g.min} ${over} (${fleet.note})` };
  const shown = `${name} = ${fmt(g.min !== undefined && g.max === undefined ? fleet.lo : fleet.hi)} ${over} (${fleet.note})`;
  if (g.maxRatioToLegacy === undefined) return { gate: 'cloudwatch', outcome: 'pass', reason: shown };

  const old = sideValue(g, series.get('legacy'), series.get('legacyrequests'), countsZeros);
  if ('missing' in old) return inconclusive(`legacy target group: ${old.missing}; ${shown}`);
  let f = fleet.hi;
  let l = old.hi;
  let unit = '';
  if (countsZeros) {
    if (fleet.requests <= 0 || old.requests <= 0) return inconclusive(`no RequestCount on the ${fleet.requests <= 0 ? 'fleet' : 'legacy'} side to compare per request; ${shown}`);
    // Per request, as the stats gates compare error rates; a legacy rate of 0 is floored at 0.1 %.
    f = fleet.hi / fleet.requests;
    l = Math.max(old.hi / old.requests, BASELINE_ERROR_FLOOR);
    unit = ' per request';
  }
  if (l <= 0) return inconclusive(`the legacy side's value is ${fmt(l)}: no ratio to it; ${shown}`);
  const ratio = f / l;
  const vs = `fleet ${fmt(f)}${unit} = ${ratio.toFixed(2)}× legacy ${fmt(l)}`;
  if (ratio > g.maxRatioToLegacy) return { gate: 'cloudwatch', outcome: 'fail', reason: `${name}: ${vs} > ${g.maxRatioToLegacy}× ${over}` };
  return { gate: 'cloudwatch', outcome: 'pass', reason: `${shown}; ${vs}` };
}
