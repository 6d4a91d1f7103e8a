import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { API_VERSION } from '../../../src/api/meta.js';
import type { Fleet } from '../../../src/api/kinds/fleet.js';
import type { Gate, Release, ReleaseSpec } from '../../../src/api/kinds/release.js';
import { releaseController } from '../../../src/controllers/release-controller.js';
import type { GateCheck, GateVerdict } from '../../../src/release/gates/index.js';
import { MemoryStore } from '../../../src/store/memory/memory-store.js';
import { talkFleet } from '../../helpers/fixtures.js';
import { agentStep, Clock, drive, testContext } from './sim.js';

const fleetDoc = (): Fleet => ({
  apiVersion: API_VERSION,
  kind: 'Fleet',
  metadata: { name: 'shop', labels: {}, annotations: {}, finalizers: [], ownerReferences: [] },
  spec: {
    prods: 6,
    testProds: 1,
    version: 'v1',
    app: { command: 'node', args: [], env: {}, port: 8080, healthPath: '/healthz', replicas: 1 },
    placement: { spreadBy: 'domain', avoidProviders: [] },
    warmup: { requests: 3 },
  },
});

const releaseDoc = (name: string, spec: Partial<ReleaseSpec> = {}): Release => ({
  apiVersion: API_VERSION,
  kind: 'Release',
  metadata: { name, labels: {}, annotations: {}, finalizers: [], ownerReferences: [] },
  spec: {
    fleet: 'shop',
    version: 'v2',
    maxParallel: 2,
    bake: '30s',
    gates: [{ type: 'errorRate', max: 0.01, minRequests: 20 } satisfies Gate],
    warmup: { requests: 3 },
    autoRollback: true,
    env: {},
    paused: false,
    action: 'none',
    ...spec,
  },
});

