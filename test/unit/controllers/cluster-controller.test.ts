import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Cluster } from '../../../src/api/kinds/cluster.js';
import { clusterController } from '../../../src/controllers/cluster-controller.js';
import { disruption, heartbeatVerdict } from '../../../src/controllers/cluster-health.js';
import { LoopLagMonitor } from '../../../src/controllers/loop-lag.js';
import { silentLogger } from '../../../src/runtime/logger.js';
import { Manager } from '../../../src/runtime/manager.js';
import { MemoryStore } from '../../../src/store/memory/memory-store.js';
import { FakeAgents } from '../../helpers/fake-agents.js';
import { cluster } from '../../helpers/fixtures.js';
import { waitFor } from '../../helpers/wait-for.js';
import { recordClusterPhases } from '../../helpers/cluster-phases.js';

describe('heartbeatVerdict', () => {
  const t0 = Date.UTC(2026, 0, 1);
  const at = (ms: number) => new Date(t0 + ms).toISOString();
  const base = { lastHeartbeat: at(0), arrivedAtMs: t0, graceMs: 3000, nowMs: t0, startedAtMs: t0 - 60_000, stalledMs: 0, previous: 'Ready' as const };
  it('is Unknown without a heartbeat, Ready within the grace of its arrival, NotReady after', () => {
    assert.deepEqual(heartbeatVerdict({ ...base, lastHeartbeat: undefined }), { phase: 'Unknown' });
    assert.deepEqual(heartbeatVerdict({ ...base, nowMs: t0 + 1000 }), { phase: 'Ready', recheckInMs: 2001 });
    assert.deepEqual(heartbeatVerdict({ ...base, nowMs: t0 + 3000 }), { phase: 'NotReady' });
  });

  it('judges by arrival on this control plane, not by the clock the agent wrote', () => {
    // Written 20 s "ago" by the agent's clock, but it arrived here just now: fresh.
    assert.equal(heartbeatVerdict({ ...base, lastHeartbeat: at(-20_000), nowMs: t0 + 1000 }).phase, 'Ready');
  });

  it('after a start, holds the stored phase for one grace before judging a heartbeat stored before it', () => {
    const restart = { ...base, lastHeartbeat: at(-20_000), arrivedAtMs: undefined, startedAtMs: t0 };
    assert.deepEqual(heartbeatVerdict({ ...restart, nowMs: t0 + 100 }), { phase: 'Ready', recheckInMs: 2901, held: 'StartupGrace' });
    assert.deepEqual(heartbeatVerdict({ ...restart, previous: 'NotReady', nowMs: t0 + 100 }).phase, 'NotReady', 'a dead cluster stays dead');
    assert.deepEqual(heartbeatVerdict({ ...restart, nowMs: t0 + 3000 }), { phase: 'NotReady' });
  });

  it('is not late because the control plane was stalled: the grace is extended by the stall', () => {
    assert.deepEqual(heartbeatVerdict({ ...base, nowMs: t0 + 3500, stalledMs: 2000 }), { phase: 'Ready', recheckInMs: 1501, held: 'LoopLag' });
    assert.deepEqual(heartbeatVerdict({ ...base, nowMs: t0 + 5000, stalledMs: 2000 }), { phase: 'NotReady' });
  });
});

describe('LoopLagMonitor', () => {
  it('sums the stalls after a time, counting only their part after it', () => {
    let now = 1000;
    const m = new LoopLagMonitor({ intervalMs: 100, toleranceMs: 50, now: () => now });
    m.tick(1000);
    m.tick(1100); // on time
    m.tick(2200); // 1000 ms late
    m.tick(2300);
    now = 2300;
    assert.equal(m.stalledSince(0), 1000);
    assert.equal(m.stalledSince(1900), 300, 'a heartbeat arriving 300 ms before the tick that ended the stall waited 300 ms');
    assert.equal(m.stalledSince(2200), 0);
  });
});

describe('disruption', () => {
  const c = (name: string, phase: 'Ready' | 'NotReady' | 'Unknown') => ({ ...cluster(name), status: { phase, prods: 0, conditions: [] } });
  it('is large when more than half of the clusters that ever heartbeated are NotReady', () => {
    assert.equal(disruption([c('a', 'NotReady'), c('b', 'Ready'), c('c', 'Ready')]).large, false);
    assert.equal(disruption([c('a', 'NotReady'), c('b', 'NotReady'), c('c', 'Ready')]).large, true);
    assert.equal(disruption([c('a', 'NotReady'), c('b', 'Ready'), c('c', 'Unknown')]).large, false, 'one of two known');
  });
});

