/**
 * Issue 18 on real processes (built dist, loopback): a 3-member etcd, 3 `drover server --backend etcd`
 * replicas that campaign (default lease TTL, 3 s), one API-only replica (`--no-controllers`) the test reads
 * through, three real agents given every replica's URL, running the example app as 6 Prods. Then:
 * - SIGKILL the leader under 8 writers: a new leader runs the controllers, every acknowledged write is
 *   there, the 6 Prods are the same 6 (none created twice, none replaced);
 * - SIGKILL the leader while a release bakes a wave: the next leader goes on from that wave; no wave starts
 *   twice and no successor is created twice (counted on the API's watch);
 * - SIGSTOP the leader past its lease, SIGCONT: it committed nothing after its lease expired (its last
 *   committed revision is below the revision at which etcd deleted its election key), then it follows;
 * - SIGKILL etcd's own leader member: the API keeps answering reads and writes.
 * Run it under `flock /tmp/drover-heavy.lock`.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Etcd3 } from 'etcd3';
import type { Prod } from '../../../src/api/kinds/prod.js';
import { ReleaseSpec, type Release } from '../../../src/api/kinds/release.js';
import { etcdBinary } from '../../../src/up/etcd-cluster.js';
import { droverBin, processesIn } from '../../helpers/drover-up.js';
import { cluster, exampleAppPath, fleet, tenant } from '../../helpers/fixtures.js';
import { HaControlPlane, haToken, type Replica } from '../../helpers/ha-cluster.js';
import { waitFor } from '../../helpers/wait-for.js';

const skip = etcdBinary() ? false : 'etcd binary missing: apt-get install etcd-server';
const names = ['tokyo', 'osaka', 'onprem'] as const;
const dir = mkdtempSync(join(tmpdir(), 'drover-ha-e2e-'));
let cp: HaControlPlane;
let apiOnly: Replica;
const agents: ChildProcess[] = [];

async function webProds(via: Replica): Promise<Prod[]> {
  return (await via.client().list('Prod')).items.filter((p) => p.spec.fleet === 'web' && !p.spec.retire);
}

/** `n` writers creating Tenants round-robin over the replicas that run; each keeps what was acknowledged. */
function writers(n: number, prefix: string, over: () => Replica[]) {
  const acked: string[] = [];
  const failed: string[] = [];
  let stop = false;
  const loops = Array.from({ length: n }, async (_, w) => {
    for (let i = 0; !stop; i++) {
      const live = over().filter((r) => r.running);
      const r = live[(w + i) % live.length];
      if (!r) break;
      const name = `${prefix}-${w}-${i}`;
      try {
        await r.client().create(tenant(name, { fleet: 'web' }));
        acked.push(name);
      } catch (e) {
        failed.push(`${name} via ${r.name}: ${e instanceof Error ? e.message : String(e)}`);
        await new Promise((res) => setTimeout(res, 20));
      }
    }
  });
  return {
    acked,
    failed,
    async stop() {
      stop = true;
      await Promise.all(loops);
    },
  };
}

before(async () => {
  if (skip) return;
  cp = await HaControlPlane.start({ dir });
  apiOnly = await cp.addReplica('api-only', ['--no-controllers']);
  const api = apiOnly.client();
  for (const n of names) await api.create(cluster(n, { region: n, domain: n, capacity: 4, spec: { heartbeatGraceMs: 2000 } }));
  const { DROVER_SERVER: _s, ...env } = process.env;
  for (const n of names) {
    // Every replica: an agent whose replica dies goes on through another (issue 18's client failover).
    agents.push(spawn(process.execPath, [droverBin, 'agent', '--cluster', n, '--server', cp.replicas.map((r) => r.url).join(','), '--state-dir', join(dir, 'agents', n)], { cwd: dir, env: { ...env, DROVER_TOKEN: haToken }, stdio: 'ignore' }));
  }
  await waitFor('three clusters Ready', async () => (await api.list('Cluster')).items.every((c) => c.status?.phase === 'Ready'), { timeoutMs: 60_000 });
  await api.create(fleet('web', { app: { command: process.execPath, args: [exampleAppPath] }, prods: 6, warmup: { requests: 2 } }));
  await waitFor('six Ready Prods', async () => {
    const ps = await webProds(apiOnly);
    return ps.length === 6 && ps.every((p) => p.status?.phase === 'Ready');
  }, { timeoutMs: 90_000 });
});

