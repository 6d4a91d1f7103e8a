/**
 * Issue 12 "What was seen" items 2 and 3 on real, separate processes (built dist): `drover server`, and
 * one `drover agent` per cluster with the example app as workloads. A paused agent (SIGSTOP for several
 * heartbeat graces) and a control plane SIGKILLed and restarted after several graces must delete no
 * Prod; the paused cluster turns NotReady (traffic moves), comes back, and keeps its Prods.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Cluster } from '../../../src/api/kinds/cluster.js';
import type { Prod } from '../../../src/api/kinds/prod.js';
import { RemoteStore } from '../../../src/client/remote-store.js';
import { exampleAppPath, fleet } from '../../helpers/fixtures.js';
import { droverBin, processesIn } from '../../helpers/drover-up.js';
import { waitFor } from '../../helpers/wait-for.js';

const grace = 1000;
/** Long pauses, measured in graces: the verdict must be NotReady, and still nothing is deleted. */
const pauseMs = 6 * grace;
const token = 'patience-admin-token';
const dir = mkdtempSync(join(tmpdir(), 'drover-patience-'));
const names = ['tokyo', 'osaka', 'onprem'] as const;

class Proc {
  output = '';
  readonly exited: Promise<number | null>;
  constructor(readonly child: ChildProcess) {
    child.stdout?.on('data', (b: Buffer) => (this.output += b.toString()));
    child.stderr?.on('data', (b: Buffer) => (this.output += b.toString()));
    this.exited = new Promise((res) => child.once('exit', (code) => res(code)));
  }
  get pid(): number {
    return this.child.pid ?? -1;
  }
}

function drover(args: string[]): Proc {
  const { DROVER_SERVER: _s, ...env } = process.env;
  return new Proc(spawn(process.execPath, [droverBin, ...args], { cwd: dir, env: { ...env, DROVER_TOKEN: token, DROVER_CONFIG: join(dir, 'config.yaml') }, stdio: ['ignore', 'pipe', 'pipe'] }));
}

let server: Proc;
let url = '';
const agents = new Map<string, Proc>();
let store: RemoteStore;

async function startServer(listen: string): Promise<void> {
  server = drover(['server', '--data', join(dir, 'data'), '--listen', listen, '--no-write-config']);
  const m = await waitFor('the server to listen', () => /listening on (http:\/\/\S+)/.exec(server.output)?.[1], { timeoutMs: 30_000 });
  url = m;
}

async function webProds(): Promise<Prod[]> {
  return (await store.list('Prod')).items.filter((p) => p.spec.fleet === 'web');
}

async function phase(name: string): Promise<string | undefined> {
  return (await store.get('Cluster', name))?.status?.phase;
}

function spread(ps: readonly Prod[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of names) out[n] = ps.filter((p) => p.spec.cluster === n && !p.spec.retire).length;
  return out;
}

async function sixReady(): Promise<Prod[] | undefined> {
  const ps = await webProds();
  return ps.length === 6 && ps.every((p) => p.status?.phase === 'Ready' && !p.spec.retire) ? ps : undefined;
}

async function deletions(): Promise<string[]> {
  return (await store.list('Event')).items.filter((e) => e.spec.reason === 'ProdDeleted' || e.spec.reason === 'ProdRetiring').map((e) => e.spec.message);
}

before(async () => {
  await startServer('127.0.0.1:0');
  store = new RemoteStore({ server: url, token });
  for (const n of names) {
    await store.create(Cluster.parse({ apiVersion: 'drover.dev/v1alpha1', kind: 'Cluster', metadata: { name: n }, spec: { region: n, domain: n, capacity: { prods: 4 }, heartbeatGraceMs: grace } }));
  }
  for (const n of names) {
    agents.set(n, drover(['agent', '--cluster', n, '--server', url, '--state-dir', join(dir, 'agents', n)]));
  }
  await waitFor('three clusters Ready', async () => (await store.list('Cluster')).items.every((c) => c.status?.phase === 'Ready'), { timeoutMs: 30_000 });
  await store.create(fleet('web', { app: { command: process.execPath, args: [exampleAppPath] }, prods: 6, warmup: { requests: 2 } }));
  await waitFor('six Ready Prods spread 2/2/2', async () => {
    const ps = await sixReady();
    return ps && JSON.stringify(spread(ps)) === JSON.stringify({ tokyo: 2, osaka: 2, onprem: 2 });
  }, { timeoutMs: 60_000 });
});

