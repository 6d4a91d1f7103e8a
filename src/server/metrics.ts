/** The API server's Prometheus metrics, in a registry of its own (several servers may share a process in tests). */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export class ApiMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'drover_api_requests_total',
    help: 'API requests by method, route and status code',
    labelNames: ['method', 'route', 'code'] as const,
    registers: [this.registry],
  });
  readonly latency = new Histogram({
    name: 'drover_api_request_duration_seconds',
    help: 'API request latency (for watches: until the stream started) by method and route',
    labelNames: ['method', 'route'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly watchers = new Gauge({ name: 'drover_api_watchers', help: 'Open watch streams', registers: [this.registry] });
  readonly internalErrors = new Counter({ name: 'drover_api_internal_errors_total', help: 'Requests that failed with an unexpected error', registers: [this.registry] });

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    if (opts.defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'drover_' });
  }
}
