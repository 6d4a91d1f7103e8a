/** Every Cluster phase a store's watch delivers from now on, as `name:phase`, for tests of heartbeat verdicts. */
import type { Cluster } from '../../src/api/kinds/cluster.js';
import type { Store } from '../../src/store/store.js';

export async function recordClusterPhases(store: Store): Promise<{ phases: string[]; stop: () => Promise<void> }> {
  const phases: string[] = [];
  const watching = new AbortController();
  const rv = await store.revision();
  const watch = (async () => {
    for await (const ev of store.watch({ kind: 'Cluster', resourceVersion: rv, signal: watching.signal })) {
      const c = ev.object as Cluster;
      phases.push(`${c.metadata.name}:${c.status?.phase}`);
    }
  })();
  return {
    phases,
    stop: async () => {
      watching.abort();
      await watch;
    },
  };
}
