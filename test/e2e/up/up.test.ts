/**
 * `drover up` end to end, one run through the scenarios of issue 3: start, agent restart, cluster loss,
 * a broken fleet, shutdown. Real processes (built dist), real sockets, the process table as the judge.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Cluster } from '../../../src/api/kinds/cluster.js';
import type { Prod } from '../../../src/api/kinds/prod.js';
import type { RemoteStore } from '../../../src/client/remote-store.js';
import { isAlive } from '../../../src/drivers/local/process-table.js';
import { readState } from '../../../src/drivers/local/state-file.js';
import { clustersFile, UpRun } from '../../helpers/drover-up.js';
import { waitFor } from '../../helpers/wait-for.js';

// osaka's agent is restarted on purpose (re-adoption); on a loaded machine the restart can outlast the
// default 3 s grace, and then the cluster is rightly declared lost and its Prods replaced, not re-adopted.
// tokyo keeps the default grace: its test checks loss detection within it, and has a short eviction
// timeout (default 5 minutes) so that its Prods are replaced within the test.
const up = new UpRun(clustersFile(6, 4, { osaka: 20_000 }, { tokyo: 2000 }));
let store: RemoteStore;

async function prods(): Promise<Prod[]> {
  return (await store.list('Prod')).items;
}

async function clusters(): Promise<Map<string, Cluster>> {
  return new Map((await store.list('Cluster')).items.map((c) => [c.metadata.name, c]));
}

/** Workload pids by Prod name, from every agent's state file. */
function workloads(): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const c of ['tokyo', 'osaka', 'onprem']) {
    for (const r of readState(join(up.dir, 'data', 'agents', c))) if (isAlive(r.pid)) out.set(r.prod, [...(out.get(r.prod) ?? []), r.pid]);
  }
  return out;
}

/** Every live web Prod has exactly one workload, and no workload runs for anything else. */
async function assertOneWorkloadPerProd(): Promise<void> {
  const live = (await prods()).filter((p) => p.status?.phase === 'Ready').map((p) => p.metadata.name).sort();
  const w = workloads();
  assert.deepEqual([...w.keys()].sort(), live, 'workloads match the Ready Prods');
  for (const [name, pids] of w) assert.equal(pids.length, 1, `one process for ${name}`);
}

async function allReady(n: number, except?: string): Promise<Prod[] | undefined> {
  const ps = (await prods()).filter((p) => p.spec.fleet === 'web');
  const ok = ps.length === n && ps.every((p) => p.status?.phase === 'Ready' && p.spec.cluster !== except);
  return ok ? ps : undefined;
}

before(async () => {
  store = await up.running();
});

after(async () => {
  // A shutdown that hangs must not keep this run's processes (and the machine's heavy-test lock) alive.
  await Promise.race([up.stop(), new Promise((r) => setTimeout(r, 20_000).unref())]);
  up.cleanup();
});

