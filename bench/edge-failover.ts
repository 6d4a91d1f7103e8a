/**
 * Failover time of the Drover edge: steady paced load (GET, keep-alive) over two endpoint groups of real
 * upstream processes; then SIGKILL of (1) one Prod, (2) a whole local "cluster" (every Prod of one
 * group, at once). Measures, from the SIGKILL, the time until the edge has taken every killed Prod out
 * of rotation (100% of new requests on healthy Prods) and counts failed client requests (must be 0:
 * requests that hit a dead Prod are retried on a healthy one). Writes bench/results/edge-failover.json.
 *
 *   npx tsx bench/edge-failover.ts [--rps 400] [--seconds 6]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Edge } from '../src/edge/edge.js';
import { StaticPlanSource } from '../src/edge/plan-source.js';
import { client, endpoint, get, plan, spawnUpstream, type ChildUpstream } from '../test/conformance/edge/harness.js';
import { numberArg as arg } from './lib/args.js';

const rps = arg('rps', 400);
const seconds = arg('seconds', 6);

interface Scenario {
  scenario: string;
  killed: string[];
  requests: number;
  failed: number;
  /** ms from SIGKILL until the last killed Prod left rotation. */
  failoverMs: number;
  /** Client latency while failing over (requests started within 1 s after the kill). */
  maxLatencyDuringFailoverMs: number;
  p99LatencyDuringFailoverMs: number;
}

async function scenario(name: string, perGroup: [number, number], killGroup: 0 | 1, killCount: number): Promise<Scenario> {
  const ups: ChildUpstream[] = [];
  const groups: ChildUpstream[][] = [[], []];
  for (let g = 0; g < 2; g++) {
    for (let i = 0; i < perGroup[g]!; i++) {
      const u = await spawnUpstream(`${g === 0 ? 'tokyo' : 'osaka'}-${i + 1}`);
      ups.push(u);
      groups[g]!.push(u);
    }
  }
  const source = new StaticPlanSource([
    plan({
      endpoints: ups.map((u) => endpoint(u.name, u.url, u.name.split('-')[0]!)),
      groups: groups.map((g, i) => ({ domain: i === 0 ? 'tokyo' : 'osaka', trafficDial: 100, endpoints: g.map((u) => ({ prod: u.name, weight: 100 })) })),
      // The edge's default active check cadence; passive checks do the fast part.
      healthCheck: { path: '/healthz', intervalMs: 1000, timeoutMs: 500, unhealthyThreshold: 3, healthyThreshold: 2 },
    }),
  ]);
  const edge = new Edge({ source, listen: { host: '127.0.0.1', port: 0 }, adminListen: false });
  const { url } = await edge.start();
  const agent = client({ connections: 32 });
  const victims = groups[killGroup]!.slice(0, killCount);
  let killedAt = 0;
  let failed = 0;
  let total = 0;
  const during: number[] = [];
  const started = Date.now();
  const workers = 32;
  const durationMs = seconds * 1000;
  const killAtMs = durationMs / 3;
  const worker = async (w: number) => {
    for (let i = 0; ; i++) {
      const due = started + ((i * workers + w) * 1000) / rps;
      if (due - started >= durationMs) return;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const t0 = Date.now();
      try {
        const a = await get(agent, url, '/');
        if (a.status !== 200) failed++;
      } catch {
        failed++;
      }
      total++;
      if (killedAt > 0 && t0 >= killedAt && t0 < killedAt + 1000) during.push(Date.now() - t0);
    }
  };
  const killer = (async () => {
    await new Promise((r) => setTimeout(r, killAtMs));
    killedAt = Date.now();
    await Promise.all(victims.map((v) => v.kill('SIGKILL')));
  })();
  await Promise.all([...Array.from({ length: workers }, (_, w) => worker(w)), killer]);
  const flips = victims.map((v) => edge.healthChangedAt(v.name));
  const failoverMs = flips.every((f) => f !== undefined) ? Math.max(...flips.map((f) => f - killedAt)) : Number.NaN;
  during.sort((a, b) => a - b);
  await agent.close();
  await edge.stop();
  for (const u of ups) await u.kill('SIGKILL');
  return {
    scenario: name,
    killed: victims.map((v) => v.name),
    requests: total,
    failed,
    failoverMs,
    maxLatencyDuringFailoverMs: during[during.length - 1] ?? 0,
    p99LatencyDuringFailoverMs: during[Math.floor(during.length * 0.99)] ?? 0,
  };
}

const results = [
  await scenario('one Prod (1 of 2, one per group)', [1, 1], 0, 1),
  await scenario('one local cluster (3 Prods of group tokyo, at once; osaka has 2)', [3, 2], 0, 3),
];
console.log(`paced load ${rps} req/s for ${seconds} s, SIGKILL at ${(seconds / 3).toFixed(1)} s\n`);
for (const r of results) {
  console.log(
    `${r.scenario}: all traffic on healthy Prods ${r.failoverMs.toFixed(0)} ms after SIGKILL; ${r.failed} failed of ${r.requests} requests; ` +
      `client latency in the second after the kill: p99 ${r.p99LatencyDuringFailoverMs} ms, max ${r.maxLatencyDuringFailoverMs} ms`,
  );
}
const out = join(resolve(import.meta.dirname, '..'), 'bench', 'results', 'edge-failover.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify({ at: new Date().toISOString(), rps, seconds, results }, null, 2));
