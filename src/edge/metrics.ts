/**
 * Prometheus metrics of one edge, in its own Registry.
 *
 * The request path only bumps plain numbers per Prod (`ProdCounters`); the Prometheus series are
 * built from them when `/metrics` is scraped. prom-client's own `inc`/`observe` validate and hash the
 * label set on every call, which was a measurable share of the edge's CPU per proxied request.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics, type Metric } from 'prom-client';

export type FailureReason = 'no_healthy_endpoint' | 'upstream_error' | 'upstream_timeout' | 'no_plan' | 'upload_limit';
/** Requests refused because of the client's own mistake; never counted against a Prod. */
export type ClientErrorReason = 'bad_request' | 'header_timeout' | 'body_timeout' | 'headers_too_large';

export interface ProdMetrics {
  observe(status: number, seconds: number): void;
  retry(): void;
  setHealthy(healthy: boolean): void;
}

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

/** What the edge counts per Prod on the request path. */
class ProdCounters implements ProdMetrics {
  /** Requests by HTTP status code. */
  readonly byCode = new Map<number, number>();
  /** Per latency bucket (not cumulative); the last slot is above the largest bound. */
  readonly buckets = new Float64Array(LATENCY_BUCKETS.length + 1);
  latencySum = 0;
  latencyCount = 0;
  retries = 0;
  healthy = 1;

  observe(status: number, seconds: number): void {
    this.byCode.set(status, (this.byCode.get(status) ?? 0) + 1);
    let b = 0;
    while (b < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[b]!) b++;
    this.buckets[b]!++;
    this.latencySum += seconds;
    this.latencyCount++;
  }

  retry(): void {
    this.retries++;
  }

  setHealthy(healthy: boolean): void {
    this.healthy = healthy ? 1 : 0;
  }
}

interface MetricValue {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

/**
 * A histogram whose buckets are counted elsewhere (by `ProdCounters`) and read at scrape time, in the
 * shape prom-client's Registry formats (the same fields its own Histogram returns from `get()`).
 */
class ScrapedHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly read: () => Iterable<[string, ProdCounters]>,
  ) {}

  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: MetricValue[] }> {
    const values: MetricValue[] = [];
    for (const [prod, c] of this.read()) {
      let acc = 0;
      LATENCY_BUCKETS.forEach((le, i) => {
        acc += c.buckets[i]!;
        values.push({ value: acc, labels: { le, prod }, metricName: `${this.name}_bucket` });
      });
      values.push({ value: c.latencyCount, labels: { le: '+Inf', prod }, metricName: `${this.name}_bucket` });
      values.push({ value: c.latencySum, labels: { prod }, metricName: `${this.name}_sum` });
      values.push({ value: c.latencyCount, labels: { prod }, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {}
}

export class EdgeMetrics {
  readonly registry = new Registry();
  private readonly failures: Counter<'reason'>;
  private readonly clientErrors: Counter<'reason'>;
  private readonly planRevision: Gauge<'fleet'>;
  private readonly perProd = new Map<string, ProdCounters>();

  constructor() {
    const registers = [this.registry];
    const perProd = this.perProd;
    new Counter({
      name: 'drover_edge_requests_total',
      help: 'Requests answered, by Prod and HTTP status code',
      labelNames: ['prod', 'code'],
      registers,
      collect() {
        this.reset();
        for (const [prod, c] of perProd) for (const [code, n] of c.byCode) this.inc({ prod, code: String(code) }, n);
      },
    });
    this.registry.registerMetric(
      // Duck-typed like prom-client's own metrics: the Registry only calls name/help/type/get/reset.
      new ScrapedHistogram('drover_edge_request_duration_seconds', 'Time from request to end of the upstream response, by Prod', () => perProd.entries()) as unknown as Metric,
    );
    new Counter({
      name: 'drover_edge_retries_total',
      help: 'Requests retried on another Prod, by the Prod that failed',
      labelNames: ['prod'],
      registers,
      collect() {
        this.reset();
        for (const [prod, c] of perProd) this.inc({ prod }, c.retries);
      },
    });
    new Gauge({
      name: 'drover_edge_endpoint_healthy',
      help: '1 when the edge considers the Prod healthy',
      labelNames: ['prod'],
      registers,
      collect() {
        this.reset();
        for (const [prod, c] of perProd) this.set({ prod }, c.healthy);
      },
    });
    this.failures = new Counter({ name: 'drover_edge_failures_total', help: 'Requests the edge answered itself with an error, by reason', labelNames: ['reason'], registers });
    this.clientErrors = new Counter({
      name: 'drover_edge_client_errors_total',
      help: 'Requests refused for the client\'s own mistake (malformed, too slow), by reason; not counted against any Prod',
      labelNames: ['reason'],
      registers,
    });
    this.planRevision = new Gauge({ name: 'drover_edge_plan_revision', help: 'Revision of the traffic plan in use, by fleet', labelNames: ['fleet'], registers });
    collectDefaultMetrics({ register: this.registry, prefix: 'drover_edge_' });
  }

  /** The counters of one Prod; kept across plan updates so its series continue. */
  prod(name: string): ProdMetrics {
    let m = this.perProd.get(name);
    if (!m) {
      m = new ProdCounters();
      this.perProd.set(name, m);
    }
    return m;
  }

  failure(reason: FailureReason): void {
    this.failures.labels(reason).inc();
  }

  clientError(reason: ClientErrorReason): void {
    this.clientErrors.labels(reason).inc();
  }

  revision(fleet: string, revision: number): void {
    this.planRevision.labels(fleet).set(revision);
  }
}
