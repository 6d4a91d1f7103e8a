import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Agent } from '../../../src/agent/agent.js';
import type { Prod, ProdPhase } from '../../../src/api/kinds/prod.js';
import { LocalDriver } from '../../../src/drivers/local/local-driver.js';
import { groupMembers, isAlive } from '../../../src/drivers/local/process-table.js';
import { readState } from '../../../src/drivers/local/state-file.js';
import { MemoryStore } from '../../../src/store/memory/memory-store.js';
import { exampleAppPath, fleet, prod as prodDoc } from '../../helpers/fixtures.js';
import { waitFor } from '../../helpers/wait-for.js';

const dir = mkdtempSync(join(tmpdir(), 'drover-agent-'));
const store = new MemoryStore();
const agents: Agent[] = [];
const seenPids = new Set<number>();

async function startAgent(): Promise<Agent> {
  const driver = await LocalDriver.open({ stateDir: dir, healthIntervalMs: 50, stopGraceMs: 2000, backoff: { baseMs: 100, capMs: 1000, resetAfterMs: 10_000 } });
  const agent = new Agent({ store, driver, cluster: { name: 'tokyo', region: 'ap-northeast-1', domain: 'apne1', capacity: 5 }, heartbeatMs: 100, resyncMs: 300, drainMs: 200, log: () => {} });
  agents.push(agent);
  await agent.start();
  return agent;
}

async function prod(name: string): Promise<Prod | undefined> {
  return store.get('Prod', name);
}

async function phaseOf(name: string): Promise<ProdPhase | undefined> {
  return (await prod(name))?.status?.phase;
}

function pidOf(name: string): number | undefined {
  const pid = readState(dir).find((r) => r.prod === name)?.pid;
  if (pid !== undefined) seenPids.add(pid);
  return pid;
}

