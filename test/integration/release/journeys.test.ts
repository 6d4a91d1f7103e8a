/**
 * Sequences of operator actions around releases, against the real fleet and release controllers in the
 * runtime's Manager on a MemoryStore, with the agent simulated (Prods become Ready on their version,
 * retired ones report Retired): each step passed alone before, the sequences did not.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { Release, waveProgress } from '../../../src/api/kinds/release.js';
import { API_VERSION } from '../../../src/api/meta.js';
import { columnsFor } from '../../../src/cli/format/columns.js';
import { fleetController } from '../../../src/controllers/fleet-controller.js';
import { releaseController } from '../../../src/controllers/release-controller.js';
import { isDroverError } from '../../../src/errors.js';
import { replaceCluster } from '../../../src/lifecycle/replace.js';
import { formatStatus } from '../../../src/cli/format/release.js';
import { awaitAction, requestAction } from '../../../src/release/operations.js';
import { Manager } from '../../../src/runtime/manager.js';
import { MemoryStore } from '../../../src/store/memory/memory-store.js';
import { addReadyCluster, shopFleet, simulateAgent, type SimulatedAgent } from '../../helpers/simulated-fleet.js';
import { waitFor } from '../../helpers/wait-for.js';

const addCluster = (store: MemoryStore, name: string) => addReadyCluster(store, name, 6);

const releaseDoc = (name: string, version: string, bake: string): Release =>
  Release.parse({ apiVersion: API_VERSION, kind: 'Release', metadata: { name }, spec: { fleet: 'shop', version, maxParallel: 3, bake, gates: [] } });

describe('release journeys (fleet + release controllers, simulated agent)', () => {
  let store: MemoryStore;
  let manager: Manager;
  let agent: SimulatedAgent;
  /** Where the simulated agent says each version's Prods answer (none: no endpoint). */
  let endpoints: Record<string, string>;

  const rel = async (n: string) => (await store.get('Release', n))!;
  const live = async () => (await store.list('Prod')).items.filter((p) => !p.spec.retire);
  const releaseEnds = (n: string) =>
    waitFor(`release ${n} to end`, async () => {
      const r = await rel(n);
      return ['Succeeded', 'RolledBack', 'Failed', 'Aborted'].includes(r.status?.phase ?? '') ? r : undefined;
    }, { timeoutMs: 20_000 });

  beforeEach(async () => {
    store = new MemoryStore();
    for (const c of ['a', 'b', 'c']) await addCluster(store, c);
    await store.create(shopFleet());
    endpoints = {};
    agent = simulateAgent(store, { endpoint: (p) => endpoints[p.spec.version] });
    manager = new Manager({ store, reconcilers: [fleetController(), releaseController({ pollMs: 20 })], logger: { log: () => {} } });
    manager.start();
    await waitFor('six Ready Prods', async () => ((await live()).filter((p) => p.status?.phase === 'Ready').length === 6 ? true : undefined), { timeoutMs: 20_000 });
  });

  afterEach(async () => {
    await agent.stop();
    await manager.stop();
  });

  it('release, then cluster replace: the Prods the release created move (they were skipped before)', async () => {
    await store.create(releaseDoc('shop-v2', 'v2', '50ms'));
    assert.equal((await releaseEnds('shop-v2')).status?.phase, 'Succeeded');
    await waitFor('the v1 Prods to be deleted', async () => ((await store.list('Prod')).items.length === 6 ? true : undefined), { timeoutMs: 20_000 });
    const onA = (await live()).filter((p) => p.spec.cluster === 'a');
    assert.ok(onA.length > 0 && onA.every((p) => p.spec.replaces !== undefined), 'the Prods on a are successors a release created');

    await addCluster(store, 'd');
    // d is a new failure domain: the fleet may first spread a Prod onto it (fleet rule 7). Let that settle,
    // so that replace does not meet a Prod mid-move (it would rightly skip it and say so).
    await waitFor('the fleet settled after d joined', async () => {
      const ps = await live();
      const names = new Set(ps.map((p) => p.metadata.name));
      const onD = ps.some((p) => p.spec.cluster === 'd');
      return onD && ps.length === 6 && ps.every((p) => p.spec.replaces === undefined || !names.has(p.spec.replaces)) ? true : undefined;
    }, { timeoutMs: 20_000 });
    const stillOnA = (await live()).filter((p) => p.spec.cluster === 'a');
    const res = await replaceCluster(store, 'a', 'd', { pollMs: 10, timeoutMs: 20_000 });
    assert.equal(res.ok, true, res.message);
    assert.deepEqual(res.skipped, []);
    assert.deepEqual(res.moved.map((m) => m.from).sort(), stillOnA.map((p) => p.metadata.name).sort());
    assert.ok(stillOnA.length > 0 && stillOnA.every((p) => p.spec.replaces !== undefined), 'release-made Prods are among those moved');
    const after = await waitFor('the Prods on a to be gone', async () => {
      const ps = await live();
      // …and no successor in flight (a spread-back move may be under way).
      return ps.some((p) => p.spec.cluster === 'a') || ps.length !== 6 ? undefined : ps;
    }, { timeoutMs: 20_000 });
    // d is a new failure domain: besides the moved Prods, the fleet may spread one more onto it (fleet rule 7).
    assert.ok(after.filter((p) => p.spec.cluster === 'd').length >= onA.length);
    assert.equal(after.length, 6);
  });

  it('replace during a release leaves that fleet\'s Prods, says why, and is not ok', async () => {
    await store.create(releaseDoc('slow', 'v2', '1h'));
    await waitFor('wave 0 baking', async () => ((await rel('slow')).status?.waves[0]?.state === 'Baking' ? true : undefined), { timeoutMs: 20_000 });
    await addCluster(store, 'd');
    const res = await replaceCluster(store, 'a', 'd', { pollMs: 10, timeoutMs: 5_000 });
    assert.equal(res.ok, false);
    assert.equal(res.moved.length, 0);
    assert.ok(res.skipped.length > 0 && res.skipped.every((s) => /release slow in progress/.test(s.reason)), JSON.stringify(res.skipped));
    assert.match(res.message, /not moved/);
  });

  it('deleting the Fleet mid-release ends the release (Aborted, FleetDeleted) instead of Progressing forever', async () => {
    await store.create(releaseDoc('orphan', 'v2', '1h'));
    await waitFor('wave 0 baking', async () => ((await rel('orphan')).status?.waves[0]?.state === 'Baking' ? true : undefined), { timeoutMs: 20_000 });
    await store.delete('Fleet', 'shop');
    const r = await releaseEnds('orphan');
    assert.equal(r.status?.phase, 'Aborted');
    assert.equal(r.status?.decisions.at(-1)?.action, 'FleetDeleted');
    assert.equal(r.status?.waves[0]?.state, 'Failed');
  });

  it('abort of an active release acts (the command waits for it); abort and rollback of a finished one refuse and say what to do', async () => {
    await store.create(releaseDoc('stopme', 'v2', '1h'));
    await waitFor('wave 0 baking', async () => ((await rel('stopme')).status?.waves[0]?.state === 'Baking' ? true : undefined), { timeoutMs: 20_000 });
    await requestAction(store, 'stopme', 'abort');
    const res = await awaitAction(store, 'stopme', 'abort', { timeoutMs: 10_000, pollMs: 10 });
    assert.equal(res.ok, true, res.message);
    assert.equal(res.release.status?.phase, 'Aborted');
    assert.match(res.message, /Aborted/);

    const refused = async (name: string, action: 'abort' | 'rollback' | 'resume' | 'promote') => {
      try {
        await requestAction(store, name, action);
      } catch (e) {
        if (isDroverError(e, 'DROVER_E_UNPROCESSABLE')) return e;
        throw e;
      }
      throw new Error(`${action} of ${name} was accepted`);
    };
    assert.match((await refused('stopme', 'abort')).message, /already ended \(Aborted\)/);

    await store.create(releaseDoc('done', 'v2', '50ms'));
    assert.equal((await releaseEnds('done')).status?.phase, 'Succeeded');
    const rb = await refused('done', 'rollback');
    assert.match(rb.message, /succeeded/);
    assert.equal(rb.fix, 'release the previous version, with waves and gates like any release: drover release start shop --version v1');
    await refused('done', 'abort');
    await refused('done', 'resume');
    assert.equal((await rel('done')).spec.action, 'none', 'nothing was written');
  });

  it('with no user traffic at all, the probes decide: a version failing half its requests rolls back, a good one succeeds', async () => {
    const apps: Server[] = [];
    const serve = async (failEvery: number) => {
      let n = 0;
      const s = createServer((_req, res) => void res.writeHead(failEvery > 0 && ++n % failEvery === 0 ? 500 : 200).end());
      await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
      apps.push(s);
      return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
    };
    try {
      endpoints = { v1: await serve(0), v2: await serve(2), v3: await serve(0) };
      const gated = (name: string, version: string) =>
        Release.parse({ apiVersion: API_VERSION, kind: 'Release', metadata: { name }, spec: { fleet: 'shop', version, maxParallel: 3, bake: '1s', probes: { rate: 50 } } });
      await store.create(gated('bad', 'v2'));
      const bad = await releaseEnds('bad');
      assert.equal(bad.status?.phase, 'RolledBack', JSON.stringify(bad.status?.decisions.slice(-3)));
      const failed = bad.status?.decisions.find((d) => d.action === 'GatesFailed');
      assert.match(failed?.reason ?? '', /users: no edge stats URLs configured; probes: error rate [3-6]\d\.\d\d%/);
      assert.ok((await live()).every((p) => p.spec.version === 'v1'), 'tenants back on v1 Prods only');

      await store.create(gated('good', 'v3'));
      const good = await releaseEnds('good');
      assert.equal(good.status?.phase, 'Succeeded', JSON.stringify(good.status?.decisions.slice(-3)));
    } finally {
      for (const s of apps) {
        s.closeAllConnections();
        s.close();
      }
    }
  });

  it('two releases of one fleet started together run one after the other (neither waits for the other forever)', async () => {
    await store.create(releaseDoc('first', 'v2', '50ms'));
    await store.create(releaseDoc('second', 'v3', '50ms'));
    const [a, b] = [await releaseEnds('first'), await releaseEnds('second')];
    assert.deepEqual([a.status?.phase, b.status?.phase], ['Succeeded', 'Succeeded']);
    assert.ok(b.status?.decisions.some((d) => d.action === 'Waiting' && /release first/.test(d.reason)), JSON.stringify(b.status?.decisions.slice(0, 2)));
    assert.equal((await store.get('Fleet', 'shop'))?.spec.version, 'v3');
  });

  it('one wave counter: `get releases` and `release status` agree at every step', async () => {
    await store.create(releaseDoc('count', 'v2', '50ms'));
    const wavesCol = columnsFor('Release', false).find((c) => c.header === 'WAVES')!;
    const seen = new Set<string>();
    await waitFor('the release to end while comparing the counters', async () => {
      const r = await rel('count');
      const p = waveProgress(r);
      if (p.total > 0) {
        const col = wavesCol.value(r, Date.now());
        const line = /Waves: (\d+\/\d+) passed/.exec(formatStatus(r))?.[1];
        assert.equal(col, line);
        seen.add(col);
      }
      return r.status?.phase === 'Succeeded' ? true : undefined;
    }, { timeoutMs: 20_000, intervalMs: 5 });
    assert.ok(seen.has('0/3') || seen.has('1/3'), [...seen].join(' '));
    assert.equal(wavesCol.value(await rel('count'), Date.now()), '3/3');
  });
});
