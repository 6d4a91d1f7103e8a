/**
 * The controllers over the real embedded store (SQLite in a temp dir), with a simulated agent: a fleet
 * comes up spread over three domains, and a lost cluster's Prods are replaced on the others after its
 * eviction timeout.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { startControllers } from '../../../src/controllers/index.js';
import { silentLogger } from '../../../src/runtime/logger.js';
import { openStore } from '../../../src/store/open-store.js';
import { FakeAgents, prodsOf } from '../../helpers/fake-agents.js';
import { cluster, fleet } from '../../helpers/fixtures.js';
import { waitFor } from '../../helpers/wait-for.js';

describe('controllers on the SQLite store', () => {
  it('keeps a fleet spread and replaces the Prods of a lost cluster', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'drover-ctrl-'));
    const store = await openStore({ backend: 'sqlite', dataDir: dir, historySize: 50 });
    const agents = new FakeAgents(store);
    const running = await startControllers({ store, logger: silentLogger });
    try {
      for (const n of ['tokyo', 'osaka', 'onprem']) {
        await store.create(cluster(n, { spec: { region: n, heartbeatGraceMs: 1000, evictionTimeoutMs: 1500 } }));
        agents.alive.add(n);
      }
      agents.start();
      await waitFor('clusters Ready', async () => (await store.list('Cluster')).items.every((c) => c.status?.phase === 'Ready'), { timeoutMs: 10_000 });
      await store.create(fleet('shop', { prods: 3 }));
      const ps = await waitFor('3 Ready Prods', async () => {
        const x = await prodsOf(store, 'shop');
        return x.length === 3 && x.every((p) => p.status?.phase === 'Ready') ? x : undefined;
      }, { timeoutMs: 10_000 });
      assert.deepEqual(ps.map((p) => p.spec.cluster).sort(), ['onprem', 'osaka', 'tokyo']);

      agents.alive.delete('osaka');
      const after = await waitFor('replacement off osaka', async () => {
        const x = await prodsOf(store, 'shop');
        return x.length === 3 && x.every((p) => p.status?.phase === 'Ready' && p.spec.cluster !== 'osaka') ? x : undefined;
      }, { timeoutMs: 10_000 });
      assert.equal(after.filter((p) => !ps.some((o) => o.metadata.name === p.metadata.name)).length, 1);
    } finally {
      await agents.stop();
      await running.stop();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
