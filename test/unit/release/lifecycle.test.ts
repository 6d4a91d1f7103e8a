import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { API_VERSION } from '../../../src/api/meta.js';
import type { Cluster } from '../../../src/api/kinds/cluster.js';
import type { Prod } from '../../../src/api/kinds/prod.js';
import { drainReport, setClusterState } from '../../../src/lifecycle/cluster-ops.js';
import { replaceCluster, type ReplaceProgress } from '../../../src/lifecycle/replace.js';
import { MemoryStore } from '../../../src/store/memory/memory-store.js';
import { prod, talkFleet, tenant } from './fixtures.js';
import { agentStep, Clock } from './sim.js';

const cluster = (name: string, domain = name): Cluster => ({
  apiVersion: API_VERSION,
  kind: 'Cluster',
  metadata: { name, labels: {}, annotations: {}, finalizers: [], ownerReferences: [] },
  spec: { provider: 'local', region: domain, capacity: { prods: 10 }, cordoned: false, draining: false, heartbeatGraceMs: 3000 },
});

/** Runs the simulated agent alongside the orchestrator (another component, not a synchronisation sleep). */
function runAgent(store: MemoryStore, opts: Parameters<typeof agentStep>[2] = {}): () => void {
  let on = true;
  const clock = new Clock();
  void (async () => {
    while (on) {
      await agentStep(store, clock.iso(), opts);
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  return () => (on = false);
}

describe('cluster lifecycle', () => {
  it('cordon, drain and uncordon set the spec the scheduler acts on', async () => {
    const store = new MemoryStore();
    await store.create(cluster('a'));
    assert.deepEqual((await setClusterState(store, 'a', 'cordon')).spec.cordoned, true);
    const d = await setClusterState(store, 'a', 'drain');
    assert.deepEqual([d.spec.cordoned, d.spec.draining], [true, true]);
    const u = await setClusterState(store, 'a', 'uncordon');
    assert.deepEqual([u.spec.cordoned, u.spec.draining], [false, false]);
    await assert.rejects(setClusterState(store, 'zz', 'cordon'), /Cluster "zz" not found/);
  });

  it('drain report lists tenants still on the cluster and redundancy it could not keep', () => {
    const { prods } = talkFleet();
    const tenants = [tenant('r1', 400, ['b-2'], { redundancy: 2 }), tenant('r2', 300, ['b-1', 'c-1'], { redundancy: 2 }), tenant('n1', 250, ['a-1'])];
    const t0 = tenants[0]!;
    t0.status!.reason = 'no capacity in a second domain';
    const r = drainReport('a', [cluster('a'), cluster('b'), cluster('c')], prods, tenants);
    assert.deepEqual(r.remaining, ['n1']);
    assert.equal(r.done, false);
    assert.deepEqual(r.degraded, [{ tenant: 'r1', prods: ['b-2'], domains: ['b'], reason: 'no capacity in a second domain' }]);
  });

  it('replace builds successors on NEW, swaps when they serve, retires OLD Prods', async () => {
    const store = new MemoryStore();
    for (const c of ['a', 'b', 'd']) await store.create(cluster(c));
    for (const p of [prod('a-1', 'a'), prod('a-2', 'a'), prod('b-1', 'b')]) await store.create(p);
    const stop = runAgent(store);
    const progress: ReplaceProgress[] = [];
    try {
      const res = await replaceCluster(store, 'a', 'd', { pollMs: 5, timeoutMs: 10_000, onProgress: (p) => progress.push(p) });
      assert.equal(res.ok, true, res.message);
      assert.equal(res.moved.length, 2);
    } finally {
      stop();
    }
    const prods = (await store.list<Prod>('Prod')).items;
    const onD = prods.filter((p) => p.spec.cluster === 'd');
    assert.deepEqual(onD.map((p) => p.spec.replaces).sort(), ['a-1', 'a-2']);
    assert.ok(onD.every((p) => p.spec.takeover && p.spec.version === 'v1' && !p.spec.retire));
    assert.ok(prods.filter((p) => p.spec.cluster === 'a').every((p) => p.spec.retire));
    assert.equal(prods.find((p) => p.metadata.name === 'b-1')?.spec.retire, false);
    assert.equal((await store.get<Cluster>('Cluster', 'a'))?.spec.cordoned, true);
    const steps = progress.map((p) => p.step);
    assert.equal(steps[0], 'cordoned');
    assert.ok(steps.lastIndexOf('swapped') < steps.indexOf('retired'), 'OLD Prods retire only after every successor took over');
  });

  it('reverts the successors when one fails: tenants stay on OLD', async () => {
    const store = new MemoryStore();
    for (const c of ['a', 'd']) await store.create(cluster(c));
    await store.create(prod('a-1', 'a'));
    const stop = runAgent(store, { skip: (p) => p.spec.cluster === 'd' });
    try {
      const waitForSucc = async () => {
        for (;;) {
          const s = (await store.list<Prod>('Prod')).items.find((p) => p.spec.cluster === 'd');
          if (s) return s;
          await new Promise((r) => setTimeout(r, 5));
        }
      };
      const running = replaceCluster(store, 'a', 'd', { pollMs: 5, timeoutMs: 10_000 });
      const s = await waitForSucc();
      await store.updateStatus({ ...s, status: { conditions: [], restarts: 3, warmupPassed: 0, phase: 'Failed', message: 'crash loop' } });
      const res = await running;
      assert.equal(res.ok, false);
      assert.match(res.message, /failed: crash loop/);
    } finally {
      stop();
    }
    const prods = (await store.list<Prod>('Prod')).items;
    assert.equal(prods.find((p) => p.metadata.name === 'a-1')?.spec.retire, false);
    assert.ok(prods.filter((p) => p.spec.cluster === 'd').every((p) => p.spec.retire && !p.spec.takeover));
  });
});
