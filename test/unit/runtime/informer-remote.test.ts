import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AnyResource } from '../../../src/api/resource.js';
import { Informer } from '../../../src/runtime/informer.js';
import { RemoteStore } from '../../../src/client/remote-store.js';
import { startApiServer, type ApiServer } from '../../../src/server/api-server.js';
import { MemoryStore } from '../../../src/store/memory/memory-store.js';
import { waitFor } from '../../helpers/wait-for.js';

const TOKEN = 'admin-token-123456';

const tenant = (name: string, users = 1): AnyResource => ({
  apiVersion: 'drover.dev/v1alpha1',
  kind: 'Tenant',
  metadata: { name, labels: {}, annotations: {}, finalizers: [], ownerReferences: [] },
  spec: { fleet: 'web', users },
});

describe('Informer over a RemoteStore', () => {
  let mem: MemoryStore;
  let api: ApiServer;
  let remote: RemoteStore;
  let informer: Informer;
  const log: string[] = [];
  const errors: unknown[] = [];

  before(async () => {
    mem = new MemoryStore({ historySize: 3 });
    await mem.create(tenant('a'));
    await mem.create(tenant('b'));
    api = await startApiServer({ store: mem, listen: '127.0.0.1:0', tokens: [{ token: TOKEN, role: 'admin' }], processMetrics: false });
    remote = new RemoteStore({ server: api.url, token: TOKEN });
    informer = new Informer(remote, 'Tenant', { minBackoffMs: 20, maxBackoffMs: 100, onError: (e) => errors.push(e) });
    informer.addHandler({
      onAdd: (o) => log.push(`add ${o.metadata.name}`),
      onUpdate: (_old, o) => log.push(`update ${o.metadata.name}`),
      onDelete: (o) => log.push(`delete ${o.metadata.name}`),
    });
  });
  after(async () => {
    await informer.stop();
    await remote.close();
    await api.close();
    await mem.close();
  });

  it('lists, syncs, then follows changes', async () => {
    assert.equal(informer.hasSynced(), false);
    informer.start();
    await informer.waitForSync({ timeoutMs: 5000 });
    assert.deepEqual(informer.list().map((o) => o.metadata.name).sort(), ['a', 'b']);
    await remote.create(tenant('c'));
    await remote.update({ ...(await remote.get('Tenant', 'a'))!, spec: { fleet: 'web', users: 5 } });
    await waitFor('changes', () => (informer.get('a')?.spec as { users: number } | undefined)?.users === 5 && informer.get('c') !== undefined);
    assert.deepEqual(log.slice(2), ['add c', 'update a']);
  });

  it('keeps its cache while the server is down, then re-lists after 410 Gone', async () => {
    const port = api.port;
    await api.close();
    await waitFor('the informer to notice the server is gone', () => errors.length > 0);
    // Static stability: the cache still answers.
    assert.deepEqual(informer.list().map((o) => o.metadata.name).sort(), ['a', 'b', 'c']);

    // While it is down, enough changes happen to compact the informer's resourceVersion away.
    await mem.delete('Tenant', 'b');
    await mem.create(tenant('d'));
    for (let i = 2; i < 6; i++) await mem.update({ ...(await mem.get('Tenant', 'c'))!, spec: { fleet: 'web', users: i } });
    assert.deepEqual(informer.list().map((o) => o.metadata.name).sort(), ['a', 'b', 'c']);

    log.length = 0;
    api = await startApiServer({ store: mem, listen: `127.0.0.1:${port}`, tokens: [{ token: TOKEN, role: 'admin' }], processMetrics: false });
    await waitFor('the re-list', () => informer.get('d') !== undefined && informer.get('b') === undefined);
    assert.deepEqual(informer.list().map((o) => o.metadata.name).sort(), ['a', 'c', 'd']);
    assert.equal((informer.get('c')!.spec as { users: number }).users, 5);
    assert.deepEqual(log.sort(), ['add d', 'delete b', 'update c']);
    assert.equal(informer.resourceVersion, await mem.revision());

    // And it follows live changes again.
    await remote.delete('Tenant', 'a');
    await waitFor('live delete after reconnect', () => informer.get('a') === undefined);
  });
});
