/** Prometheus metrics of one edge, in its own Registry; label children cached per Prod for the hot path. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type FailureReason = 'no_healthy_endpoint' | 'upstream_error' | 'no_plan';

export interface ProdMetrics {
  observe(status: number, seconds: number): void;
  retry(): void;
  setHealthy(healthy: boolean): void;
}

export class EdgeMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'prod' | 'code'>;
  private readonly latency: Histogram<'prod'>;
  private readonly retries: Counter<'prod'>;
  private readonly health: Gauge<'prod'>;
  private readonly failures: Counter<'reason'>;
  private readonly planRevision: Gauge<'fleet'>;
  private readonly perProd = new Map<string, ProdMetrics>();

  constructor() {
    const registers = [this.registry];
    this.requests = new Counter({ name: 'drover_edge_requests_total', help: 'Requests answered, by Prod and HTTP status code', labelNames: ['prod', 'code'], registers });
    this.latency = new Histogram({
      name: 'drover_edge_request_duration_seconds',
      help: 'Time from request to end of the upstream response, by Prod',
      labelNames: ['prod'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.retries = new Counter({ name: 'drover_edge_retries_total', help: 'Requests retried on another Prod, by the Prod that failed', labelNames: ['prod'], registers });
    this.health = new Gauge({ name: 'drover_edge_endpoint_healthy', help: '1 when the edge considers the Prod healthy', labelNames: ['prod'], registers });
    this.failures = new Counter({ name: 'drover_edge_failures_total', help: 'Requests the edge answered itself with an error, by reason', labelNames: ['reason'], registers });
    this.planRevision = new Gauge({ name: 'drover_edge_plan_revision', help: 'Revision of the traffic plan in use, by fleet', labelNames: ['fleet'], registers });
    collectDefaultMetrics({ register: this.registry, prefix: 'drover_edge_' });
  }

  prod(name: string): ProdMetrics {
    let m = this.perProd.get(name);
    if (m) return m;
    const byCode = new Map<number, { inc(): void }>();
    const lat = this.latency.labels(name);
    const retries = this.retries.labels(name);
    const health = this.health.labels(name);
    m = {
      observe: (status, seconds) => {
        let c = byCode.get(status);
        if (!c) {
          c = this.requests.labels(name, String(status));
          byCode.set(status, c);
        }
        c.inc();
        lat.observe(seconds);
      },
      retry: () => retries.inc(),
      setHealthy: (h) => health.set(h ? 1 : 0),
    };
    this.perProd.set(name, m);
    return m;
  }

  failure(reason: FailureReason): void {
    this.failures.labels(reason).inc();
  }

  revision(fleet: string, revision: number): void {
    this.planRevision.labels(fleet).set(revision);
  }
}
