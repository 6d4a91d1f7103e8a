/**
 * What `/readyz` and `/metrics` say about leadership: one server (it leads), and two control planes in
 * this process sharing a real single-member etcd (one leads, both name it, the other takes over when it
 * stops). The etcd part skips, saying why, when the binary is missing.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { startControlPlane, type RunningControlPlane } from '../../../src/server/control-plane.js';
import { EtcdCluster, etcdBinary } from '../../../src/up/etcd-cluster.js';
import { droverBin } from '../../helpers/drover-up.js';
import { waitFor } from '../../helpers/wait-for.js';

const run = promisify(execFile);

interface Ready {
  status: string;
  replica: string;
  leading: boolean;
  leader: { id: string; url?: string; since?: string } | null;
}

const readyz = async (cp: RunningControlPlane): Promise<Ready> => (await (await fetch(`${cp.url}/readyz`)).json()) as Ready;

describe('readyz and metrics of leadership', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'drover-ha-readyz-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('one server leads: /readyz names it and since when; /metrics carries the controllers\' metrics', async () => {
    const cp = await startControlPlane({ dataDir: join(dir, 'one'), backend: 'memory', listen: '127.0.0.1:0', envToken: 'readyz-admin-token', election: { id: 'solo' } });
    try {
      const r = await readyz(cp);
      assert.equal(r.status, 'ready');
      assert.equal(r.replica, 'solo');
      assert.equal(r.leading, true);
      assert.equal(r.leader?.id, 'solo');
      assert.equal(r.leader?.url, cp.url);
      assert.ok(r.leader?.since && Date.parse(r.leader.since) <= Date.now());
      // The reconcile runtime's metrics live on prom-client's default register, not the API's own.
      const text = await waitFor('controller metrics on /metrics', async () => {
        const t = await (await fetch(`${cp.url}/metrics`)).text();
        return /drover_workqueue_depth\{controller="cluster"\}/.test(t) ? t : undefined;
      });
      assert.match(text, /drover_api_requests_total/);
    } finally {
      await cp.stop();
    }
  });

  const skip = etcdBinary() ? false : 'etcd binary missing: apt-get install etcd-server';
  it('two replicas on one etcd: both name the one that leads; when it stops, the other leads', { skip }, async () => {
    const etcd = await EtcdCluster.start({ dir: join(dir, 'etcd'), members: 1 });
    const start = (id: string) =>
      startControlPlane({ dataDir: join(dir, id), backend: 'etcd', etcd: { endpoints: etcd.endpoints }, listen: '127.0.0.1:0', envToken: 'readyz-admin-token', election: { id, ttlMs: 2000 } });
    let a: RunningControlPlane | undefined;
    let b: RunningControlPlane | undefined;
    try {
      a = await start('a');
      await waitFor('a to lead', async () => (await readyz(a!)).leading);
      b = await start('b');
      const rb = await readyz(b);
      assert.equal(rb.replica, 'b');
      assert.equal(rb.leading, false);
      assert.equal(rb.leader?.id, 'a');
      assert.equal(rb.leader?.url, a.url);
      // `drover get leader` (built dist) asks every URL it is given and prints each one's view. (The list
      // through DROVER_SERVER: `--server` takes several URLs once the clients fail over between them.)
      const env = { ...process.env, DROVER_SERVER: `${a.url},${b.url}`, DROVER_TOKEN: 'readyz-admin-token', DROVER_CONFIG: join(dir, 'none.yaml') };
      const { stdout } = await run(process.execPath, [droverBin, 'get', 'leader'], { env });
      const rows = stdout.trim().split('\n');
      assert.match(rows[0]!, /^ASKED\s+REPLICA\s+READY\s+LEADER\s+SINCE/);
      assert.match(rows[1]!, new RegExp(`^${a.url}\\s+a\\s+yes\\s+a\\s+`));
      assert.match(rows[2]!, new RegExp(`^${b.url}\\s+b\\s+yes\\s+a\\s+`));
      const stoppedAt = Date.now();
      await a.stop();
      a = undefined;
      await waitFor('b to lead', async () => {
        const r = await readyz(b!);
        return r.leading && r.leader?.id === 'b';
      });
      // A clean stop gives the lease back: no TTL to wait out.
      assert.ok(Date.now() - stoppedAt < 1500, `hand-over after a clean stop took ${Date.now() - stoppedAt} ms`);
    } finally {
      await a?.stop();
      await b?.stop();
      await etcd.stop();
    }
  });
});