after(async () => {
  if (skip) return;
  for (const a of agents) a.kill('SIGTERM');
  await Promise.all(agents.map((a) => (a.exitCode === null && a.signalCode === null ? new Promise((r) => a.once('exit', r)) : Promise.resolve())));
  await cp?.stop();
  for (const pid of processesIn(dir)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

/** The etcd member that leads etcd's own Raft group now. */
async function etcdLeader() {
  for (const m of cp.etcd.members) {
    const c = new Etcd3({ hosts: m.clientUrl });
    try {
      const s = await c.maintenance.status();
      if (s.header.member_id === s.leader) return m;
    } finally {
      c.close();
    }
  }
  throw new Error('no etcd member says it leads');
}

describe('a highly available control plane (3 etcd members, 3 replicas, real agents)', { skip }, () => {
  it('SIGKILL of the leader under 8 writers: a new leader runs the controllers, no acknowledged write lost, no Prod created twice', async () => {
    const campaigners = () => cp.replicas.filter((r) => r !== apiOnly);
    const before = (await webProds(apiOnly)).map((p) => p.metadata.name).sort();
    const old = await cp.leader();
    const load = writers(8, 'k', () => cp.replicas);
    let next: Replica;
    let electedMs: number;
    let runningMs: number;
    let killedAt = 0;
    try {
      await waitFor('writes to flow', () => load.acked.length >= 40, { timeoutMs: 20_000 });
      killedAt = Date.now();
      old.kill('SIGKILL');
      next = await cp.leader({ timeoutMs: 20_000 });
      electedMs = Date.now() - killedAt;
      // Running the controllers: the new leader's own passes (a follower makes none).
      await waitFor('the new leader to reconcile', async () => (await next.metric('drover_reconcile_total', { result: 'success' })) > 0, { timeoutMs: 20_000, intervalMs: 50 });
      runningMs = Date.now() - killedAt;
      const ackedAtKill = load.acked.length;
      await waitFor('writes to go on after the hand-over', () => load.acked.length >= ackedAtKill + 40, { timeoutMs: 20_000 });
    } finally {
      await load.stop();
    }
    console.log(`leader ${old.name} SIGKILLed at ${new Date(killedAt).toISOString()}: ${next.name} elected after ${electedMs} ms, reconciling after ${runningMs} ms; ${load.acked.length} writes acknowledged, ${load.failed.length} failed (through the killed replica)`);
    console.log(next.output.split('\n').filter((l) => /elected|leading|lease/.test(l)).join('\n'));
    assert.notEqual(next, old);
    assert.ok(campaigners().includes(next));
    assert.ok(runningMs <= 10_000, `controllers running on the new leader ${runningMs} ms after the kill`);

    const stored = new Set((await apiOnly.client().list('Tenant')).items.map((t) => t.metadata.name));
    const lost = load.acked.filter((n) => !stored.has(n));
    assert.deepEqual(lost, [], 'every acknowledged write is stored');
    // A failed write may or may not have committed; it must not have been acknowledged, which is all we claim.
    const after = await waitFor('six Ready Prods', async () => {
      const ps = await webProds(apiOnly);
      return ps.length === 6 && ps.every((p) => p.status?.phase === 'Ready') ? ps : undefined;
    }, { timeoutMs: 30_000 });
    assert.deepEqual(after.map((p) => p.metadata.name).sort(), before, 'the same 6 Prods: none created twice, none replaced');
  });

  it('SIGKILL of the leader while a release bakes a wave: the new leader goes on from that wave, no wave runs twice, no successor is created twice', async () => {
    const api = apiOnly.client();
    const from = (await api.list('Prod')).resourceVersion;
    // Every Prod creation from here on, through the API's watch (a name created twice shows twice).
    const added: string[] = [];
    const abort = new AbortController();
    const watching = (async () => {
      try {
        for await (const ev of api.watch({ kind: 'Prod', resourceVersion: from, signal: abort.signal })) if (ev.type === 'ADDED') added.push(ev.object.metadata.name);
      } catch (e) {
        if (!abort.signal.aborted) throw e;
      }
    })();
    const spec = ReleaseSpec.parse({ fleet: 'web', version: 'v2', maxParallel: 2, bake: '4s', gates: [] });
    await api.create<Release>({ apiVersion: 'drover.dev/v1alpha1', kind: 'Release', metadata: { name: 'ha-r1', labels: {}, annotations: {}, finalizers: [], ownerReferences: [] }, spec });
    const release = async () => (await api.get<Release>('Release', 'ha-r1'))?.status;
    await waitFor('wave 1 to bake', async () => (await release())?.waves[1]?.state === 'Baking', { timeoutMs: 60_000 });
    const old = await cp.leader();
    old.kill('SIGKILL');
    let st: Awaited<ReturnType<typeof release>>;
    try {
      st = await waitFor('the release to end on the new leader', async () => {
        const x = await release();
        return x && ['Succeeded', 'RolledBack', 'Failed', 'Aborted'].includes(x.phase) ? x : undefined;
      }, { timeoutMs: 120_000 });
    } finally {
      await cp.restart(old);
    }
    abort.abort();
    await watching;
    assert.equal(st.phase, 'Succeeded', JSON.stringify(st.decisions.slice(-5)));
    const started = st.decisions.filter((d) => d.action === 'WaveStarted').map((d) => /^wave (\d+)/.exec(d.reason)?.[1]);
    assert.deepEqual(started, [...new Set(started)], `each wave started once: ${JSON.stringify(started)}`);
    assert.equal(started.length, st.waves.length);
    const successors = st.waves.flatMap((w) => w.replacements);
    assert.deepEqual([...added].sort(), [...successors].sort(), 'exactly the waves\' successors were created, each once');
    const prods = await webProds(apiOnly);
    assert.equal(prods.length, 6);
    assert.ok(prods.every((p) => p.spec.version === 'v2'));
  });

  it('SIGSTOP of the leader past its lease, then SIGCONT: it commits nothing after its lease expired, then follows', async () => {
    const paused = await cp.leader();
    const { leader } = await paused.readyz();
    assert.ok(leader);
    const electionKey = `/drover/election/controllers/${BigInt(`0x${leader.lease}`).toString()}`;
    const etcd = new Etcd3({ hosts: cp.etcd.members.map((m) => m.clientUrl) });
    let expiredAt: string | undefined;
    const watcher = await etcd.watch().key(electionKey).create();
    watcher.on('delete', (kv) => (expiredAt ??= kv.mod_revision));
    const wroteBefore = await paused.metric('drover_leader_last_write_revision');
    const others = () => cp.replicas.filter((r) => r !== paused);
    const load = writers(4, 's', others);
    try {
      paused.kill('SIGSTOP');
      const next = await cp.leader({ exclude: [paused], timeoutMs: 20_000 });
      // Let the new leader work (and the paused one's informers fall behind) before it wakes.
      await waitFor('the new leader to reconcile', async () => (await next.metric('drover_reconcile_total', { result: 'success' })) > 0, { timeoutMs: 20_000 });
      const acked = load.acked.length;
      await waitFor('writes meanwhile', () => load.acked.length >= acked + 20, { timeoutMs: 20_000 });
      paused.kill('SIGCONT');
      await waitFor(`${paused.name} to follow ${next.name}`, async () => {
        const r = await paused.readyz();
        return !r.leading && r.leader?.id === next.name;
      }, { timeoutMs: 20_000 });
      const acked2 = load.acked.length;
      await waitFor('writes after the pause', () => load.acked.length >= acked2 + 20, { timeoutMs: 20_000 });
    } finally {
      paused.kill('SIGCONT');
      await load.stop();
      await watcher.cancel();
      etcd.close();
    }
    assert.ok(expiredAt, 'etcd deleted the paused leader\'s election key when its lease expired');
    const lastWrite = await paused.metric('drover_leader_last_write_revision');
    const fenced = await paused.metric('drover_leader_fenced_writes_total');
    console.log(`paused leader ${paused.name}: last committed controller write at revision ${lastWrite} (before the pause: ${wroteBefore}), lease expired at revision ${expiredAt}, ${fenced} writes fenced off`);
    assert.ok(wroteBefore > 0, 'the paused replica did write while it led (the check below is not vacuous)');
    assert.ok(lastWrite < Number(expiredAt), `no controller write of ${paused.name} committed after its lease expired (last ${lastWrite}, expiry ${expiredAt})`);
    // It follows: it serves the API as any replica.
    await paused.client().create(tenant('after-pause', { fleet: 'web' }));
    assert.equal((await paused.readyz()).leading, false);
  });

  it('SIGKILL of one etcd member: the API keeps serving reads and writes, and a leader keeps the controllers running', async () => {
    const load = writers(4, 'e', () => cp.replicas);
    try {
      await waitFor('writes to flow', () => load.acked.length >= 20, { timeoutMs: 20_000 });
      // The etcd leader: its death also makes the survivors elect, the harder case for the clients.
      const member = await etcdLeader();
      cp.etcd.kill(member, 'SIGKILL');
      const failedAtKill = load.failed.length;
      const ackedAtKill = load.acked.length;
      await waitFor('writes to go on', () => load.acked.length >= ackedAtKill + 100, { timeoutMs: 30_000 });
      const failedAfter = load.failed.slice(failedAtKill);
      console.log(`etcd leader ${member.name} SIGKILLed: ${load.acked.length - ackedAtKill} writes acknowledged after, ${failedAfter.length} failed ${failedAfter.slice(0, 3).join('; ')}`);
      // A create in flight when the member died is retried by the etcd client on another member; when the
      // first attempt had committed (and a controller already wrote the new Tenant's status), the retry
      // must still be recognised as ours, not answered 409 "already exists".
      assert.deepEqual(failedAfter, [], 'no write failed');
      for (const r of cp.replicas.filter((x) => x.running)) assert.equal((await r.readyz()).status, 'ready');
      const leader = await cp.leader();
      const passes = await leader.metric('drover_reconcile_total');
      await waitFor('the leader to keep reconciling', async () => (await leader.metric('drover_reconcile_total')) > passes, { timeoutMs: 20_000 });
    } finally {
      await load.stop();
    }
    const stored = new Set((await apiOnly.client().list('Tenant')).items.map((t) => t.metadata.name));
    assert.deepEqual(load.acked.filter((n) => !stored.has(n)), []);
  });
});
