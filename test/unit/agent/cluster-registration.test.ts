/**
 * The agent's Cluster writes go through src/store/mutate.ts: registration is create-or-update (idempotent,
 * safe against a concurrent creator, no write when nothing changed) and the heartbeat re-applies itself
 * over the cluster controller's concurrent status writes instead of dropping the beat.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { registerCluster, writeHeartbeat, type ClusterIdentity } from '../../../src/agent/cluster-registration.js';
import type { Cluster } from '../../../src/api/kinds/cluster.js';
import type { AnyResource } from '../../../src/api/resource.js';
import { MemoryStore } from '../../../src/store/memory/memory-store.js';

const id: ClusterIdentity = { name: 'osaka', provider: 'local', region: 'ap-northeast-3', capacity: 4, annotations: { 'drover.dev/agent-state-dir': '/tmp/x' } };

describe('registerCluster', () => {
  it('creates, then writes nothing when the Cluster already matches', async () => {
    const store = new MemoryStore();
    const first = await registerCluster(store, id);
    const again = await registerCluster(store, id);
    assert.equal(again.metadata.resourceVersion, first.metadata.resourceVersion);
    assert.equal(again.spec.capacity?.prods, 4);
  });

  it('keeps what operators set (cordoned, other annotations) and takes the agent identity', async () => {
    const store = new MemoryStore();
    const c = await registerCluster(store, { name: 'osaka', provider: 'local' });
    await store.update<Cluster>({ ...c, metadata: { ...c.metadata, annotations: { owner: 'ops' } }, spec: { ...c.spec, cordoned: true } });
    const r = await registerCluster(store, id);
    assert.equal(r.spec.cordoned, true);
    assert.equal(r.spec.region, 'ap-northeast-3');
    assert.deepEqual(r.metadata.annotations, { owner: 'ops', 'drover.dev/agent-state-dir': '/tmp/x' });
  });

  it('two agents racing to register one cluster both succeed on one object', async () => {
    const store = new MemoryStore();
    const [a, b] = await Promise.all([registerCluster(store, id), registerCluster(store, { ...id, capacity: 4 })]);
    assert.equal(a.metadata.uid, b.metadata.uid);
    assert.equal((await store.list('Cluster')).items.length, 1);
  });
});

describe('writeHeartbeat', () => {
  it('re-registers a Cluster deleted under the agent, then writes the beat', async () => {
    const store = new MemoryStore();
    await registerCluster(store, id);
    await store.delete('Cluster', 'osaka');
    const now = new Date('2026-12-01T12:00:00Z');
    await writeHeartbeat(store, id, { pid: 42, startedAt: '2026-12-01T11:00:00Z' }, now);
    const c = await store.get('Cluster', 'osaka');
    assert.equal(c?.status?.lastHeartbeat, now.toISOString());
    assert.equal(c?.status?.agent?.pid, 42);
  });

  it('re-applies the beat over a concurrent status write and keeps that write', async () => {
    const inner = new MemoryStore();
    await registerCluster(inner, id);
    // The cluster controller writes phase between the agent's read and its write, once.
    let raced = false;
    const store = Object.create(inner) as MemoryStore;
    store.updateStatus = async <T extends AnyResource>(obj: T): Promise<T> => {
      if (!raced) {
        raced = true;
        const cur = (await inner.get('Cluster', 'osaka'))!;
        await inner.updateStatus<Cluster>({ ...cur, status: { ...cur.status, phase: 'Ready' } as Cluster['status'] });
      }
      return inner.updateStatus(obj);
    };
    const now = new Date('2026-12-01T12:00:00Z');
    await writeHeartbeat(store, id, { pid: 42, startedAt: '2026-12-01T11:00:00Z' }, now);
    assert.ok(raced);
    const c = await inner.get('Cluster', 'osaka');
    assert.equal(c?.status?.lastHeartbeat, now.toISOString());
    assert.equal(c?.status?.phase, 'Ready');
  });
});
