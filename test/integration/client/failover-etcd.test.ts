/**
 * Clients over three real API server replicas on one real etcd (Debian `etcd-server`): three in-process
 * API servers, each with its own EtcdStore (its own etcd client and watches) on one key prefix, each
 * behind a replica proxy so that its death also resets its connections. A watch resumed on another
 * replica is a new etcd watch from the revision the client last saw: etcd revisions are the same on every
 * replica. Skips, saying why, when the binary is missing.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RemoteStore } from '../../../src/client/remote-store.js';
import { startApiServer, type ApiServer } from '../../../src/server/api-server.js';
import { EtcdStore } from '../../../src/store/etcd/etcd-store.js';
import { EtcdCluster, etcdBinary } from '../../../src/up/etcd-cluster.js';
import type { WatchEvent } from '../../../src/store/store.js';
import { tenant } from '../../helpers/fixtures.js';
import { startReplicaProxy, type ReplicaProxy } from '../../helpers/replica-proxy.js';
import { waitFor } from '../../helpers/wait-for.js';

const hasEtcd = etcdBinary() !== undefined;
const TOKEN = 'failover-etcd-admin-token';

describe('clients over three API server replicas on one etcd', { skip: hasEtcd ? false : 'etcd binary missing: apt-get install etcd-server' }, () => {
  let dir: string;
  let etcd: EtcdCluster | undefined;
  const replicas: { store: EtcdStore; api: ApiServer; proxy: ReplicaProxy; dead: boolean }[] = [];
  const kill = async (i: number) => {
    const r = replicas[i]!;
    r.dead = true;
    await r.proxy.kill();
    await r.api.close({ graceMs: 0 });
    await r.store.close();
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'drover-etcd-failover-'));
    etcd = await EtcdCluster.start({ dir: join(dir, 'etcd'), members: 1 });
    const client = etcd.endpoints;
    for (let i = 0; i < 3; i++) {
      const store = new EtcdStore({ hosts: client, prefix: '/failover/' });
      const api = await startApiServer({ store, listen: '127.0.0.1:0', tokens: [{ token: TOKEN, role: 'admin' }], processMetrics: false, watchHeartbeatMs: 200, log: () => {} });
      replicas.push({ store, api, proxy: await startReplicaProxy(api.url), dead: false });
    }
  });
  after(async () => {
    for (let i = 0; i < replicas.length; i++) if (!replicas[i]!.dead) await kill(i);
    await etcd?.stop(0);
    await rm(dir, { recursive: true, force: true });
  });

  it('a watch gets every change exactly once while the replicas it uses die, with writes in flight', async () => {
    const c = new RemoteStore({ server: replicas.map((r) => r.proxy.url), token: TOKEN, failover: { minBackoffMs: 10, maxBackoffMs: 50 } });
    // The writers use the last replica, which stays.
    const writerStore = new RemoteStore({ server: replicas[2]!.api.url, token: TOKEN });
    try {
      const from = await c.revision();
      const ac = new AbortController();
      const seen: WatchEvent[] = [];
      const watching = (async () => {
        for await (const ev of c.watch({ kind: 'Tenant', resourceVersion: from, signal: ac.signal })) seen.push(ev);
      })();
      const acked: string[] = [];
      let stop = false;
      const writer = async (w: number) => {
        for (let i = 0; !stop; i++) {
          const name = `etcd-w${w}-${i}`;
          acked.push((await writerStore.create(tenant(name))).metadata.resourceVersion!);
          acked.push((await writerStore.patch('Tenant', name, { spec: { users: 2 } })).metadata.resourceVersion!);
        }
      };
      const writers = [0, 1, 2, 3].map(writer);
      await waitFor('events through the first replica', () => seen.length >= 40, { timeoutMs: 20_000 });
      await kill(0);
      const mark = seen.length;
      await waitFor('events through the second replica', () => seen.length >= mark + 40, { timeoutMs: 20_000 });
      // The client's requests moved on too.
      assert.equal(c.url, replicas[1]!.proxy.url);
      await kill(1);
      const mark2 = seen.length;
      await waitFor('events through the third replica', () => seen.length >= mark2 + 40, { timeoutMs: 20_000 });
      stop = true;
      await Promise.all(writers);
      await waitFor('every acknowledged write watched', () => seen.length >= acked.length, { timeoutMs: 20_000 });
      assert.equal((await c.get('Tenant', 'etcd-w0-0'))?.spec.users, 2, 'requests work through the last replica');
      ac.abort();
      await watching;
      const got = seen.map((e) => e.object.metadata.resourceVersion!);
      assert.equal(new Set(got).size, got.length, 'no change delivered twice');
      assert.deepEqual([...got].sort(), [...acked].sort(), 'every change delivered, nothing else');
      assert.ok(got.every((rv, i) => i === 0 || BigInt(rv) > BigInt(got[i - 1]!)), 'in revision order');
    } finally {
      await c.close();
      await writerStore.close();
    }
  });
});