describe('release controller', () => {
  let store: MemoryStore;
  let clock: Clock;
  let checks: GateCheck[];
  let verdict: (c: GateCheck) => GateVerdict;
  const pass = (): GateVerdict => ({ outcome: 'pass', results: [], reason: 'errorRate: 0.00%' });

  beforeEach(async () => {
    store = new MemoryStore();
    clock = new Clock();
    checks = [];
    verdict = pass;
    await store.create(fleetDoc());
    const { prods, tenants } = talkFleet();
    for (const p of prods) await store.create(p);
    for (const t of tenants) {
      const created = await store.create(t);
      await store.updateStatus({ ...created, status: t.status });
    }
    await agentStep(store, clock.iso());
  });

  const controller = () =>
    releaseController({
      now: clock.now,
      gates: async (c) => {
        checks.push(c);
        return verdict(c);
      },
    });
  const rel = async (n: string) => (await store.get('Release', n))!;
  const prodsNow = async () => (await store.list('Prod')).items;
  const world = () => agentStep(store, clock.iso());

  it('releases the talk fleet wave by wave in risk order and moves the Fleet to v2', async () => {
    const r = controller();
    const ctx = testContext(store);
    await store.create(releaseDoc('shop-v2'));
    // Never swap before a successor serves the new version: watch every takeover as it happens.
    const swappedEarly: string[] = [];
    const checkWorld = async () => {
      for (const p of await prodsNow()) if (p.spec.takeover && !(p.status?.phase === 'Ready' && p.status.version === 'v2')) swappedEarly.push(p.metadata.name);
      await world();
    };
    const bakeStart = clock.t;
    await drive(r, ctx, 'shop-v2', clock, async () => (await rel('shop-v2')).status?.phase === 'Succeeded', checkWorld);
    const st = (await rel('shop-v2')).status!;
    assert.deepEqual(st.waves.map((w) => w.prods), [['c-2'], ['c-1'], ['b-1', 'a-2'], ['a-1', 'b-2']]);
    assert.ok(st.waves.every((w) => w.state === 'Passed'));
    assert.deepEqual(swappedEarly, []);
    assert.ok(clock.t - bakeStart >= 4 * 30_000, 'each of the 4 waves baked 30s');
    assert.equal((await store.get('Fleet', 'shop'))?.spec.version, 'v2');
    const prods = await prodsNow();
    const live = prods.filter((p) => !p.spec.retire);
    assert.equal(live.length, 6);
    assert.ok(live.every((p) => p.spec.version === 'v2' && p.spec.takeover && p.spec.replaces !== undefined));
    assert.ok(prods.filter((p) => p.spec.retire).every((p) => p.spec.version === 'v1'));
    // The first gate compared the test Prod's successor with the five known-good Prods.
    assert.deepEqual([...(checks[0]?.baseline ?? [])].sort(), ['a-1', 'a-2', 'b-1', 'b-2', 'c-1']);
    assert.equal(checks[0]?.windowMs, 30_000);
    assert.deepEqual(st.decisions.map((d) => d.action).filter((a, i, all) => all.indexOf(a) === i), ['Planned', 'WaveStarted', 'Swapped', 'GatesPassed', 'Succeeded']);
    assert.ok(ctx.events.some((e) => e.reason === 'Succeeded' && e.type === 'Normal'));
  });

  it('never acts on stale status: a successor Ready on the old version is not swapped in', async () => {
    const r = controller();
    const ctx = testContext(store);
    await store.create(releaseDoc('shop-v2'));
    // The "agent" reports successors Ready but still on v1 (e.g. an old process answering).
    const staleWorld = async () => {
      for (const p of await prodsNow()) {
        if (p.spec.replaces && p.status?.phase !== 'Ready') {
          await store.updateStatus({ ...p, status: { conditions: [], restarts: 0, warmupPassed: 0, phase: 'Ready', version: 'v1', readySince: clock.iso(), observedGeneration: p.metadata.generation } });
        }
      }
    };
    for (let i = 0; i < 20; i++) {
      await staleWorld();
      await r.reconcile(ctx, 'shop-v2');
      clock.t += 250;
    }
    const st = (await rel('shop-v2')).status!;
    assert.equal(st.waves[0]?.state, 'Updating');
    assert.match(st.waves[0]?.reason ?? '', /waiting for c-2-v2-[0-9a-f]{4}\(Ready\)/);
    assert.ok((await prodsNow()).every((p) => !p.spec.takeover));
  });

  it('rolls back in one step when the first gate fails: tenants back on the known-good Prod', async () => {
    const r = controller();
    const ctx = testContext(store);
    verdict = () => ({ outcome: 'fail', results: [], reason: 'errorRate: error rate 50.00% (100/200) > 1.00%' });
    await store.create(releaseDoc('bad'));
    await drive(r, ctx, 'bad', clock, async () => (await rel('bad')).status?.phase === 'RolledBack', world);
    const st = (await rel('bad')).status!;
    assert.equal(st.waves[0]?.state, 'RolledBack');
    assert.equal(st.waves[1]?.state, 'Pending');
    const succ = (await prodsNow()).filter((p) => p.spec.replaces === 'c-2');
    assert.equal(succ.length, 1);
    assert.equal(succ[0]?.spec.takeover, false);
    assert.equal(succ[0]?.spec.retire, true);
    const c2 = (await prodsNow()).find((p) => p.metadata.name === 'c-2');
    assert.equal(c2?.spec.retire, false, 'the known-good Prod stays');
    assert.equal((await store.get('Fleet', 'shop'))?.spec.version, 'v1');
    const actions = st.decisions.map((d) => d.action);
    assert.deepEqual(actions.slice(-2), ['GatesFailed', 'RolledBack']);
    assert.match(st.decisions.at(-2)?.reason ?? '', /50\.00%/);
    assert.ok(ctx.events.some((e) => e.reason === 'RolledBack' && e.type === 'Warning'));
  });

  it('pauses on an inconclusive gate, bakes again on resume, and promote passes a baking wave', async () => {
    const r = controller();
    const ctx = testContext(store);
    verdict = () => ({ outcome: 'inconclusive', results: [], reason: 'errorRate: only 3 requests on c-2-v2 (need 20)' });
    await store.create(releaseDoc('slow', { maxParallel: 2 }));
    await drive(r, ctx, 'slow', clock, async () => (await rel('slow')).status?.phase === 'Paused', world);
    assert.equal((await rel('slow')).spec.paused, true);
    assert.match((await rel('slow')).status?.message ?? '', /only 3 requests/);
    const gateCalls = checks.length;
    await r.reconcile(ctx, 'slow');
    assert.equal(checks.length, gateCalls, 'no gate runs while paused');

    // resume: bakes again (30 s) before the gates run, then passes.
    verdict = pass;
    const resumed = await rel('slow');
    await store.update({ ...resumed, spec: { ...resumed.spec, paused: false } });
    const t0 = clock.t;
    await drive(r, ctx, 'slow', clock, async () => (await rel('slow')).status?.waves[0]?.state === 'Passed', world);
    assert.ok(clock.t - t0 >= 30_000);

    // wave 1 inconclusive again → promote.
    verdict = () => ({ outcome: 'inconclusive', results: [], reason: 'no data' });
    await drive(r, ctx, 'slow', clock, async () => (await rel('slow')).status?.phase === 'Paused', world);
    const paused = await rel('slow');
    await store.update({ ...paused, spec: { ...paused.spec, action: 'promote' } });
    await r.reconcile(ctx, 'slow');
    const after = await rel('slow');
    assert.equal(after.status?.waves[1]?.state, 'Passed');
    assert.equal(after.spec.action, 'none');
    assert.equal(after.spec.paused, false);
    assert.ok(after.status?.decisions.some((d) => d.action === 'Promoted'));
  });

  it('abort undoes the in-flight wave and stops', async () => {
    const r = controller();
    const ctx = testContext(store);
    await store.create(releaseDoc('stop'));
    await drive(r, ctx, 'stop', clock, async () => (await rel('stop')).status?.waves[0]?.state === 'Baking', world);
    const cur = await rel('stop');
    await store.update({ ...cur, spec: { ...cur.spec, action: 'abort' } });
    await r.reconcile(ctx, 'stop');
    const st = (await rel('stop')).status!;
    assert.equal(st.phase, 'Aborted');
    assert.equal(st.waves[0]?.state, 'RolledBack');
    assert.ok((await prodsNow()).filter((p) => p.spec.replaces).every((p) => p.spec.retire && !p.spec.takeover));
  });
});

