/**
 * A replica that leads a second time gives every cluster one grace, as any new leader does: two control
 * planes in this process on a real single-member etcd, leader A, then B, then A again. One cluster
 * heartbeats throughout; the other's agent is silent across both hand-overs (as an agent failing over
 * with its replica would be) and comes back within A's second grace. Neither is ever NotReady. Before the
 * reconcilers were built per term, A judged the silent cluster by the arrival it remembered from its first
 * term and called it NotReady the moment it led again. Skips, saying why, when etcd is missing.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Cluster } from '../../../src/api/kinds/cluster.js';
import { startControlPlane, type RunningControlPlane } from '../../../src/server/control-plane.js';
import { EtcdStore } from '../../../src/store/etcd/etcd-store.js';
import { EtcdCluster, etcdBinary } from '../../../src/up/etcd-cluster.js';
import { FakeAgents } from '../../helpers/fake-agents.js';
import { cluster } from '../../helpers/fixtures.js';
import { waitFor } from '../../helpers/wait-for.js';

const skip = etcdBinary() ? false : 'etcd binary missing: apt-get install etcd-server';
if (skip) console.warn(`SKIP ha leader terms: ${skip}`);

interface Ready {
  leading: boolean;
  leader: { id: string; lease?: string } | null;
}
const readyz = async (cp: RunningControlPlane): Promise<Ready> => (await (await fetch(`${cp.url}/readyz`)).json()) as Ready;

describe('a replica that leads again', { skip }, () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'drover-ha-terms-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('leader A, then B, then A: no cluster is called NotReady by A\'s memory of its first term', async () => {
    const grace = 4000;
    const etcd = await EtcdCluster.start({ dir: join(dir, 'etcd'), members: 1 });
    const start = (id: string) =>
      startControlPlane({ dataDir: join(dir, id), backend: 'etcd', etcd: { endpoints: etcd.endpoints }, listen: '127.0.0.1:0', envToken: 'terms-admin-token', election: { id, ttlMs: 2000 } });
    let a: RunningControlPlane | undefined;
    let b: RunningControlPlane | undefined;
    let agents: FakeAgents | undefined;
    const watching = new AbortController();
    let watch: Promise<void> | undefined;
    /** Each cluster's phase changes, in order. */
    const phases: string[] = [];
    const last = new Map<string, string | undefined>();
    try {
      a = await start('a');
      const store = a.store;
      await waitFor('a to lead', async () => (await readyz(a!)).leading);
      const rv = await store.revision();
      watch = (async () => {
        for await (const ev of store.watch({ kind: 'Cluster', resourceVersion: rv, signal: watching.signal })) {
          const c = ev.object as Cluster;
          if (last.get(c.metadata.name) === c.status?.phase) continue;
          last.set(c.metadata.name, c.status?.phase);
          phases.push(`${c.metadata.name}:${c.status?.phase}`);
        }
      })().catch(() => undefined);
      for (const n of ['steady', 'failover']) await store.create(cluster(n, { spec: { heartbeatGraceMs: grace } }));
      agents = new FakeAgents(store, 200);
      agents.alive.add('steady').add('failover');
      agents.start();
      const phase = async (n: string) => (await store.get('Cluster', n))?.status?.phase;
      await waitFor('both Ready under A', async () => (await phase('steady')) === 'Ready' && (await phase('failover')) === 'Ready');
      b = await start('b');
      await waitFor('b to follow a', async () => (await readyz(b!)).leader?.id === 'a');

      // failover's agent goes quiet; A still leads for half a grace, then loses its lease behind its back.
      agents.alive.delete('failover');
      const quietFrom = Date.now();
      await waitFor('half a grace of silence', () => Date.now() > quietFrom + grace / 2, { intervalMs: 50 });
      const lease = (await readyz(a)).leader?.lease;
      assert.ok(lease, 'readyz names the leader\'s lease');
      await (store as EtcdStore).client.leaseClient.leaseRevoke({ ID: BigInt(`0x${lease}`).toString() });
      await waitFor('b to lead', async () => (await readyz(b!)).leading && !(await readyz(a!)).leading);
      // B, new, holds failover for its own grace. Hand back to A once the silence is longer than one grace
      // (what A's first term remembers is then overdue) and before B's grace runs out.
      await waitFor('the silence to outlast one grace', () => Date.now() > quietFrom + grace + 300, { intervalMs: 50 });
      await b.stop();
      b = undefined;
      await waitFor('a to lead again', async () => (await readyz(a!)).leading);
      const secondTerm = Date.now();
      agents.alive.add('failover');
      // The agent is back within the grace of A's second term: judged from then on, failover stays Ready.
      await waitFor('A\'s second term to be a grace old', () => Date.now() > secondTerm + grace + 500, { intervalMs: 100, timeoutMs: grace + 5000 });
      assert.equal(await phase('failover'), 'Ready');
      assert.equal(await phase('steady'), 'Ready');
    } finally {
      await agents?.stop();
      watching.abort();
      await watch;
      await b?.stop();
      await a?.stop();
      await etcd.stop();
    }
    assert.ok(!phases.some((p) => p.endsWith(':NotReady')), `no cluster was ever NotReady: ${phases.join(' ')}`);
  });
});