after(async () => {
  for (const a of agents) await a.stop();
  for (const pid of seenPids) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('Agent with the local driver', () => {
  let agent: Agent;
  const phases: ProdPhase[] = [];

  it('registers its cluster and heartbeats into its status', async () => {
    agent = await startAgent();
    const c = await waitFor('heartbeat', async () => {
      const cl = await store.get('Cluster', 'tokyo');
      return cl?.status?.lastHeartbeat ? cl : undefined;
    });
    assert.equal(c.spec.provider, 'local');
    assert.equal(c.spec.region, 'ap-northeast-1');
    assert.equal(c.spec.domain, 'apne1');
    assert.equal(c.spec.capacity.prods, 5);
    assert.equal(c.status?.agent?.pid, process.pid);
    const first = c.status?.lastHeartbeat ?? '';
    await waitFor('next heartbeat', async () => ((await store.get('Cluster', 'tokyo'))?.status?.lastHeartbeat ?? '') > first);
  });

  it('runs the Prods bound to its cluster through Provisioning and WarmingUp to Ready, and only those', async () => {
    const watch = new AbortController();
    void (async () => {
      for await (const ev of store.watch({ kind: 'Prod', name: 'web-1', signal: watch.signal })) {
        const p = (ev.object as Prod).status?.phase;
        if (p && phases.at(-1) !== p) phases.push(p);
      }
    })().catch(() => {});
    await store.create(fleet('web', { app: { command: process.execPath, args: [exampleAppPath] }, prods: 1, warmup: { requests: 3 } }));
    await store.create(prodDoc('web-1', { fleet: 'web', cluster: 'tokyo', version: 'v2' }));
    await store.create(prodDoc('web-2', { fleet: 'web', cluster: 'osaka' }));
    const p = await waitFor('web-1 Ready', async () => {
      const x = await prod('web-1');
      return x?.status?.phase === 'Ready' && x;
    });
    watch.abort();
    assert.deepEqual(phases, ['Provisioning', 'WarmingUp', 'Ready']);
    assert.equal(p.status?.version, 'v2');
    assert.equal(p.status?.warmupPassed, 3);
    assert.ok(p.status?.readySince);
    const body = (await (await fetch(`${p.status?.endpoint}/`)).json()) as { prod: string; version: string };
    assert.deepEqual([body.prod, body.version], ['web-1', 'v2']);
    assert.equal(await phaseOf('web-2'), undefined, 'a Prod of another cluster is left alone');
    assert.deepEqual(readState(dir).map((r) => r.prod), ['web-1']);
  });

  it('reports a Fleet whose command does not exist as Failed with the reason, without disturbing the others', async () => {
    await store.create(fleet('broken', { app: { command: 'drover-no-such-command' }, prods: 1, warmup: { requests: 2 } }));
    await store.create(prodDoc('broken-1', { fleet: 'broken', cluster: 'tokyo' }));
    const p = await waitFor('broken-1 Failed after a restart', async () => {
      const x = await prod('broken-1');
      return x?.status?.phase === 'Failed' && x.status.restarts >= 1 && x;
    });
    assert.match(p.status?.message ?? '', /spawn drover-no-such-command ENOENT/);
    assert.equal(await phaseOf('web-1'), 'Ready');
  });

  it('drains and stops a retired Prod, then marks it Retired', async () => {
    const pid = pidOf('web-1')!;
    const cur = (await prod('web-1'))!;
    await store.update({ ...cur, spec: { ...cur.spec, retire: true } });
    await waitFor('Draining', async () => (await phaseOf('web-1')) === 'Draining' || (await phaseOf('web-1')) === 'Retired');
    const p = await waitFor('Retired', async () => {
      const x = await prod('web-1');
      return x?.status?.phase === 'Retired' && x;
    });
    assert.equal(p.status?.endpoint, undefined);
    assert.equal(isAlive(pid), false);
    assert.ok(!readState(dir).some((r) => r.prod === 'web-1'));
  });

  it('stops the workload of a deleted Prod', async () => {
    await store.create(prodDoc('web-3', { fleet: 'web', cluster: 'tokyo' }));
    await waitFor('web-3 Ready', async () => (await phaseOf('web-3')) === 'Ready');
    const pid = pidOf('web-3')!;
    await store.delete('Prod', 'web-3');
    await waitFor('web-3 stopped', () => !isAlive(pid) && !readState(dir).some((r) => r.prod === 'web-3'));
  });

  it('re-adopts its workloads when the agent restarts: same process, no return to WarmingUp', async () => {
    await store.delete('Prod', 'broken-1');
    await store.create(prodDoc('web-4', { fleet: 'web', cluster: 'tokyo' }));
    const before = await waitFor('web-4 Ready', async () => {
      const x = await prod('web-4');
      return x?.status?.phase === 'Ready' && x;
    });
    const pid = pidOf('web-4')!;
    await agent.stop({ stopWorkloads: false });
    assert.ok(isAlive(pid), 'workloads outlive an agent that detaches');

    const seen: ProdPhase[] = [];
    const watch = new AbortController();
    void (async () => {
      for await (const ev of store.watch({ kind: 'Prod', name: 'web-4', signal: watch.signal })) {
        const p = (ev.object as Prod).status?.phase;
        if (p) seen.push(p);
      }
    })().catch(() => {});
    agent = await startAgent();
    await agent.settled();
    await agent.settled();
    watch.abort();
    assert.ok(!seen.some((p) => p !== 'Ready'), `phases after restart: ${seen.join(',')}`);
    assert.equal(pidOf('web-4'), pid, 'the same process serves');
    assert.deepEqual(readState(dir).map((r) => r.prod), ['web-4'], 'no duplicates, nothing else left');
    assert.equal((await prod('web-4'))?.status?.readySince, before.status?.readySince);
  });

  it('stops every workload when it shuts down', async () => {
    const pid = pidOf('web-4')!;
    await agent.stop();
    assert.equal(isAlive(pid), false);
    assert.deepEqual(groupMembers(pid), []);
    assert.deepEqual(readState(dir), []);
  });
});
