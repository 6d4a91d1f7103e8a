import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { clusterDomain, type Cluster } from '../../../src/api/kinds/cluster.js';
import type { Fleet } from '../../../src/api/kinds/fleet.js';
import type { Prod } from '../../../src/api/kinds/prod.js';
import { clusterController } from '../../../src/controllers/cluster-controller.js';
import { fleetController } from '../../../src/controllers/fleet-controller.js';
import { prodController } from '../../../src/controllers/prod-controller.js';
import { silentLogger } from '../../../src/runtime/logger.js';
import { Manager } from '../../../src/runtime/manager.js';
import { MemoryStore } from '../../../src/store/memory/memory-store.js';
import { FakeAgents, prodsOf } from '../../helpers/fake-agents.js';
import { cluster, fleet } from '../../helpers/fixtures.js';
import { waitFor } from '../../helpers/wait-for.js';

// Generous enough that heartbeats of the simulated agents never miss it on a loaded machine.
const grace = 1000;

/** Three failure domains, four clusters (two in domain c). */
const topology = () => [
  cluster('tokyo', { spec: { region: 'tokyo', heartbeatGraceMs: grace } }),
  cluster('osaka', { spec: { region: 'osaka', heartbeatGraceMs: grace } }),
  cluster('onprem-1', { spec: { region: 'dc', domain: 'onprem', heartbeatGraceMs: grace } }),
  cluster('onprem-2', { spec: { region: 'dc', domain: 'onprem', heartbeatGraceMs: grace } }),
];

interface Env {
  store: MemoryStore;
  agents: FakeAgents;
  stop(): Promise<void>;
}

async function start(clusters: Cluster[]): Promise<Env> {
  const store = new MemoryStore();
  for (const c of clusters) await store.create(c);
  const agents = new FakeAgents(store);
  for (const c of clusters) agents.alive.add(c.metadata.name);
  agents.start();
  const m = new Manager({
    store,
    reconcilers: [clusterController(), fleetController({ retireTimeoutMs: 10_000, unplaceableRetryMs: 50 }), prodController()],
    logger: silentLogger,
  });
  m.start();
  await waitFor('every cluster Ready', async () =>
    (await store.list('Cluster')).items.every((c) => c.status?.phase === 'Ready'),
  );
  return {
    store,
    agents,
    async stop() {
      await agents.stop();
      await m.stop();
    },
  };
}

/** Waits until the fleet has exactly `n` Prods, all Ready, none retiring, and returns them. */
async function settled(store: MemoryStore, name: string, n: number, extra: (ps: Prod[]) => boolean = () => true): Promise<Prod[]> {
  return waitFor(`${n} Ready Prods of ${name}`, async () => {
    const ps = await prodsOf(store, name);
    return ps.length === n && ps.every((p) => p.status?.phase === 'Ready' && !p.spec.retire) && extra(ps) ? ps : undefined;
  });
}

async function domainsOf(store: MemoryStore, ps: Prod[]): Promise<Record<string, number>> {
  const clusters = new Map((await store.list('Cluster')).items.map((c) => [c.metadata.name, c]));
  const out: Record<string, number> = {};
  for (const p of ps) {
    const d = clusterDomain(clusters.get(p.spec.cluster)!);
    out[d] = (out[d] ?? 0) + 1;
  }
  return out;
}

async function setFleet(store: MemoryStore, name: string, change: (spec: Fleet['spec']) => Fleet['spec']): Promise<void> {
  const f = (await store.get('Fleet', name))!;
  await store.update<Fleet>({ ...f, spec: change(f.spec) });
}

