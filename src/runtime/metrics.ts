/** The reconcile runtime's metrics, on prom-client's default register (served at /metrics). */
import { Counter, Gauge, Histogram, register, type Metric } from 'prom-client';

/** Reuses a metric already registered under `name` (the module may be loaded more than once). */
function registered<M extends Metric>(name: string, create: () => M): M {
  return (register.getSingleMetric(name) as M | undefined) ?? create();
}

export const reconcileTotal = registered(
  'drover_reconcile_total',
  () =>
    new Counter<'controller' | 'result'>({
      name: 'drover_reconcile_total',
      help: 'Reconcile passes by controller and result (success, requeue_after, error, terminal).',
      labelNames: ['controller', 'result'],
    }),
);

export const reconcileDuration = registered(
  'drover_reconcile_duration_seconds',
  () =>
    new Histogram<'controller'>({
      name: 'drover_reconcile_duration_seconds',
      help: 'Duration of reconcile passes by controller.',
      labelNames: ['controller'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    }),
);

export const workqueueDepth = registered(
  'drover_workqueue_depth',
  () =>
    new Gauge<'controller'>({
      name: 'drover_workqueue_depth',
      help: 'Keys waiting in a controller work queue.',
      labelNames: ['controller'],
    }),
);
