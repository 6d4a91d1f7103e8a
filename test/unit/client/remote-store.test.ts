import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AnyResource } from '../../../src/api/resource.js';
import { RemoteStore } from '../../../src/client/remote-store.js';
import { isDroverError } from '../../../src/errors.js';
import { startApiServer, type ApiServer } from '../../../src/server/api-server.js';
import { MemoryStore } from '../../../src/store/memory/memory-store.js';
import type { WatchEvent } from '../../../src/store/store.js';

const ADMIN = 'admin-token-123456';
const READER = 'reader-token-123456';

const tenant = (name: string, labels: Record<string, string> = {}, users = 10): AnyResource => ({
  apiVersion: 'drover.dev/v1alpha1',
  kind: 'Tenant',
  metadata: { name, labels, annotations: {}, finalizers: [], ownerReferences: [] },
  spec: { fleet: 'web', users },
});

describe('RemoteStore against an in-process API server', () => {
  let mem: MemoryStore;
  let api: ApiServer;
  let store: RemoteStore;
  before(async () => {
    mem = new MemoryStore({ historySize: 4 });
    api = await startApiServer({ store: mem, listen: '127.0.0.1:0', tokens: [{ token: ADMIN, role: 'admin' }, { token: READER, role: 'readonly' }], processMetrics: false });
    store = new RemoteStore({ server: api.url, token: ADMIN });
  });
  after(async () => {
    await store.close();
    await api.close();
    await mem.close();
  });

  it('does CRUD with the store semantics', async () => {
    const a = await store.create(tenant('a', { tier: 'gold' }));
    assert.equal(a.metadata.generation, 1);
    assert.deepEqual(await store.get('Tenant', 'a'), a);
    assert.equal(await store.get('Tenant', 'missing'), undefined);
    const upd = await store.update({ ...a, spec: { fleet: 'web', users: 20 } });
    assert.equal(upd.metadata.generation, 2);
    const st = await store.updateStatus({ ...upd, status: { prods: ['p1'] } });
    assert.deepEqual((st.status).prods, ['p1']);
    await store.create(tenant('b'));
    const gold = await store.list('Tenant', { labelSelector: 'tier=gold' });
    assert.deepEqual(gold.items.map((i) => i.metadata.name), ['a']);
    assert.equal(gold.resourceVersion, await store.revision());
    await store.delete('Tenant', 'b');
    assert.equal(await store.get('Tenant', 'b'), undefined);
  });

  it('maps error bodies back to DroverErrors', async () => {
    const a = (await store.get('Tenant', 'a'))!;
    await assert.rejects(store.create(tenant('a')), (e) => isDroverError(e, 'DROVER_E_ALREADY_EXISTS'));
    await assert.rejects(store.update({ ...a, metadata: { ...a.metadata, resourceVersion: '1' } }), (e) => {
      assert.ok(isDroverError(e, 'DROVER_E_CONFLICT'));
      assert.equal(e.field, 'metadata.resourceVersion');
      assert.match(e.fix ?? '', /re-read/);
      return true;
    });
    await assert.rejects(store.delete('Tenant', 'nope'), (e) => isDroverError(e, 'DROVER_E_NOT_FOUND'));
    await assert.rejects(store.create({ ...tenant('c'), spec: { fleet: 'web', userz: 1 } }), (e) => isDroverError(e, 'DROVER_E_INVALID') && e.field === 'spec.userz');
    const reader = new RemoteStore({ server: api.url, token: READER });
    const anon = new RemoteStore({ server: api.url });
    try {
      await assert.rejects(reader.create(tenant('r')), (e) => isDroverError(e, 'DROVER_E_FORBIDDEN'));
      await assert.rejects(anon.list('Tenant'), (e) => isDroverError(e, 'DROVER_E_UNAUTHORIZED'));
    } finally {
      await reader.close();
      await anon.close();
    }
    const down = new RemoteStore({ server: 'http://127.0.0.1:9', token: ADMIN });
    await assert.rejects(down.list('Tenant'), (e) => isDroverError(e, 'DROVER_E_UNAVAILABLE'));
    await down.close();
  });

  it('merge-patches', async () => {
    const p = await store.patch('Tenant', 'a', { metadata: { labels: { tier: null, zone: 'eu' } }, spec: { redundancy: 2 } });
    assert.deepEqual(p.metadata.labels, { zone: 'eu' });
    assert.equal((p.spec as { redundancy: number; users: number }).redundancy, 2);
    assert.equal((p.spec as { users: number }).users, 20);
  });

  it('watches from a resourceVersion and stops on abort', async () => {
    const from = await store.revision();
    const ac = new AbortController();
    const got: WatchEvent[] = [];
    const done = (async () => {
      for await (const e of store.watch({ kind: 'Tenant', resourceVersion: from, signal: ac.signal })) {
        got.push(e);
        if (got.length === 2) ac.abort();
      }
    })();
    await store.create(tenant('w'));
    await store.delete('Tenant', 'w');
    await done;
    assert.deepEqual(got.map((e) => `${e.type} ${e.object.metadata.name}`), ['ADDED w', 'DELETED w']);
  });

  it('fails a watch from a compacted revision with DROVER_E_GONE', async () => {
    const it = store.watch({ kind: 'Tenant', resourceVersion: '1' })[Symbol.asyncIterator]();
    await assert.rejects(it.next(), (e) => isDroverError(e, 'DROVER_E_GONE'));
  });
});
