/**
 * A crash of `drover up` is not an outage (issue 12): SIGKILL `up` while users send requests to every
 * tenant through the edge; its agents, workloads, edge and the example legacy backend keep serving; the next `up` on the same data dir
 * adopts them (same Prods, no replacement) and its Ctrl-C still leaves no process behind. A port held by
 * a stranger makes `up` fail loudly instead of printing "edge: started". Real processes (built dist).
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { Prod } from '../../../src/api/kinds/prod.js';
import { freePort } from '../../../src/drivers/local/net.js';
import { isAlive } from '../../../src/drivers/local/process-table.js';
import { readState } from '../../../src/drivers/local/state-file.js';
import { clustersFile, processesIn, tenantHosts, tenantsFile, UpRun } from '../../helpers/drover-up.js';
import { TrafficLoop } from '../../helpers/traffic-loop.js';
import { waitFor } from '../../helpers/wait-for.js';

const tenants = ['alpha', 'bravo', 'charlie', 'delta'];
const fileText = clustersFile(6, 4) + tenantsFile(tenants, (i) => 10 + i);

const runs: UpRun[] = [];
/** Stopped in `after` too: a failed assertion must not leave the loops keeping the file alive. */
const loops: TrafficLoop[] = [];
after(async () => {
  for (const l of loops) await l.stop();
  for (const r of runs) {
    await r.stop().catch(() => undefined);
    r.cleanup();
  }
});

function edgeUrl(output: string): string {
  const edge = /^edge: (http:\/\/127\.0\.0\.1:\d+)$/m.exec(output)?.[1];
  assert.ok(edge, 'drover up printed the edge URL');
  return edge;
}

function readyProds(items: Prod[]): string[] {
  return items.filter((p) => p.spec.fleet === 'web' && p.status?.phase === 'Ready').map((p) => p.metadata.name).sort();
}