describe('drover up', () => {
  it('starts three Ready clusters and six Ready Prods whose endpoints answer', async () => {
    const cs = await waitFor('3 clusters Ready', async () => {
      const m = await clusters();
      return [...m.values()].filter((c) => c.status?.phase === 'Ready').length === 3 && m;
    });
    assert.deepEqual([...cs.keys()].sort(), ['onprem', 'osaka', 'tokyo']);
    const ps = await waitFor('6 Prods Ready', () => allReady(6));
    assert.equal(new Set(ps.map((p) => p.spec.cluster)).size, 3, 'spread over the three domains');
    for (const p of ps) {
      const body = (await (await fetch(`${p.status?.endpoint}/`)).json()) as { prod: string; version: string };
      assert.deepEqual(body, { ...body, prod: p.metadata.name, version: 'v1' });
    }
    const { stdout } = await up.drover('get', 'prods');
    for (const p of ps) assert.match(stdout, new RegExp(`${p.metadata.name}\\s+web\\s+${p.spec.cluster}\\s+v1\\s+Ready`));
    await assertOneWorkloadPerProd();
  });

  it('prints the edge URL, and the edge serves the fleet', async () => {
    const edge = /^edge: (http:\/\/127\.0\.0\.1:\d+)$/m.exec(up.output)?.[1];
    assert.ok(edge, 'drover up printed the edge URL');
    const body = await waitFor('an answer through the edge', async () => {
      const res = await fetch(`${edge}/`);
      return res.status === 200 && ((await res.json()) as { prod: string });
    });
    assert.ok((await prods()).some((p) => p.metadata.name === body.prod), `${body.prod} is one of the Prods`);
  });

  it('an agent that restarts re-adopts its workloads: no duplicate, no orphan', async () => {
    const agentPid = (await clusters()).get('osaka')?.status?.agent?.pid;
    assert.ok(agentPid !== undefined);
    const before = new Map([...workloads()].filter(([name]) => name));
    process.kill(agentPid, 'SIGKILL'); // the agent only: its workloads keep running
    await waitFor('agent gone', () => !isAlive(agentPid));
    await up.drover('chaos', 'restore', 'osaka');
    await waitFor('osaka back with a new agent', async () => {
      const c = (await clusters()).get('osaka');
      return c?.status?.phase === 'Ready' && c.status.agent?.pid !== agentPid;
    });
    const ps = await waitFor('6 Prods Ready', () => allReady(6));
    await assertOneWorkloadPerProd();
    // Prods that stayed on osaka are served by the very processes that served them before.
    for (const p of ps.filter((x) => x.spec.cluster === 'osaka')) {
      const was = before.get(p.metadata.name);
      if (was) assert.deepEqual(workloads().get(p.metadata.name), was, `${p.metadata.name} was re-adopted`);
    }
  });

  it('a killed cluster turns NotReady within its grace and its Prods are replaced elsewhere after its eviction timeout', async () => {
    const c = (await clusters()).get('tokyo')!;
    const agentPid = c.status?.agent?.pid;
    const lost = (await prods()).filter((p) => p.spec.cluster === 'tokyo').map((p) => p.metadata.name);
    const lostPids = lost.flatMap((n) => workloads().get(n) ?? []);
    await up.drover('chaos', 'kill-cluster', 'tokyo');
    // The kill happened inside that command, before it returned: time detection from here (a lower bound).
    const t0 = Date.now();
    assert.ok(agentPid !== undefined && !isAlive(agentPid), 'the agent is dead');
    assert.ok(lostPids.every((pid) => !isAlive(pid)), 'its workloads are dead');
    await waitFor('tokyo NotReady', async () => (await clusters()).get('tokyo')?.status?.phase === 'NotReady', { timeoutMs: 10_000 });
    const detectMs = Date.now() - t0;
    // Heartbeat grace 3 s after the last heartbeat, plus the controller's and this poll's latency.
    assert.ok(detectMs < 4500, `NotReady after ${detectMs}ms`);
    const ps = await waitFor('6 Prods Ready, none on tokyo', () => allReady(6, 'tokyo'), { timeoutMs: 30_000 });
    assert.ok(lost.every((n) => !ps.some((p) => p.metadata.name === n)), 'the lost Prods were replaced, not repaired');
    await assertOneWorkloadPerProd();
  });

  it('a Fleet whose command does not exist reports the reason, with backoff, and leaves the rest alone', async () => {
    const file = join(up.dir, 'broken.yaml');
    writeFileSync(
      file,
      `apiVersion: drover.dev/v1alpha1
kind: Fleet
metadata: { name: broken }
spec: { prods: 1, version: v1, app: { command: drover-no-such-command } }
`,
    );
    await up.drover('apply', '-f', file);
    const p = await waitFor(
      'broken Prod Failed after restarts',
      async () => (await prods()).find((x) => x.spec.fleet === 'broken' && x.status?.phase === 'Failed' && x.status.restarts >= 2),
      { timeoutMs: 30_000 },
    );
    const { stdout } = await up.drover('describe', 'prod', p.metadata.name);
    assert.match(stdout, /spawn drover-no-such-command ENOENT \(restart \d+ in \d+ms\)/);
    assert.match(stdout, /Failed/);
    assert.ok(await allReady(6, 'tokyo'), 'the web fleet is unaffected');
  });

  it('stops everything on SIGTERM, leaving no process of the run', async () => {
    const pids = up.processes();
    assert.ok(pids.length >= 1 + 1 + 2 + 6, `up, the edge, two agents and the workloads run (${pids.length})`);
    assert.equal(await up.stop(), 0);
    await waitFor('no process left', () => pids.every((pid) => !isAlive(pid)) && up.processes().length === 0, { timeoutMs: 5000 });
  });
});
