/**
 * `drover up --ha` as a new user runs it (built dist): three clusters and a fleet, a 3-member etcd, three
 * server replicas. Kill the leader with SIGKILL: `up` prints the hand-over, starts the killed replica again,
 * and the Prods stay the same; Ctrl-C stops everything. Run it under `flock /tmp/drover-heavy.lock`.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { readConfig } from '../../../src/cli/config.js';
import { RemoteStore } from '../../../src/client/remote-store.js';
import { etcdBinary } from '../../../src/up/etcd-cluster.js';
import { clustersFile, droverBin, processesIn } from '../../helpers/drover-up.js';
import { waitFor } from '../../helpers/wait-for.js';

const run = promisify(execFile);
const skip = etcdBinary() ? false : 'etcd binary missing: apt-get install etcd-server';
const dir = mkdtempSync(join(tmpdir(), 'drover-up-ha-'));

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
  it('starts etcd and three replicas; a SIGKILLed leader is taken over, started again, and the Prods stay', async () => {
    const file = join(dir, 'clusters.yaml');
    writeFileSync(file, clustersFile(3));
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
      try {
        const prods = async () => (await store.list('Prod')).items.filter((p) => !p.spec.retire).map((p) => p.metadata.name).sort();
        const before = await prods();
        assert.equal(before.length, 3);
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
      } finally {
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
