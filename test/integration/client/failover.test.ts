/**
 * Clients of a replicated control plane: one API server over one store, with three replica proxies
 * (test/helpers/replica-proxy.ts) in front of it standing in for three replicas of one shared store. A
 * proxy killed is a replica dying under its clients: listener gone, open connections reset.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { RemoteStore } from '../../../src/client/remote-store.js';
import { isDroverError } from '../../../src/errors.js';
import { Informer } from '../../../src/runtime/informer.js';
import { startApiServer, type ApiServer } from '../../../src/server/api-server.js';
import { MemoryStore } from '../../../src/store/memory/memory-store.js';
import type { WatchEvent } from '../../../src/store/store.js';
import { tenant } from '../../helpers/fixtures.js';
import { startReplicaProxy, type ReplicaProxy } from '../../helpers/replica-proxy.js';
import { waitFor } from '../../helpers/wait-for.js';

const TOKEN = 'failover-test-admin-token';

describe('clients with several server URLs', () => {
  let mem: MemoryStore;
  let api: ApiServer;
  let direct: RemoteStore;
  let proxies: ReplicaProxy[] = [];
  const clients: RemoteStore[] = [];

  before(async () => {
    mem = new MemoryStore({ historySize: 100_000 });
    api = await startApiServer({ store: mem, listen: '127.0.0.1:0', tokens: [{ token: TOKEN, role: 'admin' }], processMetrics: false, watchHeartbeatMs: 200 });
    direct = new RemoteStore({ server: api.url, token: TOKEN });
  });
  after(async () => {
    await direct.close();
    await api.close({ graceMs: 100 });
    await mem.close();
  });
  const replicas = async (timeouts: { timeoutMs?: number; watchIdleTimeoutMs?: number } = {}): Promise<RemoteStore> => {
    proxies = await Promise.all([0, 1, 2].map(() => startReplicaProxy(api.url)));
    const c = new RemoteStore({ server: proxies.map((p) => p.url), token: TOKEN, failover: { minBackoffMs: 10, maxBackoffMs: 50 }, ...timeouts });
    clients.push(c);
    return c;
  };
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close();
    for (const p of proxies) await p.kill();
  });

  it('reads and writes go on through the next replica when the one in use dies', async () => {
    const c = await replicas();
    await c.create(tenant('fo-a'));
    assert.equal(c.url, proxies[0]!.url);
    await proxies[0]!.kill();
    assert.equal((await c.get('Tenant', 'fo-a'))?.metadata.name, 'fo-a');
    await c.create(tenant('fo-b'));
    assert.deepEqual((await c.list('Tenant')).items.map((t) => t.metadata.name).filter((n) => n.startsWith('fo-')), ['fo-a', 'fo-b']);
    assert.equal(c.url, proxies[1]!.url, 'the client stays on the replica that answered');
    await proxies[1]!.kill();
    await c.patch('Tenant', 'fo-b', { spec: { users: 7 } });
    assert.equal((await direct.get('Tenant', 'fo-b'))?.spec.users, 7);
    await proxies[2]!.kill();
    await assert.rejects(c.get('Tenant', 'fo-a'), (e) => isDroverError(e, 'DROVER_E_UNAVAILABLE') && /any of the Drover API servers/.test(e.message));
  });

  it('a create whose answer was lost is retried on the next replica and recognised as its own', async () => {
    const c = await replicas();
    await c.revision(); // connected to the first replica
    proxies[0]!.cutAnswers(1);
    const made = await c.create(tenant('fo-lost', { users: 3 }));
    assert.equal(made.metadata.name, 'fo-lost');
    assert.equal(made.spec.users, 3);
    assert.equal(c.url, proxies[1]!.url);
    // Someone else's object of that name is not taken for ours.
    await direct.create(tenant('fo-other', { users: 1 }));
    proxies[1]!.cutAnswers(0);
    await assert.rejects(c.create(tenant('fo-other', { users: 2 })), (e) => isDroverError(e, 'DROVER_E_ALREADY_EXISTS'));
    // A delete whose answer was lost: the retry finds it gone and says why.
    proxies[1]!.cutAnswers(1);
    await assert.rejects(c.delete('Tenant', 'fo-lost'), (e) => isDroverError(e, 'DROVER_E_NOT_FOUND') && /broke off has probably deleted it/.test(e.message));
    assert.equal(await direct.get('Tenant', 'fo-lost'), undefined);
  });

  it('a watch gets every change exactly once across two replica deaths, with writes in flight', async () => {
    const c = await replicas();
    const from = await direct.revision();
    const ac = new AbortController();
    const seen: WatchEvent[] = [];
    const watching = (async () => {
      for await (const ev of c.watch({ kind: 'Tenant', resourceVersion: from, signal: ac.signal })) seen.push(ev);
    })();
    const acked: string[] = [];
    let stop = false;
    const writer = async (w: number) => {
      for (let i = 0; !stop; i++) {
        const name = `fo-w${w}-${i}`;
        acked.push((await direct.create(tenant(name))).metadata.resourceVersion!);
        acked.push((await direct.patch('Tenant', name, { spec: { users: 2 } })).metadata.resourceVersion!);
        acked.push((await direct.delete('Tenant', name)).metadata.resourceVersion!);
      }
    };
    const writers = [0, 1, 2, 3].map(writer);
    await waitFor('events on the first replica', () => seen.length >= 50);
    await proxies[0]!.kill();
    const mark = seen.length;
    await waitFor('events on the second replica', () => seen.length >= mark + 50);
    await proxies[1]!.kill();
    const mark2 = seen.length;
    await waitFor('events on the third replica', () => seen.length >= mark2 + 50);
    stop = true;
    await Promise.all(writers);
    await waitFor('every acknowledged write watched', () => seen.length >= acked.length, { timeoutMs: 15_000 });
    ac.abort();
    await watching;
    const got = seen.map((e) => e.object.metadata.resourceVersion!);
    assert.equal(new Set(got).size, got.length, 'no change delivered twice');
    assert.deepEqual([...got].sort(), [...acked].sort(), 'every change delivered, nothing else');
    assert.ok(got.every((rv, i) => i === 0 || BigInt(rv) > BigInt(got[i - 1]!)), 'in revision order');
    assert.equal(proxies[2]!.connections() > 0, true);
  });

  it('a watch from "now" that fails over before its first event misses nothing the dying replica held back', async () => {
    const c = await replicas();
    const ac = new AbortController();
    const seen: string[] = [];
    const before = proxies[0]!.bytesToClients();
    const watching = (async () => {
      for await (const ev of c.watch({ kind: 'Tenant', signal: ac.signal })) seen.push(`${ev.type} ${ev.object.metadata.name}`);
    })();
    await waitFor('the watch on the first replica', () => api.metrics.watchers.get().then((m) => (m.values[0]?.value ?? 0) >= 1));
    // The answer's head (with the revision the watch starts from) has passed the proxy: the server flushes
    // it before it counts the watcher, but a freeze before the proxy relays it would hide it from the client.
    await waitFor('the watch answer head relayed to the client', () => proxies[0]!.bytesToClients() > before);
    proxies[0]!.freeze();
    await direct.create(tenant('fo-held'));
    await proxies[0]!.kill();
    await direct.create(tenant('fo-after'));
    await waitFor('both creates watched', () => seen.length >= 2);
    ac.abort();
    await watching;
    assert.deepEqual(seen, ['ADDED fo-held', 'ADDED fo-after']);
  });

  it('a replica that stops answering without closing (paused) is passed over after the timeouts', async () => {
    const c = await replicas({ timeoutMs: 500, watchIdleTimeoutMs: 800 });
    const from = await c.revision();
    const ac = new AbortController();
    const seen: string[] = [];
    const watching = (async () => {
      for await (const ev of c.watch({ kind: 'Tenant', resourceVersion: from, signal: ac.signal })) seen.push(ev.object.metadata.name);
    })();
    await direct.create(tenant('fo-before-pause'));
    await waitFor('the watch on the first replica', () => seen.includes('fo-before-pause'));
    proxies[0]!.freeze();
    await direct.create(tenant('fo-paused'));
    assert.equal((await c.get('Tenant', 'fo-paused'))?.metadata.name, 'fo-paused', 'the GET held by the paused replica went to the next');
    assert.equal(c.url, proxies[1]!.url);
    await waitFor('the watch to resume past the paused replica', () => seen.includes('fo-paused'), { timeoutMs: 5000 });
    ac.abort();
    await watching;
    assert.deepEqual(seen, ['fo-before-pause', 'fo-paused']);
  });

  it('an informer over the replicas keeps its cache in step when its replica dies', async () => {
    const c = await replicas();
    const inf = new Informer(c, 'Tenant', { minBackoffMs: 10, maxBackoffMs: 50 });
    inf.start();
    try {
      await inf.waitForSync({ timeoutMs: 5000 });
      await proxies[0]!.kill();
      await direct.create(tenant('fo-inf'));
      await waitFor('the informer to see the create', () => inf.get('fo-inf'));
      assert.equal(inf.status().lists, 1, 'no re-list: the watch resumed');
    } finally {
      await inf.stop();
    }
  });
});

