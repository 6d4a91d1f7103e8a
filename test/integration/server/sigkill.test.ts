import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { AnyResource } from '../../../src/api/resource.js';
import { RemoteStore } from '../../../src/client/remote-store.js';
import { waitFor } from '../../helpers/wait-for.js';
import { startServer, tempDir, type ServerProcess } from './harness.js';

const TOKEN = 'sigkill-test-admin-token';
const env = { DROVER_TOKEN: TOKEN };

const tenant = (name: string, users = 1): AnyResource => ({
  apiVersion: 'drover.dev/v1alpha1',
  kind: 'Tenant',
  metadata: { name, labels: {}, annotations: {}, finalizers: [], ownerReferences: [] },
  spec: { fleet: 'web', users },
});

describe('durability across SIGKILL', () => {
  const dataDir = join(tempDir(), 'data');
  let server: ServerProcess | undefined;
  after(async () => {
    await server?.stop('SIGKILL');
  });

  it('keeps every acknowledged write when the server is killed repeatedly while clients write', async () => {
    const acked = new Set<string>();
    let counterAcked = 0;
    let counterAttempted = 0;
    const rounds = 3;
    for (let round = 0; round < rounds; round++) {
      server = await startServer({ dataDir, env });
      const client = new RemoteStore({ server: server.url, token: TOKEN, timeoutMs: 5000 });
      if (round === 0) await client.create(tenant('counter', 0));
      let ackedThisRound = 0;
      let stop = false;
      const writer = async (w: number) => {
        for (let i = 0; !stop; i++) {
          const name = `t-${round}-${w}-${i}`;
          try {
            await client.create(tenant(name));
            acked.add(name);
            ackedThisRound++;
          } catch {
            return; // the server died under us: this write was not acknowledged
          }
        }
      };
      const counter = async () => {
        while (!stop) {
          const next = counterAttempted + 1;
          try {
            const cur = (await client.get('Tenant', 'counter'))!;
            counterAttempted = next;
            await client.update({ ...cur, spec: { fleet: 'web', users: next } });
            counterAcked = next;
          } catch {
            return;
          }
        }
      };
      const writers = [...Array.from({ length: 8 }, (_, w) => writer(w)), counter()];
      await waitFor(`60 acknowledged writes in round ${round}`, () => ackedThisRound >= 60, { timeoutMs: 30_000 });
      await server.stop('SIGKILL');
      await Promise.all(writers);
      stop = true;
      await client.close();
    }

    server = await startServer({ dataDir, env });
    const client = new RemoteStore({ server: server.url, token: TOKEN });
    try {
      const stored = new Set((await client.list('Tenant')).items.map((o) => o.metadata.name));
      const missing = [...acked].filter((n) => !stored.has(n));
      assert.deepEqual(missing, [], `${missing.length} of ${acked.size} acknowledged writes are missing`);
      const users = ((await client.get('Tenant', 'counter'))!.spec as { users: number }).users;
      assert.ok(users >= counterAcked && users <= counterAttempted, `counter is ${users}; acknowledged ${counterAcked}, attempted ${counterAttempted}`);
      const ready = await fetch(`${server.url}/readyz`);
      assert.equal(ready.status, 200);
    } finally {
      await client.close();
    }
    assert.equal(await server.stop('SIGTERM'), 0);
    server = undefined;
    const db = new Database(join(dataDir, 'drover.db'), { readonly: true });
    try {
      assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
    } finally {
      db.close();
    }
  });
});
