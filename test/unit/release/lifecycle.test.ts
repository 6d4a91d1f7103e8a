import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { API_VERSION } from '../../../src/api/meta.js';
import type { Cluster } from '../../../src/api/kinds/cluster.js';
import { Release } from '../../../src/api/kinds/release.js';
import { cordonMessage, drainReport, setClusterState } from '../../../src/lifecycle/cluster-ops.js';
import { replaceCandidates, replaceCluster, type ReplaceProgress } from '../../../src/lifecycle/replace.js';
import { MemoryStore } from '../../../src/store/memory/memory-store.js';
import { prod, talkFleet, tenant } from '../../helpers/fixtures.js';
import { agentStep, Clock } from './sim.js';
import { waitFor } from '../../helpers/wait-for.js';

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
    const tenants = [tenant('r1', { fleet: 'shop', users: 400, prods: ['b-2'], hosts: ['r1.example.com'], redundancy: 2 }), tenant('r2', { fleet: 'shop', users: 300, prods: ['b-1', 'c-1'], hosts: ['r2.example.com'], redundancy: 2 }), tenant('n1', { fleet: 'shop', users: 250, prods: ['a-1'], hosts: ['n1.example.com'] })];
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
    for (const p of [prod('a-1', { fleet: 'shop', cluster: 'a' }), prod('a-2', { fleet: 'shop', cluster: 'a' }), prod('b-1', { fleet: 'shop', cluster: 'b' })]) await store.create(p);
    const stop = runAgent(store);
    const progress: ReplaceProgress[] = [];
    try {
      const res = await replaceCluster(store, 'a', 'd', { pollMs: 5, timeoutMs: 10_000, onProgress: (p) => progress.push(p) });
      assert.equal(res.ok, true, res.message);
      assert.equal(res.moved.length, 2);
    } finally {
      stop();
    }
    const prods = (await store.list('Prod')).items;
    const onD = prods.filter((p) => p.spec.cluster === 'd');
    assert.deepEqual(onD.map((p) => p.spec.replaces).sort(), ['a-1', 'a-2']);
    assert.ok(onD.every((p) => p.spec.takeover && p.spec.version === 'v1' && !p.spec.retire));
    assert.ok(prods.filter((p) => p.spec.cluster === 'a').every((p) => p.spec.retire));
    assert.equal(prods.find((p) => p.metadata.name === 'b-1')?.spec.retire, false);
    assert.equal((await store.get('Cluster', 'a'))?.spec.cordoned, true);
    const steps = progress.map((p) => p.step);
    assert.equal(steps[0], 'cordoned');
    assert.ok(steps.lastIndexOf('swapped') < steps.indexOf('retired'), 'OLD Prods retire only after every successor took over');
  });

  it('reverts the successors when one fails: tenants stay on OLD', async () => {
    const store = new MemoryStore();
    for (const c of ['a', 'd']) await store.create(cluster(c));
    await store.create(prod('a-1', { fleet: 'shop', cluster: 'a' }));
    const stop = runAgent(store, { skip: (p) => p.spec.cluster === 'd' });
    try {
      const running = replaceCluster(store, 'a', 'd', { pollMs: 5, timeoutMs: 10_000 });
      const s = await waitFor('the successor on d', async () => (await store.list('Prod')).items.find((p) => p.spec.cluster === 'd'), { intervalMs: 5 });
      await store.updateStatus({ ...s, status: { conditions: [], restarts: 3, warmupPassed: 0, phase: 'Failed', message: 'crash loop' } });
      const res = await running;
      assert.equal(res.ok, false);
      assert.match(res.message, /failed: crash loop/);
    } finally {
      stop();
    }
    const prods = (await store.list('Prod')).items;
    assert.equal(prods.find((p) => p.metadata.name === 'a-1')?.spec.retire, false);
    assert.ok(prods.filter((p) => p.spec.cluster === 'd').every((p) => p.spec.retire && !p.spec.takeover));
  });

  it('replace moves finished successors (predecessor gone or retiring) and leaves swaps in flight and releasing fleets, with reasons', () => {
    const succ = (name: string, cluster: string, replaces: string, fleet = 'shop') => ({ ...prod(name, { cluster: cluster, fleet }), spec: { ...prod(name, { cluster: cluster, fleet }).spec, replaces, takeover: true } });
    const retired = { ...prod('old-1', { fleet: 'shop', cluster: 'b' }), spec: { ...prod('old-1', { fleet: 'shop', cluster: 'b' }).spec, retire: true } };
    const prods = [
      succ('a-1-v2', 'a', 'a-1'), // predecessor deleted: finished
      succ('a-2-v2', 'a', 'old-1'), // predecessor retiring: finished
      prod('a-3', { fleet: 'shop', cluster: 'a' }), // being replaced by b-3-new
      succ('b-3-new', 'b', 'a-3'),
      succ('a-4-new', 'a', 'b-9'), // in flight: its predecessor is live
      prod('b-9', { fleet: 'shop', cluster: 'b' }),
      prod('a-5', { cluster: 'a', fleet: 'other' }), // its fleet is releasing
      retired,
    ];
    const releasing = Release.parse({ apiVersion: API_VERSION, kind: 'Release', metadata: { name: 'other-v2' }, spec: { fleet: 'other', version: 'v2' }, status: { phase: 'Progressing' } });
    const done = Release.parse({ apiVersion: API_VERSION, kind: 'Release', metadata: { name: 'shop-v2' }, spec: { fleet: 'shop', version: 'v2' }, status: { phase: 'Succeeded' } });
    const { move, skip } = replaceCandidates('a', prods, [releasing, done]);
    assert.deepEqual(move.map((p) => p.metadata.name), ['a-1-v2', 'a-2-v2']);
    assert.deepEqual(skip.map((s) => s.prod), ['a-3', 'a-4-new', 'a-5']);
    assert.match(skip[0]!.reason, /b-3-new is taking over from it/);
    assert.match(skip[1]!.reason, /taking over from b-9/);
    assert.match(skip[2]!.reason, /release other-v2 in progress/);
  });

  it('cordon says when the cluster already was; a missing cluster is an error', async () => {
    const store = new MemoryStore();
    await store.create(cluster('a'));
    assert.equal(await cordonMessage(store, 'a', 'cordon'), 'cluster a cordoned');
    assert.equal(await cordonMessage(store, 'a', 'cordon'), 'cluster a already cordoned');
    assert.equal(await cordonMessage(store, 'a', 'uncordon'), 'cluster a uncordoned');
    await assert.rejects(cordonMessage(store, 'zz', 'cordon'), /Cluster "zz" not found/);
  });
});
