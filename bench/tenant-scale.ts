/**
 * Control plane at many tenants: Tenants of one fleet created by concurrent writers against a real
 * `drover server` (SQLite, controllers on), while this process plays three agents (heartbeats every
 * second, Prods reported Ready) and one edge (watching the plan).
 *
 *   npx tsc -p tsconfig.build.json && node --import tsx bench/tenant-scale.ts [--tenants 100000] [--writers 16] [--root DIR] [--cpu-prof DIR]
 *
 * `--root` runs another checkout's `bin/drover.js` (e.g. a `git worktree` of main, built) for a
 * before/after comparison in one sitting. Reports:
 * - creates/s (acknowledged), and the time until every Tenant is scheduled and in the plan;
 * - `/healthz` latency percentiles while the writers run (one probe every 50 ms on its own connection);
 * - heartbeat verdicts: Clusters seen NotReady although every heartbeat was sent on time, Prods deleted;
 * - bytes an edge received on its plan watches (TrafficPlan, and TrafficRoute where it exists) per
 *   tenant created;
 * - store writes per tenant created (revisions from the first create until the plan caught up, heartbeats
 *   and Prod status writes included);
 * - `drover.db` (+ WAL) size after, against the JSON size of the objects it holds.
 */
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { Agent, request } from 'undici';
import type { AnyResource } from '../src/api/resource.js';
import { RemoteStore } from '../src/client/remote-store.js';
import { startDroverServer } from './lib/drover-server.js';

const { values } = parseArgs({
  options: {
    tenants: { type: 'string', default: '100000' },
    writers: { type: 'string', default: '16' },
    root: { type: 'string', default: resolve(import.meta.dirname, '..') },
    settle: { type: 'string', default: '120' },
    // Seconds after the last create before the plan may count as caught up (the fallback refresh).
    'fallback-wait': { type: 'string', default: '35' },
    // A directory: the server runs under `node --cpu-prof` and writes its profile there on exit.
    'cpu-prof': { type: 'string' },
    // Keep the data dir (printed) to look at the Events afterwards.
    keep: { type: 'boolean', default: false },
  },
});
const N = Number(values.tenants);
const WRITERS = Number(values.writers);
const ROOT = resolve(values.root);
const TOKEN = 'bench-admin-token-0123456789';
const CLUSTERS = [
  ['bench-tokyo', 'tokyo'],
  ['bench-osaka', 'osaka'],
  ['bench-oregon', 'oregon'],
] as const;

const doc = (kind: string, name: string, spec: unknown): AnyResource => ({
  apiVersion: 'drover.dev/v1alpha1',
  kind,
  metadata: { name, labels: {}, annotations: {}, finalizers: [], ownerReferences: [] },
  spec,
});
const pct = (s: number[], p: number) => s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;

