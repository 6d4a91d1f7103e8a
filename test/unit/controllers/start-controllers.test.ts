import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { register } from 'prom-client';
import { startControllers } from '../../../src/controllers/index.js';
import { silentLogger } from '../../../src/runtime/logger.js';
import { MemoryStore } from '../../../src/store/memory/memory-store.js';
import { FakeAgents, prodsOf } from '../../helpers/fake-agents.js';
import { cluster, fleet } from '../../helpers/fixtures.js';
import { waitFor } from '../../helpers/wait-for.js';

describe('startControllers', () => {
  it('runs every registered controller until stopped, with metrics on the default register', async () => {
    const store = new MemoryStore();
    for (const n of ['tokyo', 'osaka', 'onprem']) await store.create(cluster(n, { region: n }));
    const agents = new FakeAgents(store);
    for (const n of ['tokyo', 'osaka', 'onprem']) agents.alive.add(n);
    agents.start();
    const running = await startControllers({ store, logger: silentLogger });
    try {
      // Placement only uses Ready clusters and does not rebalance later: wait for all three first.
      await waitFor('clusters Ready', async () => (await store.list('Cluster')).items.every((c) => c.status?.phase === 'Ready'));
      await store.create(fleet('shop', { prods: 3 }));
      const ps = await waitFor('3 Ready Prods', async () => {
        const x = await prodsOf(store, 'shop');
        return x.length === 3 && x.every((p) => p.status?.phase === 'Ready') ? x : undefined;
      });
      assert.deepEqual(ps.map((p) => p.spec.cluster).sort(), ['onprem', 'osaka', 'tokyo']);
      const text = await register.metrics();
      for (const c of ['cluster', 'fleet', 'prod']) {
        assert.match(text, new RegExp(`drover_reconcile_total\\{controller="${c}",result="success"\\} [1-9]`));
        assert.match(text, new RegExp(`drover_reconcile_duration_seconds_count\\{controller="${c}"\\} [1-9]`));
      }
      assert.match(text, /drover_workqueue_depth\{controller="fleet"\} \d+/);
    } finally {
      await agents.stop();
      await running.stop();
    }
  });
});
