/**
 * API server benchmark: durable writes through the HTTP API, and watch delivery latency.
 *
 *   npx tsc -p tsconfig.build.json && node --import tsx bench/api-writes.ts [--writes 10000] [--inflight 64] [--watchers 100] [--events 200] [--no-controllers]
 *
 * Starts `drover server` (SQLite, fresh temp data dir) as its own process, then from this process:
 * 1. creates `--writes` Tenants through the REST API with `--inflight` requests in flight (undici keep-alive)
 *    → acknowledged writes/s and latency percentiles;
 *    with controllers on, then waits until every created Tenant carries the scheduler's Scheduled
 *    condition → how long the controllers took to catch up after the last create;
 * 2. opens `--watchers` HTTP watch streams on Tenants and makes `--events` updates, one every 5 ms; for each
 *    (update, watcher) pair, the time from the start of the update request to the event's arrival
 *    → delivery latency percentiles. All watchers run in this one process, so their JSON parsing is
 *    included in the figure.
 */
import { setMaxListeners } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { AnyResource } from '../src/api/resource.js';
import { RemoteStore } from '../src/client/remote-store.js';
import { isDroverError } from '../src/errors.js';
import { startDroverServer } from './lib/drover-server.js';

const { values } = parseArgs({
  options: {
    writes: { type: 'string', default: '10000' },
    inflight: { type: 'string', default: '64' },
    watchers: { type: 'string', default: '100' },
    events: { type: 'string', default: '200' },
    // Controllers (the scheduler above all) react to every created Tenant inside the server process;
    // without them the figure is the API + durable store path alone.
    'no-controllers': { type: 'boolean', default: false },
    // A directory: the server runs under `node --cpu-prof` and writes its profile there on exit.
    'cpu-prof': { type: 'string' },
  },
});
const WRITES = Number(values.writes);
const INFLIGHT = Number(values.inflight);
const WATCHERS = Number(values.watchers);
const EVENTS = Number(values.events);
const TOKEN = 'bench-admin-token-0123456789';

const tenant = (name: string, users = 1): AnyResource => ({
  apiVersion: 'drover.dev/v1alpha1',
  kind: 'Tenant',
  metadata: { name, labels: { bench: 'api' }, annotations: {}, finalizers: [], ownerReferences: [] },
  spec: { fleet: 'web', users, match: { hosts: [`${name}.example.com`] } },
});

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}
const ms = (n: number) => `${n.toFixed(2)} ms`;

async function benchWrites(store: RemoteStore): Promise<void> {
  const lat: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: INFLIGHT }, async () => {
      for (let i = next++; i < WRITES; i = next++) {
        const s = performance.now();
        await store.create(tenant(`t-${i}`));
        lat.push(performance.now() - s);
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  console.log(`writes: ${WRITES} creates, ${INFLIGHT} in flight: ${(WRITES / secs).toFixed(0)} acknowledged writes/s; latency p50 ${ms(pct(lat, 50))}, p99 ${ms(pct(lat, 99))}, max ${ms(lat[lat.length - 1] ?? NaN)}`);
}

/**
 * With controllers on, the writes/s above only says how much the controllers slowed the API down, not
 * whether they kept up: a scheduler that falls behind slows the API less. So also: how long after the
 * last create every created Tenant has the scheduler's Scheduled condition.
 */
async function benchCatchUp(store: RemoteStore): Promise<void> {
  const t0 = performance.now();
  const limitMs = 180_000;
  let done = 0;
  while (performance.now() - t0 < limitMs) {
    const { items } = await store.list('Tenant', { labelSelector: 'bench=api' });
    done = items.filter((t) => ((t.status as { conditions?: { type: string }[] } | undefined)?.conditions ?? []).some((c) => c.type === 'Scheduled')).length;
    if (done >= WRITES) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  const secs = (performance.now() - t0) / 1000;
  console.log(`scheduled: ${done} of ${WRITES} Tenants have the Scheduled condition ${secs.toFixed(1)} s after the last create${done < WRITES ? ' (gave up)' : ''}`);
}

async function benchWatch(url: string): Promise<void> {
  const writer = new RemoteStore({ server: url, token: TOKEN });
  const target = await writer.create(tenant('watched', 0));
  const from = target.metadata.resourceVersion!;
  const sentAt = new Map<number, number>();
  const lat: number[] = [];
  const ac = new AbortController();
  setMaxListeners(0, ac.signal);
  const clients = Array.from({ length: WATCHERS }, () => new RemoteStore({ server: url, token: TOKEN }));
  let ready = 0;
  const counts: number[] = [];
  const watchers = clients.map(async (c, w) => {
    // Controllers write the tenant's status too (the scheduler, within its batching delay): those
    // events carry no new `users`, so each update is counted once, on its first event.
    const seen = new Set<number>();
    counts[w] = 0;
    const it = c.watch({ kind: 'Tenant', name: 'watched', resourceVersion: from, signal: ac.signal });
    ready++;
    for await (const e of it) {
      const users = (e.object.spec as { users: number }).users;
      const t = sentAt.get(users);
      if (t === undefined || seen.has(users)) continue;
      seen.add(users);
      lat.push(performance.now() - t);
      counts[w] = seen.size;
      if (seen.size === EVENTS) return;
    }
  });
  while (ready < WATCHERS) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setTimeout(r, 500)); // let the streams open before the first update
  let cur = target;
  for (let i = 1; i <= EVENTS; i++) {
    for (;;) {
      sentAt.set(i, performance.now());
      try {
        cur = await writer.update({ ...cur, spec: { ...(cur.spec as object), users: i } });
        break;
      } catch (e) {
        // A controller wrote the status meanwhile (resourceVersion conflict): update the fresh object.
        if (!isDroverError(e, 'DROVER_E_CONFLICT')) throw e;
        cur = (await writer.get('Tenant', 'watched')) ?? cur;
      }
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  await Promise.race([Promise.all(watchers), new Promise((r) => setTimeout(r, 30_000))]);
  ac.abort();
  const short = counts.filter((n) => n < EVENTS);
  if (short.length > 0) console.log(`watchers short of events: ${short.join(',')}`);
  lat.sort((a, b) => a - b);
  console.log(
    `watch: ${WATCHERS} HTTP watchers x ${EVENTS} updates = ${lat.length} deliveries (expected ${WATCHERS * EVENTS}); update-to-watcher latency p50 ${ms(pct(lat, 50))}, p99 ${ms(pct(lat, 99))}, max ${ms(lat[lat.length - 1] ?? NaN)}`,
  );
  await Promise.all([writer.close(), ...clients.map((c) => c.close())]);
}

const dir = mkdtempSync(join(tmpdir(), 'drover-bench-'));
const server = await startDroverServer({ dataDir: join(dir, 'data'), token: TOKEN, args: values['no-controllers'] ? ['--no-controllers'] : [], stderr: 'inherit', nodeArgs: values['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', resolve(values['cpu-prof'])] : [] });
const store = new RemoteStore({ server: server.url, token: TOKEN });
try {
  await benchWrites(store);
  if (!values['no-controllers']) await benchCatchUp(store);
  await benchWatch(server.url);
} finally {
  await store.close();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