after(async () => {
  for (const a of agents.values()) {
    try {
      process.kill(a.pid, 'SIGCONT');
    } catch {
      /* gone */
    }
    a.child.kill('SIGTERM');
  }
  await Promise.all([...agents.values()].map((a) => a.exited));
  server.child.kill('SIGTERM');
  await server.exited;
  await store.close();
  for (const pid of processesIn(dir)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('patience before destruction (real processes)', () => {
  it(`an agent paused for ${pauseMs} ms (grace ${grace} ms): NotReady, 0 Prods deleted, its Prods kept after SIGCONT`, async () => {
    const before = (await sixReady())!;
    const removalsBefore = await deletions();
    const osaka = agents.get('osaka')!;
    process.kill(osaka.pid, 'SIGSTOP');
    const stoppedAt = Date.now();
    try {
      await waitFor('osaka NotReady', async () => (await phase('osaka')) === 'NotReady', { timeoutMs: 10_000 });
      const left = pauseMs - (Date.now() - stoppedAt);
      // A pause of fixed length is the scenario itself (the agent is frozen, there is no state to wait on).
      if (left > 0) await new Promise((r) => setTimeout(r, left));
      const unknown = (await webProds()).filter((p) => p.spec.cluster === 'osaka');
      assert.equal(unknown.length, 2, 'osaka keeps its two Prods while unreachable');
      for (const p of unknown) {
        assert.equal(p.spec.retire, false);
        assert.equal(p.status?.conditions.find((c) => c.type === 'ClusterReady')?.reason, 'ClusterUnreachable');
      }
    } finally {
      process.kill(osaka.pid, 'SIGCONT');
    }
    await waitFor('osaka Ready again', async () => (await phase('osaka')) === 'Ready', { timeoutMs: 10_000 });
    const after = await waitFor('six Ready Prods', sixReady, { timeoutMs: 10_000 });
    assert.deepEqual(after.map((p) => p.metadata.name).sort(), before.map((p) => p.metadata.name).sort(), '0 Prods deleted or replaced');
    assert.deepEqual(spread(after), { tokyo: 2, osaka: 2, onprem: 2 });
    assert.deepEqual(await deletions(), removalsBefore, 'no Prod retired or deleted');
  });

  it(`the control plane SIGKILLed for ${pauseMs} ms and restarted: 0 Prods deleted`, async () => {
    const before = (await sixReady())!;
    const removalsBefore = await deletions();
    const port = new URL(url).port;
    server.child.kill('SIGKILL');
    await server.exited;
    const downAt = Date.now();
    // The outage itself is the scenario: its length is the point, no state to wait on.
    await new Promise((r) => setTimeout(r, pauseMs));
    await startServer(`127.0.0.1:${port}`);
    const restartedAt = Date.now();
    assert.ok(restartedAt - downAt >= pauseMs);
    // Every stored heartbeat is now older than the grace; give the new control plane three graces to
    // have judged (and, with the old rules, deleted) — then check nothing was deleted.
    await waitFor('every cluster Ready after the restart', async () => (await store.list('Cluster')).items.every((c) => c.status?.phase === 'Ready'), { timeoutMs: 10_000 });
    await waitFor('three graces after the restart', () => Date.now() - restartedAt > 3 * grace, { timeoutMs: 10_000 });
    const after = await waitFor('six Ready Prods', sixReady, { timeoutMs: 10_000 });
    assert.deepEqual(after.map((p) => p.metadata.name).sort(), before.map((p) => p.metadata.name).sort(), '0 Prods deleted or replaced');
    assert.deepEqual(await deletions(), removalsBefore, 'no Prod retired or deleted');
    const held = (await store.list('Event')).items.filter((e) => e.spec.reason === 'NotReady');
    assert.ok(
      held.every((e) => Date.parse(e.spec.lastTimestamp) < restartedAt),
      `no cluster called NotReady after the restart: ${held.map((e) => `${e.spec.involvedObject.name} ${e.spec.lastTimestamp}`).join(', ')}`,
    );
  });
});
