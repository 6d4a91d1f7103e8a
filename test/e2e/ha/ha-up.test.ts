/**
 * `drover up --ha` as a new user runs it (built dist): three clusters, a fleet and its tenants, a 3-member
 * etcd, three server replicas, users on every tenant through the edge. Kill the leader with SIGKILL: `up`
 * prints the hand-over, starts the killed replica again, and the Prods stay the same; then SIGKILL etcd's
 * own leader member. No user request fails throughout; Ctrl-C stops everything. Run it under
 * `flock /tmp/drover-heavy.lock`.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { readConfig } from '../../../src/cli/config.js';
import { RemoteStore } from '../../../src/client/remote-store.js';
import { etcdBinary } from '../../../src/up/etcd-cluster.js';
import { Etcd3 } from 'etcd3';
import { clustersFile, droverBin, processesIn, tenantHosts, tenantsFile } from '../../helpers/drover-up.js';
import { TrafficLoop } from '../../helpers/traffic-loop.js';
import { waitFor } from '../../helpers/wait-for.js';

const run = promisify(execFile);
const skip = etcdBinary() ? false : 'etcd binary missing: apt-get install etcd-server';
const dir = mkdtempSync(join(tmpdir(), 'drover-up-ha-'));
const tenants = ['alpha', 'beta', 'gamma', 'delta'];

/** The pid of the etcd member that leads etcd's Raft group, among the members `up` printed. */
async function etcdLeaderPid(endpoints: string[]): Promise<{ url: string; pid: number }> {
  for (const url of endpoints) {
    const c = new Etcd3({ hosts: url });
    try {
      const s = await c.maintenance.status();
      if (s.header.member_id !== s.leader) continue;
    } finally {
      c.close();
    }
    for (const pid of processesIn(dir)) {
      const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (args[args.indexOf('--listen-client-urls') + 1] === url) return { url, pid };
    }
  }
  throw new Error(`no etcd member of ${endpoints.join(', ')} says it leads`);
}

after(() => {
  for (const pid of processesIn(dir)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('drover up --ha', { skip }, () => {
  it('starts etcd and three replicas; a SIGKILLed leader is taken over, started again, the Prods stay; then etcd loses its leader member; no user request fails', async () => {
    const file = join(dir, 'clusters.yaml');
    writeFileSync(file, clustersFile(3) + tenantsFile(tenants, (i) => 10 + i));
    const { DROVER_TOKEN: _t, DROVER_SERVER: _s, ...rest } = process.env;
    const env = { ...rest, DROVER_CONFIG: join(dir, 'config.yaml') };
    const up = spawn(process.execPath, [droverBin, 'up', file, '--ha', '--data', join(dir, 'data'), '--port', '0', '--edge-port', '0'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    up.stdout.on('data', (b: Buffer) => (out += b.toString()));
    up.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const exited = new Promise<number | null>((res) => up.once('exit', (code) => res(code)));
    try {
      await waitFor('drover up --ha to be running', () => {
        if (up.exitCode !== null) throw new Error(`up exited: ${out}`);
        return out.includes('drover up is running');
      }, { timeoutMs: 180_000, intervalMs: 200, retryIf: (e) => !(e instanceof Error && e.message.startsWith('up exited')) });
      assert.match(out, /etcd: 3 members/);
      const first = /leader: (server\d) \(pid (\d+)\) runs the controllers since/.exec(out);
      assert.ok(first, out);
      const cfg = readConfig(join(dir, 'config.yaml'));
      const store = new RemoteStore({ server: cfg.server!, ...(cfg.token ? { token: cfg.token } : {}) });
      let traffic: TrafficLoop | undefined;
      try {
        const prods = async () => (await store.list('Prod')).items.filter((p) => !p.spec.retire).map((p) => p.metadata.name).sort();
        const before = await prods();
        assert.equal(before.length, 3);
        const edge = /^edge: (http:\/\/127\.0\.0\.1:\d+)$/m.exec(out)?.[1];
        assert.ok(edge, out);
        traffic = new TrafficLoop(edge, tenantHosts(tenants));
        await waitFor('every tenant served through the edge', () => traffic!.ok >= tenants.length * 5, { timeoutMs: 20_000 });
        const { stdout } = await run(process.execPath, [droverBin, 'get', 'leader'], { env });
        assert.match(stdout, new RegExp(`\\s${first[1]}\\s`));
        const killedAt = Date.now();
        process.kill(Number(first[2]), 'SIGKILL');
        const over = await waitFor('the hand-over line', () => new RegExp(`leader: (server\\d) \\(pid \\d+\\) runs the controllers since \\S+, taking over from ${first[1]}`).exec(out), { timeoutMs: 30_000, intervalMs: 50 });
        console.log(`up --ha: ${first[1]} SIGKILLed, ${over[1]} leads after ${Date.now() - killedAt} ms (as printed by up)`);
        assert.notEqual(over[1], first[1]);
        await waitFor('the killed replica to be started again', () => out.includes(`${first[1]}: killed by SIGKILL; starting it again`), { timeoutMs: 10_000 });
        // The edge and agents were told the first replica; whichever was killed, the Prods are the same ones.
        await waitFor('the same Prods', async () => JSON.stringify(await prods()) === JSON.stringify(before), { timeoutMs: 30_000 });

        const endpoints = /^etcd: 3 members (\S+)/m.exec(out)?.[1]?.split(',') ?? [];
        const member = await etcdLeaderPid(endpoints);
        process.kill(member.pid, 'SIGKILL');
        const atKill = traffic.ok;
        await store.create({ apiVersion: 'drover.dev/v1alpha1', kind: 'Tenant', metadata: { name: 'after-etcd-kill', labels: {}, annotations: {}, finalizers: [], ownerReferences: [] }, spec: { fleet: 'web', users: 1 } });
        await waitFor('users served after the etcd leader died', () => traffic!.ok >= atKill + 50, { timeoutMs: 20_000 });
        console.log(`up --ha: etcd leader ${member.url} SIGKILLed; the API took a write, users kept being served`);
        await traffic.stop();
        assert.deepEqual(traffic.failed.map((f) => `${new Date(f.at).toISOString()} ${f.host}: ${f.why}`), [], 'no user request failed through the leader and etcd kills');
      } finally {
        await traffic?.stop();
        await store.close();
      }
      up.kill('SIGINT');
      assert.equal(await exited, 0);
      assert.match(out, /stopped/);
    } finally {
      if (up.exitCode === null) up.kill('SIGKILL');
    }
  });
});
