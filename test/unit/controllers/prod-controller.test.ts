import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Cluster } from '../../../src/api/kinds/cluster.js';
import type { Prod } from '../../../src/api/kinds/prod.js';
import { prodController } from '../../../src/controllers/prod-controller.js';
import { decideProd } from '../../../src/controllers/prod-lifecycle.js';
import { silentLogger } from '../../../src/runtime/logger.js';
import { Manager } from '../../../src/runtime/manager.js';
import { MemoryStore } from '../../../src/store/memory/memory-store.js';
import { cluster } from '../../helpers/fixtures.js';
import { waitFor } from '../../helpers/wait-for.js';

const T = Date.UTC(2026, 0, 1);

function prod(spec: Partial<Prod['spec']> = {}, status?: Prod['status']): Prod {
  return {
    apiVersion: 'drover.dev/v1alpha1',
    kind: 'Prod',
    metadata: { name: 'web-abcde', labels: {}, annotations: {}, finalizers: [], ownerReferences: [] },
    spec: { fleet: 'web', cluster: 'tokyo', version: 'v1', role: 'normal', retire: false, env: {}, takeover: false, ...spec },
    ...(status ? { status } : {}),
  };
}

const readyCluster: Cluster = { ...cluster('tokyo'), status: { phase: 'Ready', prods: 1, conditions: [] } };
const deadCluster: Cluster = { ...cluster('tokyo'), status: { phase: 'NotReady', prods: 1, conditions: [] } };

/** Applies decisions until they settle, as repeated reconciles would; returns every event. */
function settle(p: Prod, c: Cluster | undefined): { prod: Prod; events: string[] } {
  const events: string[] = [];
  for (let i = 0; i < 5; i++) {
    const d = decideProd(p, c, T + i);
    events.push(...d.events.map((e) => `${e.type}/${e.reason}`));
    if (JSON.stringify(d.status) === JSON.stringify(p.status)) return { prod: p, events };
    p = { ...p, status: d.status };
  }
  assert.fail('decisions did not settle');
}

describe('decideProd', () => {
  it('announces each phase once, with the Ready condition', () => {
    const pending = settle(prod(), readyCluster);
    assert.deepEqual(pending.events, ['Normal/Pending']);
    const ready = settle({ ...pending.prod, status: { ...pending.prod.status!, phase: 'Ready', endpoint: 'http://x' } }, readyCluster);
    assert.deepEqual(ready.events, ['Normal/Ready']);
    const cond = ready.prod.status?.conditions.find((c) => c.type === 'Ready');
    assert.equal(cond?.status, 'True');
  });

  it('drains a retiring Ready Prod; leaves a retiring Provisioning one to the agent', () => {
    const draining = settle(prod({ retire: true }, { phase: 'Ready', restarts: 0, warmupPassed: 3, conditions: [] }), readyCluster);
    assert.equal(draining.prod.status?.phase, 'Draining');
    assert.deepEqual(draining.events, ['Normal/Draining']);
    const early = settle(prod({ retire: true }, { phase: 'Provisioning', restarts: 0, warmupPassed: 0, conditions: [] }), readyCluster);
    assert.equal(early.prod.status?.phase, 'Provisioning');
  });

  it('marks a Prod of a vanished or deleting cluster Failed with a warning', () => {
    const deleting: Cluster = { ...deadCluster, metadata: { ...deadCluster.metadata, deletionTimestamp: new Date(0).toISOString() } };
    for (const c of [deleting, undefined]) {
      const lost = settle(prod({}, { phase: 'Ready', restarts: 0, warmupPassed: 3, conditions: [] }), c);
      assert.equal(lost.prod.status?.phase, 'Failed');
      assert.match(lost.prod.status?.message ?? '', /replaced, not repaired/);
      assert.deepEqual(lost.events, ['Warning/Failed', 'Warning/ClusterNotReady']);
      assert.equal(lost.prod.status?.conditions.find((x) => x.type === 'ClusterReady')?.status, 'False');
    }
  });

  it('marks a Prod of a NotReady cluster Unknown, not Failed: unreachable is not gone', () => {
    const r = settle(prod({}, { phase: 'Ready', restarts: 0, warmupPassed: 3, conditions: [] }), deadCluster);
    assert.equal(r.prod.status?.phase, 'Ready', 'the phase the agent last reported stands');
    assert.equal(r.prod.status?.conditions.find((x) => x.type === 'Ready')?.status, 'Unknown');
    const cr = r.prod.status?.conditions.find((x) => x.type === 'ClusterReady');
    assert.deepEqual([cr?.status, cr?.reason], ['Unknown', 'ClusterUnreachable']);
    assert.ok(r.events.includes('Warning/ClusterUnreachable'));
    assert.ok(!r.events.includes('Warning/Failed'));
    // Back: Ready again, and no Failed on the way.
    const back = settle(r.prod, { ...deadCluster, status: { phase: 'Ready', prods: 1, conditions: [] } });
    assert.equal(back.prod.status?.conditions.find((x) => x.type === 'Ready')?.status, 'True');
    assert.equal(back.prod.status?.conditions.find((x) => x.type === 'ClusterReady')?.status, 'True');
  });

  it('does not call a cluster that has not heartbeated yet dead', () => {
    const r = settle(prod(), cluster('tokyo'));
    assert.equal(r.prod.status?.phase, 'Pending');
    assert.equal(r.prod.status?.conditions.find((x) => x.type === 'ClusterReady')?.status, 'Unknown');
  });
});

describe('prod controller', () => {
  it('records one event per transition, and sets Draining on retire', async () => {
    const store = new MemoryStore();
    await store.create(readyCluster);
    await store.create(prod());
    const m = new Manager({ store, reconcilers: [prodController()], logger: silentLogger });
    m.start();
    try {
      const get = async () => (await store.get('Prod', 'web-abcde'))!;
      const agentWrites = async (phase: NonNullable<Prod['status']>['phase']) => {
        for (;;) {
          const p = await get();
          try {
            await store.updateStatus<Prod>({ ...p, status: { ...p.status!, phase } });
            return;
          } catch {
            // a concurrent controller write: read again, as the agent does
          }
        }
      };
      await waitFor('Pending announced', async () => (await get()).status?.conditions.some((c) => c.type === 'Ready' && c.reason === 'Pending'));
      for (const phase of ['Provisioning', 'WarmingUp', 'Ready'] as const) {
        await agentWrites(phase);
        await waitFor(`${phase} announced`, async () => (await get()).status?.conditions.some((c) => c.reason === phase));
      }
      const p = await get();
      await store.update<Prod>({ ...p, spec: { ...p.spec, retire: true } });
      await waitFor('Draining', async () => (await get()).status?.phase === 'Draining');
      await agentWrites('Retired');
      await waitFor('Retired announced', async () => (await get()).status?.conditions.some((c) => c.reason === 'Retired'));
      const events = (await store.list('Event')).items.filter((e) => e.spec.involvedObject.name === 'web-abcde');
      assert.deepEqual(
        events.map((e) => `${e.spec.reason}/${e.spec.count}`).sort(),
        ['Draining/1', 'Pending/1', 'Provisioning/1', 'Ready/1', 'Retired/1', 'WarmingUp/1'],
      );
    } finally {
      await m.stop();
    }
  });
});