describe('fleet controller', () => {
  let env: Env;
  before(async () => {
    env = await start(topology());
  });
  after(async () => {
    await env.stop();
  });

  it('keeps N Prods spread over three failure domains, test Prods first', async () => {
    const { store } = env;
    await store.create(fleet('web', { spec: { prods: 6, testProds: 1 } }));
    const ps = await settled(store, 'web', 6);
    assert.deepEqual(await domainsOf(store, ps), { tokyo: 2, osaka: 2, onprem: 2 });
    assert.equal(ps.filter((p) => p.spec.role === 'test').length, 1);
    const f = (await store.get('Fleet', 'web'))!;
    for (const p of ps) {
      assert.match(p.metadata.name, /^web-[a-z0-9]{5}$/);
      assert.deepEqual(p.metadata.ownerReferences.map((r) => [r.kind, r.name, r.uid]), [['Fleet', 'web', f.metadata.uid]]);
    }
    const st = await waitFor('fleet status', async () => {
      const x = (await store.get('Fleet', 'web'))!.status;
      return x?.readyProds === 6 ? x : undefined;
    });
    assert.deepEqual(st.versions, { v1: 6 });
    assert.equal(st.conditions.find((c) => c.type === 'Available')?.status, 'True');
  });

  it('keeps the Prods of a NotReady cluster (Unknown) until its eviction timeout, then replaces them; spreads back when it returns', async () => {
    const { store, agents } = env;
    const evictionTimeoutMs = 2500;
    const osaka = (await store.get('Cluster', 'osaka'))!;
    await store.update<Cluster>({ ...osaka, spec: { ...osaka.spec, evictionTimeoutMs } });
    const before = await settled(store, 'web', 6);
    const lost = before.filter((p) => p.spec.cluster === 'osaka').map((p) => p.metadata.name);
    assert.equal(lost.length, 2);
    agents.alive.delete('osaka'); // the agent stops: no more heartbeats
    await waitFor('osaka NotReady', async () => (await store.get('Cluster', 'osaka'))?.status?.phase === 'NotReady');
    const notReadyAt = Date.now();
    const unknown = await waitFor('its Prods Unknown', async () => {
      const ps = (await prodsOf(store, 'web')).filter((p) => lost.includes(p.metadata.name));
      return ps.length === 2 && ps.every((p) => p.status?.conditions.find((c) => c.type === 'ClusterReady')?.reason === 'ClusterUnreachable') ? ps : undefined;
    });
    for (const p of unknown) {
      assert.equal(p.spec.retire, false, 'not retired while unreachable');
      assert.equal(p.status?.phase, 'Ready', 'the phase the agent last reported stands');
      assert.equal(p.status?.conditions.find((c) => c.type === 'Ready')?.status, 'Unknown');
    }
    assert.equal((await prodsOf(store, 'web')).length, 6, 'nothing built in their stead, nothing destroyed');

    const after = await settled(store, 'web', 6, (ps) => ps.every((p) => p.spec.cluster !== 'osaka'));
    const took = Date.now() - notReadyAt;
    assert.ok(took >= evictionTimeoutMs - 200, `replaced ${took} ms after NotReady, not before the ${evictionTimeoutMs} ms timeout`);
    assert.ok(after.every((p) => !lost.includes(p.metadata.name)), 'the lost Prods are gone');
    assert.deepEqual(await domainsOf(store, after), { tokyo: 3, onprem: 3 });

    // Back: the fleet spreads over osaka again through successors, never with fewer than 6 serving.
    const watching = new AbortController();
    const prods = new Map((await prodsOf(store, 'web')).map((p) => [p.metadata.name, p]));
    let minServing = Infinity;
    const watch = (async () => {
      const rv = await store.revision();
      for await (const ev of store.watch({ kind: 'Prod', resourceVersion: rv, signal: watching.signal })) {
        const p = ev.object as Prod;
        if (ev.type === 'DELETED') prods.delete(p.metadata.name);
        else prods.set(p.metadata.name, p);
        const serving = [...prods.values()].filter((x) => x.spec.fleet === 'web' && x.status?.phase === 'Ready' && !x.spec.retire).length;
        minServing = Math.min(minServing, serving);
      }
    })();
    agents.alive.add('osaka');
    const spread = await settled(store, 'web', 6, (ps) => ps.filter((p) => p.spec.cluster === 'osaka').length === 2);
    watching.abort();
    await watch;
    assert.deepEqual(await domainsOf(store, spread), { tokyo: 2, osaka: 2, onprem: 2 });
    assert.ok(minServing >= 6, `at least 6 Ready Prods throughout the spread-back (min ${minServing})`);
    for (const p of spread.filter((x) => x.spec.cluster === 'osaka')) assert.ok(p.spec.replaces !== undefined, 'moved through a successor');
  });

  it('retires extras and never places on cordoned or draining clusters', async () => {
    const { store } = env;
    for (const [name, flag] of [['tokyo', 'cordoned'], ['onprem-1', 'draining']] as const) {
      const c = (await store.get('Cluster', name))!;
      await store.update<Cluster>({ ...c, spec: { ...c.spec, [flag]: true } });
    }
    await setFleet(store, 'web', (s) => ({ ...s, prods: 2, testProds: 0 }));
    const two = await settled(store, 'web', 2);
    assert.equal(two.filter((p) => p.spec.role === 'test').length, 0);
    const known = new Set(two.map((p) => p.metadata.name));
    await setFleet(store, 'web', (s) => ({ ...s, prods: 5 }));
    const five = await settled(store, 'web', 5);
    for (const p of five.filter((x) => !known.has(x.metadata.name))) {
      assert.ok(['osaka', 'onprem-2'].includes(p.spec.cluster), `new Prod ${p.metadata.name} placed on ${p.spec.cluster}`);
    }
    for (const name of ['tokyo', 'onprem-1']) {
      const c = (await store.get('Cluster', name))!;
      await store.update<Cluster>({ ...c, spec: { ...c.spec, cordoned: false, draining: false } });
    }
  });

  it('rolls a version change one Prod at a time with replaces and takeover', async () => {
    const { store, agents } = env;
    await setFleet(store, 'web', (s) => ({ ...s, prods: 3, testProds: 0 }));
    const old = await settled(store, 'web', 3);
    // Watch every change to check the invariant at each step, not just at samples.
    const watching = new AbortController();
    const prods = new Map(old.map((p) => [p.metadata.name, p]));
    let maxInFlight = 0;
    let maxCounted = 0;
    const sawTakeover = new Set<string>();
    const watch = (async () => {
      const rv = await store.revision();
      for await (const ev of store.watch({ kind: 'Prod', resourceVersion: rv, signal: watching.signal })) {
        const p = ev.object as Prod;
        if (ev.type === 'DELETED') prods.delete(p.metadata.name);
        else prods.set(p.metadata.name, p);
        if (p.spec.takeover) sawTakeover.add(p.metadata.name);
        const live = (n: string | undefined) => n !== undefined && prods.get(n)?.spec.retire === false;
        const inFlight = [...prods.values()].filter((x) => x.spec.fleet === 'web' && live(x.spec.replaces) && !x.spec.retire).length;
        maxInFlight = Math.max(maxInFlight, inFlight);
        const counted = [...prods.values()].filter((x) => x.spec.fleet === 'web' && !x.spec.retire && !live(x.spec.replaces)).length;
        maxCounted = Math.max(maxCounted, counted);
      }
    })();
    // Slow readiness a little so that overlapping successors would show.
    agents.ready = (p) => p.spec.version !== 'v2' || Date.now() - Date.parse(p.metadata.creationTimestamp ?? '') > 60;
    await setFleet(store, 'web', (s) => ({ ...s, version: 'v2' }));
    const rolled = await settled(store, 'web', 3, (ps) => ps.every((p) => p.spec.version === 'v2'));
    watching.abort();
    await watch;
    agents.ready = () => true;
    assert.equal(maxInFlight, 1, 'one successor at a time');
    assert.equal(maxCounted, 3, 'no extra Prod is created (and retired) along the way');
    const oldNames = new Set(old.map((p) => p.metadata.name));
    for (const p of rolled) {
      assert.ok(p.spec.replaces !== undefined && oldNames.has(p.spec.replaces), `${p.metadata.name} replaces an old Prod`);
      assert.ok(sawTakeover.has(p.metadata.name), `${p.metadata.name} took over`);
      assert.equal(p.spec.cluster, old.find((o) => o.metadata.name === p.spec.replaces)?.spec.cluster, 'same cluster as its predecessor');
    }
    const st = await waitFor('versions in status', async () => {
      const x = (await store.get('Fleet', 'web'))!.status;
      return x?.versions.v2 === 3 ? x : undefined;
    });
    assert.deepEqual(st.versions, { v2: 3 });
  });

  it('leaves version changes to an active Release', async () => {
    const { store } = env;
    await store.create({
      apiVersion: 'drover.dev/v1alpha1',
      kind: 'Release',
      metadata: { name: 'web-v3', labels: {}, annotations: {}, finalizers: [], ownerReferences: [] },
      spec: { fleet: 'web', version: 'v3' },
    });
    await setFleet(store, 'web', (s) => ({ ...s, version: 'v3' }));
    await waitFor('the Progressing condition to name the release', async () =>
      (await store.get('Fleet', 'web'))!.status?.conditions.some((c) => c.type === 'Progressing' && c.reason === 'ReleaseActive'),
    );
    const ps = await prodsOf(store, 'web');
    assert.equal(ps.length, 3);
    assert.ok(ps.every((p) => p.spec.version === 'v2'));
    await store.delete('Release', 'web-v3');
  });

  it('retires and deletes the Prods of a deleted Fleet', async () => {
    const { store } = env;
    assert.ok((await prodsOf(store, 'web')).length > 0);
    await store.delete('Fleet', 'web');
    await waitFor('no Prod of web left', async () => (await prodsOf(store, 'web')).length === 0);
  });
});
