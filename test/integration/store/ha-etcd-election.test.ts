/**
 * Leader election and fencing against a real single-member etcd (the Debian binary, loopback ports it
 * picks), and two store replicas sharing it. Skips, saying why, when the binary is missing.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { register } from 'prom-client';
import { isDroverError } from '../../../src/errors.js';
import { EtcdLeaderElector } from '../../../src/runtime/etcd-leader-elector.js';
import { silentLogger } from '../../../src/runtime/logger.js';
import { EtcdStore } from '../../../src/store/etcd/etcd-store.js';
import { EtcdCluster, etcdBinary } from '../../../src/up/etcd-cluster.js';
import { waitFor } from '../../helpers/wait-for.js';
import { collect, obj, rejectsWith } from '../../store/contract.js';

const skip = etcdBinary() ? false : 'etcd binary missing: apt-get install etcd-server';
if (skip) console.warn(`SKIP ha etcd election: ${skip}`);

async function counter(name: string, label: string): Promise<number> {
  const m = (await register.getSingleMetric(name)?.get())?.values.find((v) => v.labels.reason === label);
  return m?.value ?? 0;
}

describe('etcd leader election and fencing', { skip }, () => {
  let dir: string;
  let etcd: EtcdCluster;
  let n = 0;
  const stores: EtcdStore[] = [];
  const open = (prefix: string, historySize?: number) => {
    const s = new EtcdStore({ hosts: etcd.endpoints, prefix, ...(historySize ? { historySize } : {}) });
    stores.push(s);
    return s;
  };
  const elector = (store: EtcdStore, id: string, ttlMs = 2000) => new EtcdLeaderElector({ client: store.client, root: store.root, id, ttlMs, renewMs: 300, logger: silentLogger });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'drover-ha-'));
    etcd = await EtcdCluster.start({ dir, members: 1 });
  });
  after(async () => {
    await Promise.all(stores.map((s) => s.close()));
    await etcd?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('elects one replica; the next takes over when it releases, and etcd shows who leads since when', async () => {
    const prefix = `/e${++n}/`;
    const [sa, sb] = [open(prefix), open(prefix)];
    const [a, b] = [elector(sa, 'a', 2000), elector(sb, 'b', 2000)];
    const stop = new AbortController();
    const la = await a.acquire(stop.signal);
    const bWins = b.acquire(stop.signal);
    let bLed = false;
    void bWins.then(() => (bLed = true));
    const info = await a.leader();
    assert.equal(info?.id, 'a');
    assert.ok(info?.since && Date.parse(info.since) <= Date.now(), 'the leader says since when');
    assert.ok(a.isLeading);
    // B stands but waits: a second candidate never leads alongside the first.
    await waitFor('b to stand', async () => (await sa.client.getAll().prefix(`${prefix}election/`).count()) === 2);
    assert.equal(bLed, false);
    assert.equal(b.isLeading, false);
    const released = Date.now();
    await la.release();
    const lb = await bWins;
    assert.ok(Date.now() - released < 1000, 'a released lead passes on at once, not after the TTL');
    assert.equal((await b.leader())?.id, 'b');
    assert.equal(a.isLeading, false);
    await lb.release();
    stop.abort();
  });

  it('fences writes: after the lease is gone, a write of the old leader is refused by etcd, counted, and ends its term', async () => {
    const prefix = `/e${++n}/`;
    const sa = open(prefix);
    const a = elector(sa, 'a', 2000);
    const fenced = sa.fenced(a);
    const la = await a.acquire(new AbortController().signal);
    await fenced.create(obj('Prod', 'p1'));
    const before = await counter('drover_leader_fenced_writes_total', 'fence-lost');
    // The lease expires while the leader is unaware (as after a pause): revoke it behind its back.
    const lease = (await a.leader())!.lease;
    await sa.client.leaseClient.leaseRevoke({ ID: BigInt(`0x${lease}`).toString() });
    assert.ok(!la.lost.aborted, 'the elector has not noticed yet');
    await rejectsWith(fenced.create(obj('Prod', 'p2')), 'DROVER_E_NOT_LEADER');
    await rejectsWith(fenced.update({ ...(await sa.get('Prod', 'p1'))!, spec: { version: 'v2' } }), 'DROVER_E_NOT_LEADER');
    assert.equal(await sa.get('Prod', 'p2'), undefined, 'the refused create wrote nothing');
    assert.deepEqual((await sa.get<{ spec: unknown } & ReturnType<typeof obj>>('Prod', 'p1'))?.spec, { version: 'v1' });
    assert.ok(la.lost.aborted, 'a refused fenced write ends the term at once');
    assert.equal(await counter('drover_leader_fenced_writes_total', 'fence-lost'), before + 1);
    // Not leading any more: refused locally, without asking etcd.
    const local = await counter('drover_leader_fenced_writes_total', 'not-leading');
    await assert.rejects(fenced.delete('Prod', 'p1'), (e: unknown) => isDroverError(e, 'DROVER_E_NOT_LEADER'));
    assert.equal(await counter('drover_leader_fenced_writes_total', 'not-leading'), local + 1);
    // The unfenced store (the API's) still writes.
    await sa.create(obj('Prod', 'p3'));
    await la.release();
  });

  it('ends the term on its own deadline when renewals stop being answered', async () => {
    const prefix = `/e${++n}/`;
    const sa = open(prefix);
    const a = elector(sa, 'a', 2000);
    const la = await a.acquire(new AbortController().signal);
    const member = etcd.members[0]!;
    etcd.kill(member, 'SIGSTOP');
    const paused = Date.now();
    try {
      await waitFor('the term to end', () => la.lost.aborted, { timeoutMs: 5000 });
    } finally {
      etcd.kill(member, 'SIGCONT');
    }
    const took = Date.now() - paused;
    assert.ok(took <= 2000 + 200, `lost within the TTL of the last answered renewal (took ${took} ms)`);
    assert.equal(a.current(), undefined);
    await la.release();
  });

  it('replicas on one etcd see each other\'s writes through watches, and a watch behind compaction gets 410', async () => {
    const prefix = `/e${++n}/`;
    const [sa, sb] = [open(prefix, 20), open(prefix, 20)];
    const from = await sb.revision();
    const created = await sa.create(obj('Tenant', 't0'));
    const seen = await collect(sb, { kind: 'Tenant', resourceVersion: from }, (evs) => evs.length >= 1);
    assert.equal(seen[0]?.object.metadata.name, 't0');
    assert.equal(seen[0]?.object.metadata.resourceVersion, created.metadata.resourceVersion);
    // A writes enough for its compaction to pass `from`; B never compacted, yet its watch from there is gone.
    for (let i = 1; i <= 60; i++) await sa.create(obj('Tenant', `t${i}`));
    await rejectsWith(collect(sb, { kind: 'Tenant', resourceVersion: from }, () => false, 5000), 'DROVER_E_GONE');
  });
});
