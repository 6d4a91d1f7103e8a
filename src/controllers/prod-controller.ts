/**
 * Prod controller: the control-plane side of the Prod lifecycle (see prod-lifecycle.ts for the phase
 * machine and who owns which transition). Reads the Prod and its Cluster, writes status with the
 * resourceVersion it read (so an agent's concurrent status write is never lost), and records one event
 * per phase change.
 */
import type { Cluster } from '../api/kinds/cluster.js';
import { isDroverError } from '../errors.js';
import { whenChanged } from '../runtime/predicates.js';
import type { Reconciler, Result } from '../runtime/reconciler.js';
import { writeStatusIfChanged } from '../store/mutate.js';
import { decideProd } from './prod-lifecycle.js';
import { reader } from './reads.js';

export interface ProdControllerOptions {
  now?: () => number;
  resyncMs?: number;
}

export function prodController(opts: ProdControllerOptions = {}): Reconciler {
  const now = opts.now ?? Date.now;
  return {
    name: 'prod',
    resyncMs: opts.resyncMs ?? 30_000,
    watches: [
      { kind: 'Prod' },
      {
        kind: 'Cluster',
        // Only a change of liveness matters to the Prods on a cluster, not every heartbeat.
        mapToKeys: whenChanged(
          (o) => `${(o as Cluster).status?.phase ?? 'Unknown'}/${o.metadata.deletionTimestamp ?? ''}`,
          async (o, { store }) => (await store.list('Prod')).items.filter((p) => p.spec.cluster === o.metadata.name).map((p) => p.metadata.name),
        ),
      },
    ],
    async listKeys(ctx) {
      return (await reader(ctx).list('Prod')).map((p) => p.metadata.name);
    },
    async reconcile(ctx, key): Promise<Result> {
      const read = reader(ctx);
      const prod = await read.get('Prod', key);
      if (!prod) return {};
      const cluster = await read.get('Cluster', prod.spec.cluster);
      const { status, events } = decideProd(prod, cluster, now());
      try {
        // On the copy read: an agent's status write meanwhile is a conflict, and the pass runs again.
        await writeStatusIfChanged(ctx.store, prod, status);
      } catch (e) {
        if (isDroverError(e, 'DROVER_E_NOT_FOUND')) return {};
        throw e;
      }
      for (const ev of events) await ctx.recordEvent(prod, ev.type, ev.reason, ev.message);
      return {};
    },
  };
}