describe('cluster controller', () => {
  it('turns NotReady within the grace with no further write, and back to Ready on a heartbeat', async () => {
    const store = new MemoryStore();
    const grace = 400;
    await store.create(cluster('tokyo', { spec: { heartbeatGraceMs: grace } }));
    await store.create(cluster('silent', { spec: { heartbeatGraceMs: grace } }));
    // This test is about the grace alone: a loaded test machine's stalls would (rightly) extend it.
    const m = new Manager({ store, reconcilers: [clusterController({ stalls: { stalledSince: () => 0 } })], logger: silentLogger });
    m.start();
    try {
      const phase = async (n: string) => (await store.get('Cluster', n))?.status?.phase;
      await waitFor('a cluster that never beat to be Unknown', async () => (await phase('silent')) === 'Unknown');

      const c = (await store.get('Cluster', 'tokyo'))!;
      const beat = Date.now();
      await store.updateStatus<Cluster>({ ...c, status: { ...c.status!, lastHeartbeat: new Date(beat).toISOString() } });
      await waitFor('Ready', async () => (await phase('tokyo')) === 'Ready');
      await waitFor('NotReady', async () => (await phase('tokyo')) === 'NotReady', { timeoutMs: 3000 });
      const late = Date.now() - beat;
      assert.ok(late < grace + 1500, `NotReady ${late} ms after the last heartbeat (grace ${grace} ms)`);
      const nr = (await store.get('Cluster', 'tokyo'))!;
      assert.equal(nr.status?.conditions.find((x) => x.type === 'Ready')?.status, 'False');

      await store.updateStatus<Cluster>({ ...nr, status: { ...nr.status, lastHeartbeat: new Date().toISOString() } });
      await waitFor('Ready again', async () => (await phase('tokyo')) === 'Ready');
      const reasons = (await store.list('Event')).items
        .filter((e) => e.spec.involvedObject.name === 'tokyo')
        .map((e) => `${e.spec.type}/${e.spec.reason}/${e.spec.count}`)
        .sort();
      assert.deepEqual(reasons, ['Normal/Ready/2', 'Warning/NotReady/1']); // Unknown is where a cluster starts: no transition
    } finally {
      await m.stop();
    }
  });

  it('counts the Prods bound to a cluster and reports capacity', async () => {
    const store = new MemoryStore();
    await store.create(cluster('osaka', { spec: { capacity: { prods: 1 } } }));
    const m = new Manager({ store, reconcilers: [clusterController()], logger: silentLogger });
    m.start();
    try {
      await store.create({
        apiVersion: 'drover.dev/v1alpha1',
        kind: 'Prod',
        metadata: { name: 'web-1', labels: {}, annotations: {}, finalizers: [], ownerReferences: [] },
        spec: { fleet: 'web', cluster: 'osaka', version: 'v1', role: 'normal', retire: false, env: {}, takeover: false },
      });
      const c = await waitFor('the Prod to be counted', async () => {
        const x = await store.get('Cluster', 'osaka');
        return x?.status?.prods === 1 ? x : undefined;
      });
      const sched = c.status?.conditions.find((x) => x.type === 'Schedulable');
      assert.equal(sched?.status, 'False');
      assert.equal(sched?.reason, 'Unknown'); // no heartbeat yet comes before capacity
    } finally {
      await m.stop();
    }
  });

  it('after a start over 20-s-old heartbeats, waits one grace: live clusters stay Ready, a silent one turns NotReady only after it', async () => {
    const store = new MemoryStore();
    const grace = 600;
    const stale = new Date(Date.now() - 20_000).toISOString();
    for (const n of ['live', 'silent']) {
      const c = await store.create(cluster(n, { spec: { heartbeatGraceMs: grace } }));
      await store.updateStatus<Cluster>({ ...c, status: { phase: 'Ready', prods: 0, conditions: [], lastHeartbeat: stale } });
    }
    const agents = new FakeAgents(store, 100);
    agents.alive.add('live');
    const { phases, stop: stopRecording } = await recordClusterPhases(store);
    const m = new Manager({ store, reconcilers: [clusterController({ stalls: { stalledSince: () => 0 } })], logger: silentLogger });
    const startedAt = Date.now();
    m.start();
    agents.start();
    try {
      await waitFor('silent NotReady', async () => (await store.get('Cluster', 'silent'))?.status?.phase === 'NotReady', { timeoutMs: 5000 });
      const after = Date.now() - startedAt;
      assert.ok(after >= grace, `silent judged ${after} ms after the start, not before one grace (${grace} ms)`);
      const held = (await store.list('Event')).items.filter((e) => e.spec.reason === 'VerdictHeld').map((e) => e.spec.involvedObject.name);
      assert.ok(held.includes('silent'), 'the held verdict is recorded');
      assert.equal((await store.get('Cluster', 'live'))?.status?.phase, 'Ready');
    } finally {
      await stopRecording();
      await agents.stop();
      await m.stop();
    }
    assert.ok(!phases.includes('live:NotReady'), `the live cluster was never NotReady: ${phases.join(' ')}`);
  });
});
