/**
 * The release controller together with the real fleet controller in the runtime's Manager, on a
 * MemoryStore, with the agent and the scheduler simulated: they must not fight (the fleet controller
 * leaves a Release's successors alone, and does not roll the fleet again once it is on the new version).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { API_VERSION } from '../../../src/api/meta.js';
import type { Release } from '../../../src/api/kinds/release.js';
import type { Tenant } from '../../../src/api/kinds/tenant.js';
import { fleetController } from '../../../src/controllers/fleet-controller.js';
import { releaseController } from '../../../src/controllers/release-controller.js';
import { Manager } from '../../../src/runtime/manager.js';
import { MemoryStore } from '../../../src/store/memory/memory-store.js';
import { tenant } from '../../helpers/fixtures.js';
import { addReadyCluster, shopFleet, simulateAgent } from '../../helpers/simulated-fleet.js';
import { waitFor, type WaitOptions } from '../../helpers/wait-for.js';

const meta = (name: string) => ({ name, labels: {}, annotations: {}, finalizers: [], ownerReferences: [] });

/** A check that throws (the release ended otherwise) fails the test at once. */
const slow: WaitOptions = { timeoutMs: 20_000, retryIf: () => false };

describe('release controller with the fleet controller (Manager, MemoryStore)', () => {
  it('releases a fleet the fleet controller built, without extra Prods or a second roll', async () => {
    const store = new MemoryStore();
    for (const c of ['a', 'b', 'c']) await addReadyCluster(store, c, 5);
    await store.create(shopFleet());

    const created = new Set<string>();
    // Simulated agent: Prods become Ready on their version; retired ones report Retired.
    const agent = simulateAgent(store, { seen: (p) => created.add(p.metadata.name) });
    const manager = new Manager({
      store,
      reconcilers: [fleetController(), releaseController({ gates: async () => ({ outcome: 'pass', results: [], reason: 'ok' }), pollMs: 20 })],
      logger: { log: () => {} },
    });
    manager.start();
    try {
      const prods = await waitFor('six Ready Prods', async () => {
        const ps = (await store.list('Prod')).items.filter((p) => !p.spec.retire && p.status?.phase === 'Ready');
        return ps.length === 6 ? ps : undefined;
      }, slow);
      // Simulated scheduler: test tenant on the test Prod, the others spread.
      const test = prods.find((p) => p.spec.role === 'test')!;
      const normal = prods.filter((p) => p.spec.role === 'normal');
      const n = (i: number) => normal[i % normal.length]!.metadata.name;
      const ts: Tenant[] = [
        tenant('qa', { fleet: 'shop', users: 5, prods: [test.metadata.name], hosts: ['qa.example.com'], test: true }),
        tenant('tiny', { fleet: 'shop', users: 10, prods: [n(0)], hosts: ['tiny.example.com'] }),
        tenant('r1', { fleet: 'shop', users: 400, prods: [n(1), n(2)], hosts: ['r1.example.com'], redundancy: 2 }),
        tenant('n1', { fleet: 'shop', users: 300, prods: [n(3)], hosts: ['n1.example.com'] }),
        tenant('n2', { fleet: 'shop', users: 200, prods: [n(4)], hosts: ['n2.example.com'] }),
      ];
      for (const t of ts) await store.updateStatus({ ...(await store.create(t)), status: t.status });

      const rel: Release = {
        apiVersion: API_VERSION,
        kind: 'Release',
        metadata: meta('shop-v2'),
        spec: { fleet: 'shop', version: 'v2', maxParallel: 2, bake: '100ms', gates: [], warmup: { requests: 3 }, autoRollback: true, env: {}, paused: false, action: 'none' },
      };
      await store.create(rel);
      const done = await waitFor('the release to succeed', async () => {
        const r = await store.get('Release', 'shop-v2');
        if (r?.status?.phase === 'RolledBack' || r?.status?.phase === 'Failed') throw new Error(JSON.stringify(r.status.decisions));
        return r?.status?.phase === 'Succeeded' ? r : undefined;
      }, slow);
      assert.equal(done.status?.waves[0]?.riskClass, 'test');
      assert.equal((await store.get('Fleet', 'shop'))?.spec.version, 'v2');
      const live = await waitFor('the retired v1 Prods to be deleted', async () => {
        const all = (await store.list('Prod')).items;
        return all.length === 6 ? all : undefined;
      }, slow);
      assert.ok(live.every((p) => p.spec.version === 'v2' && !p.spec.retire), JSON.stringify(live.map((p) => [p.metadata.name, p.spec.version])));
      assert.equal(created.size, 12, `6 v1 Prods + 6 successors, nothing else: ${[...created].join(',')}`);
    } finally {
      await agent.stop();
      await manager.stop();
    }
  });
});