describe('release controller: successors that never serve', () => {
  it('fails and rolls back the wave when a successor fails', async () => {
    const store = new MemoryStore();
    const clock = new Clock();
    await store.create(fleetDoc());
    const { prods, tenants } = talkFleet();
    for (const p of prods) await store.create(p);
    for (const t of tenants) await store.updateStatus({ ...(await store.create(t)), status: t.status });
    await agentStep(store, clock.iso());
    const r = releaseController({ now: clock.now, gates: async () => ({ outcome: 'pass', results: [], reason: 'ok' }) });
    const ctx = testContext(store);
    await store.create(releaseDoc('crash'));
    await r.reconcile(ctx, 'crash'); // plan
    await r.reconcile(ctx, 'crash'); // wave 0 successors
    const succ = (await store.list('Prod')).items.find((p) => p.spec.replaces === 'c-2')!;
    await store.updateStatus({ ...succ, status: { conditions: [], restarts: 5, warmupPassed: 0, phase: 'Failed', message: 'exit code 1' } });
    await r.reconcile(ctx, 'crash');
    const st = (await store.get('Release', 'crash'))!.status!;
    assert.equal(st.phase, 'RolledBack');
    assert.match(st.decisions.find((d) => d.action === 'GatesFailed')?.reason ?? '', /failed: exit code 1/);
    assert.equal((await store.get('Prod', succ.metadata.name))?.spec.retire, true);
  });
});
