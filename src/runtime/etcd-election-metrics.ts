/** Metrics of leader election on etcd (etcd-leader-elector.ts), on prom-client's default register. */
import { Counter, Gauge, register, type Metric } from 'prom-client';

function registered<M extends Metric>(name: string, create: () => M): M {
  return (register.getSingleMetric(name) as M | undefined) ?? create();
}

export const leaderGauge = registered('drover_leader', () => new Gauge({ name: 'drover_leader', help: '1 while this replica leads (runs the controllers), else 0.' }));

export const leaderTransitions = registered(
  'drover_leader_transitions_total',
  () => new Counter<'event'>({ name: 'drover_leader_transitions_total', help: 'Leadership acquired and lost by this replica.', labelNames: ['event'] }),
);

export const fencedWrites = registered(
  'drover_leader_fenced_writes_total',
  () =>
    new Counter<'reason'>({
      name: 'drover_leader_fenced_writes_total',
      help: 'Controller writes refused by the fence: not-leading (refused locally) or fence-lost (refused by etcd at commit).',
      labelNames: ['reason'],
    }),
);

export const lastFencedCommit = registered(
  'drover_leader_last_write_revision',
  () => new Gauge({ name: 'drover_leader_last_write_revision', help: 'etcd revision of the last controller write this replica committed (fenced).' }),
);