describe('drover up crash', () => {
  it('SIGKILL of up: no failed request, and the next up adopts agents, edge and Prods; its Ctrl-C leaves nothing', async () => {
    // With the example legacy backend on a fixed port, as the shipped example runs it on 8090: the next up
    // used to fail on the port the survivor held, and stopped everything it had adopted on the way out.
    const legacyPort = await freePort();
    const legacyArgs = ['--legacy-port', String(legacyPort)];
    const first = new UpRun(fileText, { args: legacyArgs });
    runs.push(first);
    const store1 = await first.running();
    const before = await waitFor('6 Prods Ready', async () => {
      const r = readyProds((await store1.list('Prod')).items);
      return r.length === 6 && r;
    }, { timeoutMs: 60_000 });
    const edge = edgeUrl(first.output);
    const traffic = new TrafficLoop(edge, tenantHosts(tenants));
    loops.push(traffic);
    await waitFor('every tenant served through the edge', () => traffic.ok >= tenants.length * 5 && traffic.failed.length === 0, { timeoutMs: 20_000 });
    const firstPids = first.processes();
    const upPid = first.child.pid!;
    const legacyPid = Number(/^legacy: example legacy backend \(pid (\d+)\)/m.exec(first.output)?.[1]);
    assert.ok(firstPids.includes(legacyPid), first.output);

    first.child.kill('SIGKILL');
    await first.exited;
    await store1.close();
    const atKill = traffic.ok;
    // The control plane is gone; agents, workloads and edge are not, and users are still served.
    await waitFor('traffic served with up dead', () => traffic.ok >= atKill + 100, { timeoutMs: 30_000 });
    const orphans = firstPids.filter((p) => p !== upPid);
    assert.ok(orphans.length >= 1 + 3 + 6 + 1, `edge, agents, workloads and the legacy backend outlive up (${orphans.length})`);
    assert.equal((await fetch(`http://127.0.0.1:${legacyPort}/`)).status, 200, 'the legacy backend serves with up dead');
    assert.deepEqual(orphans.filter((p) => !isAlive(p)), [], 'nothing of the first run died with it');

    const second = new UpRun(fileText, { dir: first.dir, args: legacyArgs });
    runs.push(second);
    const store2 = await second.running();
    assert.match(second.output, /^edge: adopted from the previous drover up \(pid \d+\)/m);
    assert.equal((second.output.match(/agent adopted from the previous drover up/g) ?? []).length, 3, second.output);
    assert.equal(edgeUrl(second.output), edge, 'the same edge URL');
    assert.match(second.output, new RegExp(`^legacy: example legacy backend adopted from the previous drover up \\(pid ${legacyPid}\\) on http://127\\.0\\.0\\.1:${legacyPort}$`, 'm'));
    const atServing = traffic.ok;
    await waitFor('traffic goes on', () => traffic.ok >= atServing + 100, { timeoutMs: 30_000 });
    await traffic.stop();
    assert.deepEqual(traffic.failed.map((f) => `${new Date(f.at).toISOString()} ${f.host}: ${f.why}`), [], 'no failed request from the SIGKILL until the next up serves');

    const prods = (await store2.list('Prod')).items;
    assert.deepEqual(readyProds(prods), before, 'the same Prods are Ready: none replaced');
    assert.ok(prods.every((p) => p.status?.phase === 'Ready'), 'and no other Prod appeared');
    // Every process of the first run is alive and owned by the second (its agents' workloads, its edge).
    const secondPids = second.processes();
    for (const p of orphans) assert.ok(secondPids.includes(p) && isAlive(p), `pid ${p} adopted`);
    for (const c of ['tokyo', 'osaka', 'onprem']) {
      for (const r of readState(join(first.dir, 'data', 'agents', c))) assert.ok(orphans.includes(r.pid), `workload ${r.prod} is the one from before`);
    }

    const data = join(first.dir, 'data');
    const mode = (p: string) => (statSync(p).mode & 0o777).toString(8);
    assert.deepEqual(
      [data, join(data, 'drover.db'), join(data, 'tokens.yaml'), join(data, 'agents', 'tokyo'), join(data, 'logs')].map(mode),
      ['700', '600', '600', '700', '700'],
      'data dir, database, tokens, agent state and logs are private',
    );

    // A third up on the same data dir while the second runs: refused, touching nothing.
    const third = new UpRun(fileText, { dir: first.dir, args: legacyArgs });
    runs.push(third);
    assert.notEqual(await third.exited, 0);
    assert.match(third.output, new RegExp(`drover up \\(pid ${second.child.pid}\\) is already running on`));
    assert.ok(second.processes().every((p) => isAlive(p)) && statSync(join(data, 'up.json')).isFile(), 'the running up is untouched');

    assert.equal(await second.stop(), 0);
    const all = [...new Set([...firstPids, ...secondPids])];
    await waitFor('no process of either run left', () => all.every((p) => !isAlive(p)) && processesIn(first.dir).length === 0, { timeoutMs: 15_000 });
    assert.throws(() => statSync(join(first.dir, 'data', 'up.json')), 'a clean stop leaves nothing to adopt');
  });

  it('an edge port held by a foreign process: up exits non-zero naming the port and the fix, starting nothing', async () => {
    const squatter: Server = createServer();
    await new Promise<void>((r) => squatter.listen(0, '127.0.0.1', r));
    const port = (squatter.address() as { port: number }).port;
    try {
      const dir = mkdtempSync(join(tmpdir(), 'drover-up-port-'));
      const run = new UpRun(fileText, { dir, edgePort: port });
      runs.push(run);
      const code = await run.exited;
      assert.notEqual(code, 0);
      assert.match(run.output, new RegExp(`port ${port} \\(--edge-port\\) is taken by pid ${process.pid}`));
      assert.match(run.output, /pass another --edge-port/);
      assert.doesNotMatch(run.output, /edge: started/);
      assert.deepEqual(processesIn(dir), [], 'no agent or edge was left running');
      rmSync(dir, { recursive: true, force: true });
    } finally {
      squatter.close();
    }
  });
});
