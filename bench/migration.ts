/**
 * Migrations on the edge, measured end to end through the real pieces: a store, the traffic and migration
 * controllers in the Manager, an Edge following the store's plans through its informers (as `drover edge`
 * does), and two upstream processes (the fleet's Prod, the legacy backend). The gates are a function the
 * bench controls (what they decide is the point, not how they read /stats).
 *
 * 1. Gate failure → every migrating user back on legacy: users already on the fleet keep requesting; from
 *    the moment the gate runner returns `fail`, the time until the last request that still reached the
 *    fleet started (target < 1 s). Several rounds: median and max.
 * 2. Share accuracy per step (1, 10, 30, 50, 100 %): 5,000 new users per step (each a new cookie).
 * 3. Failed requests during a good migration (users with cookies, for the whole of 2 and 4): target 0.
 * 4. A 30-step migration's overhead beyond its bakes (bake 200 ms, gates instant).
 *
 *   npx tsx bench/migration.ts [--rounds 10] [--sample 5000]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Cluster, Fleet, Prod } from '../src/api/index.js';
import { Migration } from '../src/api/kinds/migration.js';
import { migrationController } from '../src/controllers/migration-controller.js';
import { trafficController } from '../src/controllers/traffic-controller.js';
import { Edge } from '../src/edge/edge.js';
import { StorePlanSource } from '../src/edge/plan-source.js';
import type { GateVerdict } from '../src/release/gates/types.js';
import { silentLogger } from '../src/runtime/logger.js';
import { Manager } from '../src/runtime/manager.js';
import { MemoryStore } from '../src/store/memory/memory-store.js';
import { client, get, spawnUpstream } from '../test/conformance/edge/harness.js';
import { tenant } from '../test/helpers/fixtures.js';
import { numberArg as arg } from './lib/args.js';

const rounds = arg('rounds', 10);
const sample = arg('sample', 5000);
const HOST = 'shop.test';
const meta = (name: string) => ({ apiVersion: 'drover.dev/v1alpha1' as const, metadata: { name } });

const store = new MemoryStore();
const fleetUp = await spawnUpstream('web-1');
const legacyUp = await spawnUpstream('legacy');
let verdict: GateVerdict['outcome'] = 'pass';
let verdictAt = 0;
const gates = async (): Promise<GateVerdict> => {
  const outcome = verdict;
  verdictAt = performance.now();
  return { outcome, results: [], reason: `bench: ${outcome}` };
};

await store.create(Cluster.parse({ ...meta('tokyo'), kind: 'Cluster', spec: { region: 'tokyo' } }));
await store.create(Fleet.parse({ ...meta('web'), kind: 'Fleet', spec: { prods: 1, version: 'v1', app: { command: 'node' } } }));
const p = await store.create(Prod.parse({ ...meta('web-1'), kind: 'Prod', spec: { fleet: 'web', cluster: 'tokyo', version: 'v1' } }));
await store.updateStatus({ ...p, status: Prod.shape.status.unwrap().parse({ phase: 'Ready', endpoint: fleetUp.url, version: 'v1', readySince: new Date().toISOString() }) });
const t = await store.create(tenant('shop', { hosts: [HOST] }));
await store.updateStatus({ ...t, status: { prods: ['web-1'], domains: [], conditions: [] } });

const manager = new Manager({ store, logger: silentLogger, reconcilers: [trafficController(), migrationController({ gates })] });
manager.start();
const edge = new Edge({ source: new StorePlanSource(store, { fleets: ['web'] }), listen: { host: '127.0.0.1', port: 0 }, adminListen: false });
const { url } = await edge.start();
const agent = client({ connections: 64 });

async function hit(cookie?: string): Promise<{ side: 'fleet' | 'legacy' | 'error'; cookie: string | undefined }> {
  const a = await get(agent, url, '/', cookie ? { host: HOST, cookie } : { host: HOST });
  const set = a.headers['set-cookie'];
  const c = cookie ?? (typeof set === 'string' ? set : set?.[0])?.split(';')[0];
  return { side: a.status !== 200 ? 'error' : a.upstream === 'legacy' ? 'legacy' : 'fleet', cookie: c };
}

async function newUsers(n: number): Promise<{ fleetShare: number; cookies: { cookie: string; side: string }[] }> {
  let next = 0;
  let fleet = 0;
  const cookies: { cookie: string; side: string }[] = [];
  await Promise.all(
    Array.from({ length: 48 }, async () => {
      while (next < n) {
        next++;
        const r = await hit();
        if (r.side === 'fleet') fleet++;
        if (r.cookie) cookies.push({ cookie: r.cookie, side: r.side });
      }
    }),
  );
  return { fleetShare: fleet / n, cookies };
}

async function until<T>(what: string, f: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const migration = (name: string, spec: Record<string, unknown>) =>
  Migration.parse({ ...meta(name), kind: 'Migration', spec: { fleet: 'web', legacy: { endpoints: [{ url: legacyUp.url }] }, tenants: { names: ['shop'] }, ...spec } });
const phaseOf = async (name: string) => (await store.get('Migration', name))?.status;

// Background users for the good migrations (3.): each keeps its cookie.
let failed = 0;
let background = 0;
let stopBg = false;
const bgCookies: (string | undefined)[] = new Array<string | undefined>(30).fill(undefined);
const bg = (async () => {
  while (!stopBg) {
    await Promise.all(
      bgCookies.map(async (c, i) => {
        const r = await hit(c);
        background++;
        bgCookies[i] ??= r.cookie;
        if (r.side === 'error') failed++;
      }),
    );
  }
})();

// 2. Share accuracy per step.
const steps = [1, 10, 30, 50, 100];
await store.create(migration('accuracy', { steps, bake: '1h' }));
const accuracy: { step: number; target: number; measured: number; errorPts: number }[] = [];
for (let i = 0; i < steps.length; i++) {
  await until(`step ${i + 1} in the plan`, async () => {
    const st = await phaseOf('accuracy');
    return (st?.phase === 'Succeeded' || (st?.step === i && st.bakeStartedAt !== undefined)) || undefined;
  });
  // The edge follows the plan through its watch: a few ms after the controller saw it.
  await new Promise((r) => setTimeout(r, 50));
  const { fleetShare } = await newUsers(sample);
  accuracy.push({ step: i + 1, target: steps[i]!, measured: +(fleetShare * 100).toFixed(2), errorPts: +(fleetShare * 100 - steps[i]!).toFixed(2) });
  const cur = (await store.get('Migration', 'accuracy'))!;
  if (cur.status?.phase !== 'Succeeded') await store.update({ ...cur, spec: { ...cur.spec, action: 'promote' } });
}
await until('accuracy succeeded', async () => ((await phaseOf('accuracy'))?.phase === 'Succeeded' ? true : undefined));
await store.delete('Migration', 'accuracy');

// 4. A 30-step migration: overhead beyond 30 bakes.
const BAKE = 200;
const thirty = Array.from({ length: 30 }, (_v, i) => (i === 29 ? 100 : Math.round(((i + 1) * 10000) / 30) / 100));
const t0 = performance.now();
await store.create(migration('thirty', { steps: thirty, bake: BAKE }));
await until('30 steps', async () => ((await phaseOf('thirty'))?.phase === 'Succeeded' ? true : undefined), 120_000);
const thirtyMs = performance.now() - t0;
await store.delete('Migration', 'thirty');
stopBg = true;
await bg;

// 1. Gate failure → everyone back on legacy.
const rollbackMs: number[] = [];
const lastFleetMs: number[] = [];
const afterUsers: number[] = [];
const fleetAfter: number[] = [];
for (let r = 0; r < rounds; r++) {
  const name = `fail-${r}`;
  verdict = 'pass';
  // Long enough a bake to gather the fleet-side users before the gates run.
  await store.create(migration(name, { steps: [50, 100], bake: '2s' }));
  await until('step 1 in the plan', async () => ((await phaseOf(name))?.bakeStartedAt !== undefined ? true : undefined));
  await new Promise((res) => setTimeout(res, 50));
  const onFleet = (await newUsers(200)).cookies.filter((c) => c.side === 'fleet').map((c) => c.cookie).slice(0, 40);
  verdict = 'fail';
  verdictAt = 0;
  const log: { start: number; side: string }[] = [];
  let stop = false;
  // When the edge's routing holds 0 % (polled every millisecond, in process).
  let edgeAt = 0;
  const poll = setInterval(() => {
    if (edgeAt === 0 && verdictAt > 0 && edge.currentPlans()[0]?.legacy?.[0]?.fleetPercent === 0) edgeAt = performance.now();
  }, 1);
  const users = onFleet.map(async (cookie) => {
    while (!stop) {
      const start = performance.now();
      const res = await hit(cookie);
      log.push({ start, side: res.side });
    }
  });
  await until('rolled back', async () => ((await phaseOf(name))?.phase === 'RolledBack' ? true : undefined));
  await new Promise((res) => setTimeout(res, 1500));
  stop = true;
  await Promise.all(users);
  const fleetStarts = log.filter((l) => l.side === 'fleet').map((l) => l.start);
  if (onFleet.length === 0 || verdictAt === 0 || fleetStarts.length === 0) throw new Error(`round ${r}: no measurement (${onFleet.length} fleet users, ${log.length} requests)`);
  clearInterval(poll);
  rollbackMs.push(edgeAt - verdictAt);
  lastFleetMs.push(Math.max(0, Math.max(...fleetStarts) - verdictAt));
  afterUsers.push(log.filter((l) => l.start > edgeAt).length);
  fleetAfter.push(log.filter((l) => l.start > edgeAt && l.side === 'fleet').length);
  if (log.some((l) => l.side === 'error')) failed += log.filter((l) => l.side === 'error').length;
  await store.delete('Migration', name);
  await until('plan without the migration', async () => ((await store.get('TrafficPlan', 'web'))?.spec.legacy === undefined ? true : undefined));
}

const sorted = [...rollbackMs].sort((a, b) => a - b);
const median = (xs: number[]) => xs[Math.floor((xs.length - 1) / 2)]!;
const result = {
  rollback: {
    rounds,
    /** Gate verdict → the edge's routing table at 0 %. */
    edgeMedianMs: +median(sorted).toFixed(1),
    edgeMaxMs: +sorted.at(-1)!.toFixed(1),
    edgeAllMs: rollbackMs.map((x) => +x.toFixed(1)),
    /** Gate verdict → the start of the last request that still reached the fleet (0: none started after it). */
    lastFleetRequestMedianMs: +median([...lastFleetMs].sort((a, b) => a - b)).toFixed(1),
    lastFleetRequestMaxMs: +Math.max(...lastFleetMs).toFixed(1),
    requestsAfterEdgeAt0: afterUsers.reduce((a, b) => a + b, 0),
    ofWhichOnFleet: fleetAfter.reduce((a, b) => a + b, 0),
  },
  accuracy: { sample, steps: accuracy },
  goodMigration: { requests: background, failed },
  thirtySteps: { bakeMs: BAKE, totalMs: Math.round(thirtyMs), overheadMs: Math.round(thirtyMs - 30 * BAKE), perStepOverheadMs: +((thirtyMs - 30 * BAKE) / 30).toFixed(1) },
};
console.log(JSON.stringify(result, null, 2));
const out = resolve(join(dirname(new URL(import.meta.url).pathname), 'results', 'migration.json'));
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify(result, null, 2));

await agent.close();
await edge.stop();
await manager.stop();
await Promise.all([fleetUp.kill(), legacyUp.kill()]);
