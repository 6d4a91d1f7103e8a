/**
 * The highly available control plane, side by side in one run (issue 18):
 *
 *   npx tsc -p tsconfig.build.json && flock /tmp/drover-heavy.lock node --import tsx bench/ha.ts [--trials 3] [--writes 2000] [--inflight 16] [--watchers 20] [--events 100]
 *
 * 1. Hand-over: a 3-member etcd and 3 `drover server --backend etcd` replicas (default lease TTL), 3
 *    Clusters in the store for the controllers to reconcile. `--trials` times: SIGKILL the leader, then
 *    time until every other replica names one new leader that says it leads, and until that leader has
 *    made its first successful reconcile pass (its controllers run); the killed replica is started again.
 * 2. API durable writes/s and watch delivery p99, the same load (`--writes` Tenant creates with `--inflight`
 *    in flight; `--watchers` HTTP watches × `--events` updates) against: one replica on the 3-member etcd,
 *    and a single `drover server` on SQLite; both `--no-controllers` (the API and store path alone).
 * 3. etcd alone on the same cluster: the same creates as etcd transactions (create-if-absent, as the store
 *    does) from this process over gRPC with `--inflight` in flight, and `etcdctl put` run one process per
 *    put (what a shell script gets), when etcdctl is installed (Debian etcd-client).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { setMaxListeners } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Etcd3 } from 'etcd3';
import { RemoteStore } from '../src/client/remote-store.js';
import { isDroverError } from '../src/errors.js';
import { cluster, tenant } from '../test/helpers/fixtures.js';
import { HaControlPlane, haToken } from '../test/helpers/ha-cluster.js';
import { waitFor } from '../test/helpers/wait-for.js';
import { startDroverServer } from './lib/drover-server.js';

const { values } = parseArgs({
  options: {
    trials: { type: 'string', default: '3' },
    writes: { type: 'string', default: '2000' },
    inflight: { type: 'string', default: '16' },
    watchers: { type: 'string', default: '20' },
    events: { type: 'string', default: '100' },
  },
});
const TRIALS = Number(values.trials);
const WRITES = Number(values.writes);
const INFLIGHT = Number(values.inflight);
const WATCHERS = Number(values.watchers);
const EVENTS = Number(values.events);

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
const f = (n: number) => n.toFixed(1);

async function handOver(cp: HaControlPlane): Promise<void> {
  const elected: number[] = [];
  const running: number[] = [];
  for (let t = 0; t < TRIALS; t++) {
    const old = await cp.leader();
    const killedAt = performance.now();
    old.kill('SIGKILL');
    const next = await cp.leader({ timeoutMs: 30_000 });
    elected.push(performance.now() - killedAt);
    await waitFor('the new leader to reconcile', async () => (await next.metric('drover_reconcile_total', { result: 'success' })) > 0, { timeoutMs: 30_000, intervalMs: 10 });
    running.push(performance.now() - killedAt);
    await old.exited;
    await cp.restart(old);
  }
  console.log(`hand-over (lease TTL 3 s, renew 1 s; ${TRIALS} SIGKILLs of the leader): new leader agreed after ${elected.map((x) => f(x)).join(', ')} ms; controllers running (first reconcile) after ${running.map((x) => f(x)).join(', ')} ms`);
}

async function writes(url: string, label: string): Promise<void> {
  const store = new RemoteStore({ server: url, token: haToken });
  const lat: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: INFLIGHT }, async () => {
      for (let i = next++; i < WRITES; i = next++) {
        const s = performance.now();
        await store.create(tenant(`t-${i}`, { fleet: 'web' }));
        lat.push(performance.now() - s);
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  console.log(`${label}: ${WRITES} creates, ${INFLIGHT} in flight: ${(WRITES / secs).toFixed(0)} acknowledged writes/s; latency p50 ${f(pct(lat, 50))} ms, p99 ${f(pct(lat, 99))} ms`);
  await watch(url, label);
  await store.close();
}

async function watch(url: string, label: string): Promise<void> {
  const writer = new RemoteStore({ server: url, token: haToken });
  let cur = await writer.create(tenant('watched', { fleet: 'web', users: 0 }));
  const from = cur.metadata.resourceVersion!;
  const sentAt = new Map<number, number>();
  const lat: number[] = [];
  const ac = new AbortController();
  setMaxListeners(0, ac.signal);
  const clients = Array.from({ length: WATCHERS }, () => new RemoteStore({ server: url, token: haToken }));
  const watchers = clients.map(async (c) => {
    const seen = new Set<number>();
    for await (const e of c.watch({ kind: 'Tenant', name: 'watched', resourceVersion: from, signal: ac.signal })) {
      const users = (e.object.spec as { users: number }).users;
      const t = sentAt.get(users);
      if (t === undefined || seen.has(users)) continue;
      seen.add(users);
      lat.push(performance.now() - t);
      if (seen.size === EVENTS) return;
    }
  });
  await new Promise((r) => setTimeout(r, 500));
  for (let i = 1; i <= EVENTS; i++) {
    for (;;) {
      sentAt.set(i, performance.now());
      try {
        cur = await writer.update({ ...cur, spec: { ...cur.spec, users: i } });
        break;
      } catch (e) {
        if (!isDroverError(e, 'DROVER_E_CONFLICT')) throw e;
        cur = (await writer.get('Tenant', 'watched')) ?? cur;
      }
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  await Promise.race([Promise.all(watchers), new Promise((r) => setTimeout(r, 30_000))]);
  ac.abort();
  lat.sort((a, b) => a - b);
  console.log(`${label}: watch ${WATCHERS} x ${EVENTS} = ${lat.length} deliveries; update-to-watcher p50 ${f(pct(lat, 50))} ms, p99 ${f(pct(lat, 99))} ms`);
  await Promise.all([writer.close(), ...clients.map((c) => c.close())]);
}

async function etcdAlone(hosts: string[]): Promise<void> {
  const client = new Etcd3({ hosts });
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: INFLIGHT }, async () => {
      for (let i = next++; i < WRITES; i = next++) {
        const key = `/bench/raw/${i}`;
        await client.if(key, 'Create', '==', 0).then(client.put(key).value(JSON.stringify(tenant(`t-${i}`)))).commit();
      }
    }),
  );
  console.log(`etcd alone (gRPC from this process, create-if-absent txns, ${INFLIGHT} in flight): ${(WRITES / ((performance.now() - t0) / 1000)).toFixed(0)} writes/s`);
  client.close();
  if (spawnSync('sh', ['-c', 'command -v etcdctl']).status !== 0) {
    console.log('etcdctl put: skipped (apt-get install etcd-client)');
    return;
  }
  const n = 200;
  const t1 = performance.now();
  for (let i = 0; i < n; i++) execFileSync('etcdctl', ['--endpoints', hosts.join(','), 'put', `/bench/ctl/${i}`, 'x'], { env: { ...process.env, ETCDCTL_API: '3' }, stdio: 'ignore' });
  console.log(`etcdctl put (one process per put, one after another, ${n} puts): ${(n / ((performance.now() - t1) / 1000)).toFixed(0)} puts/s`);
}

const dir = mkdtempSync(join(tmpdir(), 'drover-bench-ha-'));
try {
  const cp = await HaControlPlane.start({ dir });
  try {
    const api = cp.replicas[0]!.client();
    for (const n of ['a', 'b', 'c']) await api.create(cluster(n, { region: n, domain: n }));
    await handOver(cp);
    const apiOnly = await cp.addReplica('bench-api', ['--no-controllers']);
    // The campaigning replicas stop, so that only the API path is measured, as on SQLite below.
    for (const r of cp.replicas.filter((x) => x !== apiOnly)) await r.stop();
    await writes(apiOnly.url, 'etcd, 3 members, one replica');
    await etcdAlone(cp.etcd.members.map((m) => m.clientUrl));
  } finally {
    await cp.stop();
  }
  const sqlite = await startDroverServer({ dataDir: join(dir, 'sqlite'), token: haToken, args: ['--no-controllers'] });
  try {
    await writes(sqlite.url, 'SQLite, one server');
  } finally {
    await sqlite.stop();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
