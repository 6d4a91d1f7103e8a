import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Cluster } from '../../../src/api/kinds/cluster.js';
import type { Event } from '../../../src/api/kinds/event.js';
import { createClusterController } from '../../../src/controllers/cluster-controller.js';
import { heartbeatVerdict } from '../../../src/controllers/cluster-health.js';
import { silentLogger } from '../../../src/runtime/logger.js';
import { Manager } from '../../../src/runtime/manager.js';
import { MemoryStore } from '../../../src/store/memory/memory-store.js';
import { cluster, waitFor } from './fixtures.js';

describe('heartbeatVerdict', () => {
  const t0 = Date.UTC(2026, 0, 1);
  const at = (ms: number) => new Date(t0 + ms).toISOString();
  it('is Unknown without a heartbeat, Ready within the grace, NotReady after', () => {
    assert.deepEqual(heartbeatVerdict(undefined, 3000, t0), { phase: 'Unknown' });
    assert.deepEqual(heartbeatVerdict(at(0), 3000, t0 + 1000), { phase: 'Ready', recheckInMs: 2001 });
    assert.deepEqual(heartbeatVerdict(at(0), 3000, t0 + 3000), { phase: 'NotReady' });
  });
});

describe('cluster controller', () => {
  it('turns NotReady within the grace with no further write, and back to Ready on a heartbeat', async () => {
    const store = new MemoryStore();
    const grace = 400;
    await store.create(cluster('tokyo', { heartbeatGraceMs: grace }));
    await store.create(cluster('silent', { heartbeatGraceMs: grace }));
    const m = new Manager({ store, reconcilers: [createClusterController()], logger: silentLogger });
    m.start();
    try {
      const phase = async (n: string) => (await store.get<Cluster>('Cluster', n))?.status?.phase;
      await waitFor('a cluster that never beat to be Unknown', async () => (await phase('silent')) === 'Unknown');

      const c = (await store.get<Cluster>('Cluster', 'tokyo'))!;
      const beat = Date.now();
      await store.updateStatus<Cluster>({ ...c, status: { ...c.status!, lastHeartbeat: new Date(beat).toISOString() } });
      await waitFor('Ready', async () => (await phase('tokyo')) === 'Ready');
      await waitFor('NotReady', async () => (await phase('tokyo')) === 'NotReady', 3000);
      const late = Date.now() - beat;
      assert.ok(late < grace + 1500, `NotReady ${late} ms after the last heartbeat (grace ${grace} ms)`);
      const nr = (await store.get<Cluster>('Cluster', 'tokyo'))!;
      assert.equal(nr.status?.conditions.find((x) => x.type === 'Ready')?.status, 'False');

      await store.updateStatus<Cluster>({ ...nr, status: { ...nr.status, lastHeartbeat: new Date().toISOString() } });
      await waitFor('Ready again', async () => (await phase('tokyo')) === 'Ready');
      const reasons = (await store.list<Event>('Event')).items
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
    await store.create(cluster('osaka', { capacity: { prods: 1 } }));
    const m = new Manager({ store, reconcilers: [createClusterController()], logger: silentLogger });
    m.start();
    try {
      await store.create({
        apiVersion: 'drover.dev/v1alpha1',
        kind: 'Prod',
        metadata: { name: 'web-1', labels: {}, annotations: {}, finalizers: [], ownerReferences: [] },
        spec: { fleet: 'web', cluster: 'osaka', version: 'v1', role: 'normal', retire: false, env: {}, takeover: false },
      });
      const c = await waitFor('the Prod to be counted', async () => {
        const x = await store.get<Cluster>('Cluster', 'osaka');
        return x?.status?.prods === 1 ? x : undefined;
      });
      const sched = c.status?.conditions.find((x) => x.type === 'Schedulable');
      assert.equal(sched?.status, 'False');
      assert.equal(sched?.reason, 'Unknown'); // no heartbeat yet comes before capacity
    } finally {
      await m.stop();
    }
  });
});
