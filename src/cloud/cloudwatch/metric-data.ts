/**
 * GetMetricData for the gates: several metrics (of one set of dimensions unless a query names its own) over
 * one window, in one call
 * (following NextToken, at most MAX_PAGES pages), through awsCall.
 */
import { GetMetricDataCommand, type CloudWatchClient, type MetricDataQuery } from '@aws-sdk/client-cloudwatch';
import { awsCall, type CallMeter, type RetryPolicy } from '../aws-call.js';

export interface MetricQuery {
  /** Lower-case letter first, as CloudWatch requires of a query id. */
  id: string;
  namespace: string;
  metricName: string;
  statistic: string;
  /** Default: the window's. */
  dimensions?: Record<string, string>;
}

export interface MetricSeries {
  values: number[];
  /** Complete, PartialData, InternalError or Forbidden (CloudWatch's StatusCode). */
  status: string;
  messages: string[];
}

export interface MetricWindow {
  dimensions: Record<string, string>;
  periodSeconds: number;
  start: Date;
  end: Date;
}

const MAX_PAGES = 5;

export async function getMetricData(client: CloudWatchClient, meter: CallMeter, queries: readonly MetricQuery[], w: MetricWindow, retry?: RetryPolicy): Promise<Map<string, MetricSeries>> {
  const dimensionList = (d: Record<string, string>) =>
    Object.entries(d)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([Name, Value]) => ({ Name, Value }));
  const MetricDataQueries: MetricDataQuery[] = queries.map((q) => ({
    Id: q.id,
    MetricStat: { Metric: { Namespace: q.namespace, MetricName: q.metricName, Dimensions: dimensionList(q.dimensions ?? w.dimensions) }, Period: w.periodSeconds, Stat: q.statistic },
    ReturnData: true,
  }));
  const out = new Map<string, MetricSeries>(queries.map((q) => [q.id, { values: [], status: 'Complete', messages: [] }]));
  let NextToken: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const res = await awsCall(
      meter,
      'GetMetricData',
      'read',
      () => client.send(new GetMetricDataCommand({ MetricDataQueries, StartTime: w.start, EndTime: w.end, ScanBy: 'TimestampDescending', ...(NextToken ? { NextToken } : {}) })),
      retry,
    );
    for (const r of res.MetricDataResults ?? []) {
      const s = r.Id ? out.get(r.Id) : undefined;
      if (!s) continue;
      s.values.push(...(r.Values ?? []).filter((v) => Number.isFinite(v)));
      if (r.StatusCode && r.StatusCode !== 'Complete') s.status = r.StatusCode;
      for (const m of r.Messages ?? []) if (m.Value) s.messages.push(`${m.Code ?? 'Message'}: ${m.Value}`);
    }
    for (const s of out.values()) for (const m of res.Messages ?? []) if (m.Value) s.messages.push(`${m.Code ?? 'Message'}: ${m.Value}`);
    NextToken = res.NextToken;
    if (!NextToken) break;
  }
  // A page's PartialData is the paging itself; what is left after the last page is what matters.
  if (!NextToken) for (const s of out.values()) if (s.status === 'PartialData') s.status = 'Complete';
  return out;
}