/** Bytes of a watch stream, until aborted (404 for a kind the server does not know: 0 bytes). */
async function countWatch(url: string, plural: string, from: string, signal: AbortSignal, acc: { bytes: number; events: number }): Promise<void> {
  try {
    const res = await request(`${url}/api/v1/${plural}?watch=true&resourceVersion=${from}`, { headers: { authorization: `Bearer ${TOKEN}` }, signal });
    if (res.statusCode !== 200) {
      await res.body.dump();
      return;
    }
    for await (const chunk of res.body) {
      acc.bytes += (chunk as Buffer).length;
      for (const b of chunk as Buffer) if (b === 10) acc.events++;
    }
  } catch {
    // aborted
  }
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'drover-scale-'));
  const server = await startDroverServer({ dataDir, token: TOKEN, root: ROOT, nodeArgs: values['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', resolve(values['cpu-prof'])] : [] });
  const store = new RemoteStore({ server: server.url, token: TOKEN });
  const ac = new AbortController();
  const { signal } = ac;
  console.log(`tree: ${ROOT}; ${N} tenants, ${WRITERS} writers`);

  // Three "agents": register, heartbeat every second (on time from here), report their Prods Ready.
  for (const [name, region] of CLUSTERS) await store.create(doc('Cluster', name, { provider: 'local', region, capacity: { prods: 4 } }));
  const startedAt = new Date().toISOString();
  const hbLate: number[] = [];
  // The agents' heartbeats run on their own thread (lib/heartbeat-worker.mjs): this thread's own stalls
  // (parsing lists of 100k tenants) would otherwise send them late and make true NotReady verdicts.
  let beatGapMax = 0;
  const beats = new Worker(new URL('./lib/heartbeat-worker.mjs', import.meta.url), {
    workerData: { server: server.url, token: TOKEN, clusters: CLUSTERS.map(([n]) => n), intervalMs: 1000, startedAt },
  });
  beats.on('message', (m: { latencyMs?: number; gapMs?: number }) => {
    if (m.latencyMs !== undefined) hbLate.push(m.latencyMs);
    if (m.gapMs !== undefined) beatGapMax = Math.max(beatGapMax, m.gapMs);
  });
  let port = 20000;
  const readyTimer = setInterval(() => {
    void store.list('Prod').then(async ({ items }) => {
      for (const p of items) {
        const st = p.status as { phase?: string } | undefined;
        if (st?.phase === 'Ready' || p.metadata.deletionTimestamp) continue;
        const spec = p.spec as { version: string };
        await store.updateStatus({ ...p, status: { ...(p.status as object), phase: 'Ready', endpoint: `http://127.0.0.1:${port++}/`, version: spec.version, readySince: new Date().toISOString(), restarts: 0 } }).catch(() => {});
      }
    }, () => {});
  }, 300);
  // The Fleet only once every cluster is Ready: Prods placed while one is not yet are moved to it later
  // (spread), and those planned replacements would count as Prods deleted below.
  for (const c0 = Date.now(); ; ) {
    const { items } = await store.list('Cluster');
    if (items.filter((c) => (c.status as { phase?: string } | undefined)?.phase === 'Ready').length === CLUSTERS.length) break;
    if (Date.now() - c0 > 60_000) throw new Error('clusters never became Ready');
    await new Promise((r) => setTimeout(r, 100));
  }
  await store.create(doc('Fleet', 'web', { prods: 6, version: 'v1', app: { command: 'node' } }));
  const t0 = Date.now();
  for (;;) {
    const prods = (await store.list('Prod')).items.filter((p) => (p.status as { phase?: string } | undefined)?.phase === 'Ready');
    if (prods.length >= 6) break;
    if (Date.now() - t0 > 60_000) throw new Error('Prods never became Ready');
    await new Promise((r) => setTimeout(r, 200));
  }

  // Observers: cluster verdicts, Prod deletions, the edge's plan watches.
  const rv = await store.revision();
  let notReady = 0;
  let prodsDeleted = 0;
  void (async () => {
    try {
      for await (const ev of store.watch({ kind: 'Cluster', resourceVersion: rv, signal })) {
        const phase = (ev.object.status as { phase?: string } | undefined)?.phase;
        if (phase === 'NotReady') notReady++;
      }
    } catch {
      // aborted
    }
  })();
  void (async () => {
    try {
      for await (const ev of store.watch({ kind: 'Prod', resourceVersion: rv, signal })) if (ev.type === 'DELETED') prodsDeleted++;
    } catch {
      // aborted
    }
  })();
  const planBytes = { bytes: 0, events: 0 };
  const routeBytes = { bytes: 0, events: 0 };
  const watches = [countWatch(server.url, 'trafficplans', rv, signal, planBytes), countWatch(server.url, 'trafficroutes', rv, signal, routeBytes)];

  // /healthz on its own connection, every 50 ms.
  const probeAgent = new Agent({ connections: 1 });
  const health: number[] = [];
  let probing = true;
  const probes = (async () => {
    while (probing) {
      const s = performance.now();
      const res = await request(`${server.url}/healthz`, { dispatcher: probeAgent });
      await res.body.dump();
      health.push(performance.now() - s);
      await new Promise((r) => setTimeout(r, 50));
    }
  })();

  // The writers.
  const writeClient = new RemoteStore({ server: server.url, token: TOKEN });
  let next = 0;
  const w0 = performance.now();
  await Promise.all(
    Array.from({ length: WRITERS }, async () => {
      for (let i = next++; i < N; i = next++) {
        await writeClient.create(doc('Tenant', `t-${i}`, { fleet: 'web', users: 1 + (i % 7), redundancy: i % 4 === 0 ? 2 : 1, match: { hosts: [`t-${i}.example.com`] } }));
      }
    }),
  );
  const writeSecs = (performance.now() - w0) / 1000;
  probing = false;
  await probes;
  health.sort((a, b) => a - b);
  console.log(`creates: ${N} in ${writeSecs.toFixed(1)} s = ${(N / writeSecs).toFixed(0)}/s`);
  console.log(`/healthz during the writes: p50 ${pct(health, 50).toFixed(1)} ms, p99 ${pct(health, 99).toFixed(1)} ms, max ${(health.at(-1) ?? NaN).toFixed(1)} ms (${health.length} probes)`);

  // Settle: every tenant scheduled (status.prods) — checked by listing.
  const s0 = performance.now();
  let scheduled = 0;
  while ((performance.now() - s0) / 1000 < Number(values.settle)) {
    const { items } = await store.list('Tenant');
    scheduled = items.filter((t) => ((t.status as { prods?: string[] } | undefined)?.prods?.length ?? 0) > 0).length;
    if (scheduled >= N) break;
    // A list of 100k tenants is itself a heavy request: not every second.
    await new Promise((r) => setTimeout(r, N > 20_000 ? 5000 : 1000));
  }
  console.log(`scheduled: ${scheduled} of ${N}, ${((performance.now() - s0) / 1000).toFixed(1)} s after the last create`);
  // The plan catches up: until the edge's watches have been quiet for 3 s, and not before the traffic
  // controller's late fleet pass for the burst's last tenants (their fallbacks, 30 s after a tenant change)
  // has had time to run: its route writes count too.
  // Quiet alone is not caught up: a long fleet pass at 100k is quiet for more than 3 s. Every tenant must
  // also have its route, naming a Prod (listed only once the watches are quiet: a list of 100k is heavy).
  const refreshDone = performance.now() + Number(values['fallback-wait']) * 1000;
  let routed = 0;
  for (let last = -1; ; ) {
    const now = planBytes.bytes + routeBytes.bytes;
    if (now === last && performance.now() >= refreshDone) {
      const { items } = await store.list('TrafficRoute');
      routed = items.filter((r) => ((r.spec as { prods?: string[] }).prods?.length ?? 0) > 0).length;
      if (routed >= N || (performance.now() - s0) / 1000 > Number(values.settle)) break;
    }
    last = now;
    await new Promise((r) => setTimeout(r, 3000));
  }
  console.log(`plan: caught up ${((performance.now() - s0) / 1000).toFixed(1)} s after the last create (${routed} of ${N} tenants routed to a Prod)`);
  const revAfter = BigInt(await store.revision());
  console.log(`store writes: ${revAfter - BigInt(rv)} from the first create until the plan caught up = ${(Number(revAfter - BigInt(rv)) / N).toFixed(2)} per tenant created`);
  hbLate.sort((a, b) => a - b);
  console.log(`heartbeats: ${hbLate.length} written, write latency p99 ${pct(hbLate, 99).toFixed(0)} ms, max ${(hbLate.at(-1) ?? NaN).toFixed(0)} ms; clusters seen NotReady: ${notReady}; Prods deleted: ${prodsDeleted}; longest gap between heartbeat rounds sent ${beatGapMax.toFixed(0)} ms`);
  const edgeBytes = planBytes.bytes + routeBytes.bytes;
  console.log(
    `edge watch: ${(edgeBytes / 2 ** 20).toFixed(1)} MiB (${planBytes.events} plan events, ${routeBytes.events} route events) = ${(edgeBytes / N).toFixed(0)} bytes per tenant created, ${(edgeBytes / Math.max(1, planBytes.events + routeBytes.events)).toFixed(0)} bytes per event`,
  );
  beats.postMessage('stop');
  await new Promise((r) => beats.once('exit', r));
  clearInterval(readyTimer);
  ac.abort();
  await Promise.allSettled(watches);
  await server.stop();
  await probeAgent.close();

  const file = join(dataDir, 'drover.db');
  const size = statSync(file).size + (existsSync(`${file}-wal`) ? statSync(`${file}-wal`).size : 0);
  const db = new Database(file, { readonly: true });
  const own = (db.prepare('SELECT sum(length(CAST(json AS BLOB))) AS b FROM objects').get() as { b: number }).b;
  const hist = db.prepare('SELECT count(*) AS c, sum(length(CAST(json AS BLOB))) AS b FROM changes').get() as { c: number; b: number };
  const byKind = db.prepare('SELECT kind, count(*) AS c, sum(length(CAST(json AS BLOB))) AS b FROM objects GROUP BY kind ORDER BY b DESC').all() as { kind: string; c: number; b: number }[];
  db.close();
  console.log(`database: ${(size / 2 ** 20).toFixed(1)} MiB for ${(own / 2 ** 20).toFixed(1)} MiB of objects (${(size / own).toFixed(2)}x); history ${hist.c} changes, ${(hist.b / 2 ** 20).toFixed(1)} MiB`);
  console.log(`objects: ${byKind.map((k) => `${k.kind} ${k.c} (${(k.b / 2 ** 20).toFixed(1)} MiB)`).join(', ')}`);
  if (values.keep) console.log(`data dir kept: ${dataDir}`);
  else rmSync(dataDir, { recursive: true, force: true });
}

await main();
