/**
 * LoadBalancerMirror (issue 17): member added/removed in Octavia → NLB target registered/deregistered,
 * AWS write calls per idle sync, and Octavia/AWS read calls per sync for a 20-listener load balancer.
 * Run: `npx tsx bench/mirror.ts [changes] [syncPeriod]` (defaults 6, 2s).
 *
 * Real: Octavia's API server (Debian octavia-api, noauth, SQLite, noop provider; test/helpers/
 * octavia-server.ts), the mirror controller in the runtime's Manager over a MemoryStore, its sync period.
 * Mocked: ELBv2 and Route 53 (aws-sdk-client-mock, in-process: an AWS call costs ~0 here, so the latency
 * is the sync period's phase plus Octavia's read; add one DescribeTargetHealth + RegisterTargets round
 * trip for real AWS).
 */
import { RegisterTargetsCommand, DeregisterTargetsCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { mirrorController } from '../src/controllers/mirror-controller.js';
import { Manager } from '../src/runtime/manager.js';
import { MemoryStore } from '../src/store/memory/memory-store.js';
import type { CallMeter } from '../src/cloud/aws-call.js';
import { startOctavia } from '../test/helpers/octavia-server.js';
import { waitFor } from '../test/helpers/wait-for.js';
import { clientsFor, FakeHealthChecks, mirror, octaviaSpec } from '../test/unit/mirror/mirror-harness.js';
import { FakeElb } from '../test/unit/mirror/mirror-fake-elb.js';

const changes = Number(process.argv[2] ?? 6);
const period = process.argv[3] ?? '2s';

const o = await startOctavia();
if ('skip' in o) {
  console.log(`skipped: ${o.skip}`);
  process.exit(0);
}
const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  return `median ${q(0.5)} ms, min ${s[0]} ms, max ${s[s.length - 1]} ms (n=${s.length})`;
};

try {
  // 1. Member change → target (de)registered, with the controller running as in `drover server`.
  const lbId = await o.createLoadBalancer('web', '10.20.0.5');
  const listener = await o.createListener(lbId, 'TCP', 443);
  const pool = await o.createPool({ listenerId: listener, protocol: 'TCP' });
  await o.createMember(pool, '10.9.0.1', 8443);
  const elb = new FakeElb();
  const store = new MemoryStore();
  const syncs: { at: number; reads: number; writes: number; octavia: number }[] = [];
  const onSync = (_n: string, m: CallMeter, octavia: number, at: number) => void syncs.push({ at, reads: m.reads, writes: m.writes, octavia });
  const manager = new Manager({ store, reconcilers: [mirrorController({ clients: () => clientsFor(elb), syncHealthChecks: new FakeHealthChecks().sync, onSync })], logger: { log: () => {} } });
  await store.create(mirror('web', { ...octaviaSpec(lbId, o.cloudsYaml), syncPeriod: period }));
  manager.start();
  await waitFor('the first sync', () => elb.registered([...elb.tgs.values()][0]?.TargetGroupName ?? '').length === 1, { timeoutMs: 60_000 });
  const added: number[] = [];
  const removed: number[] = [];
  for (let i = 0; i < changes; i++) {
    elb.settle();
    const ip = `10.9.1.${i + 1}`;
    // A random phase of the sync period, as a person's change would fall.
    await new Promise((r) => setTimeout(r, Math.random() * 1000));
    // From the moment Octavia holds the member (its POST answered and the provider marked it ACTIVE).
    const id = await o.createMember(pool, ip, 8443);
    const t0 = Date.now();
    await waitFor(`RegisterTargets ${ip}`, () => elb.mock.commandCalls(RegisterTargetsCommand).some((c) => c.args[0].input.Targets?.some((t) => t.Id === ip)), { timeoutMs: 60_000, intervalMs: 5 });
    added.push(Date.now() - t0);
    await new Promise((r) => setTimeout(r, Math.random() * 1000));
    await o.deleteMember(pool, id);
    const t1 = Date.now();
    await waitFor(`DeregisterTargets ${ip}`, () => elb.mock.commandCalls(DeregisterTargetsCommand).some((c) => c.args[0].input.Targets?.some((t) => t.Id === ip)), { timeoutMs: 60_000, intervalMs: 5 });
    removed.push(Date.now() - t1);
  }
  // 2. Idle: nothing changes for a few periods.
  elb.settle();
  const idleFrom = syncs.length;
  const periodMs = Number(period.replace(/s$/, '')) * 1000;
  await new Promise((r) => setTimeout(r, periodMs * 4 + 200));
  const idle = syncs.slice(idleFrom);
  await manager.stop();
  console.log(`sync period ${period}`);
  console.log(`member added   → RegisterTargets:   ${stats(added)}`);
  console.log(`member removed → DeregisterTargets: ${stats(removed)}`);
  console.log(`idle syncs: ${idle.length}, AWS writes ${idle.reduce((n, s) => n + s.writes, 0)}, AWS reads per sync ${idle.map((s) => s.reads).join('/')}, Octavia calls per sync ${idle.map((s) => s.octavia).join('/')}`);

  // 3. Read calls per sync for a 20-listener load balancer (2 members and a health monitor per pool).
  const big = await o.createLoadBalancer('big', '10.20.0.9');
  for (let i = 0; i < 20; i++) {
    const l = await o.createListener(big, 'TCP', 1000 + i);
    const p = await o.createPool({ listenerId: l, protocol: 'TCP' });
    await o.createMember(p, `10.8.${i}.1`, 2000 + i);
    await o.createMember(p, `10.8.${i}.2`, 2000 + i);
    await o.createHealthMonitor(p, { type: 'TCP', delay: 10, timeout: 5, max_retries: 3 });
  }
  // Octavia's own time per call, by path (its API runs single-threaded under simple_server here).
  const octaviaTimes = new Map<string, number[]>();
  const timedFetch: typeof fetch = async (input, init) => {
    const t = Date.now();
    try {
      return await fetch(input, init);
    } finally {
      const path = (input instanceof Request ? input.url : input.toString()).replace(/^https?:\/\/[^/]+/, '').replace(/[0-9a-f-]{36}/g, '{id}');
      octaviaTimes.set(path, [...(octaviaTimes.get(path) ?? []), Date.now() - t]);
    }
  };
  const elb2 = new FakeElb();
  const s2: { reads: number; writes: number; octavia: number; ms: number }[] = [];
  let started = 0;
  const c2 = mirrorController({ octavia: { fetch: timedFetch, timeoutMs: 120_000 }, clients: () => clientsFor(elb2), syncHealthChecks: new FakeHealthChecks().sync, onSync: (_n, m, octavia) => void s2.push({ reads: m.reads, writes: m.writes, octavia, ms: Date.now() - started }), now: () => Date.now() + s2.length * 3_600_000 });
  const store2 = new MemoryStore();
  await store2.create(mirror('big', octaviaSpec(big, o.cloudsYaml)));
  const ctx = { store: store2, cache: store2.view(), signal: new AbortController().signal, recordEvent: async () => {} };
  const octaviaMs: number[] = [];
  for (let i = 0; i < 4; i++) {
    elb2.settle();
    started = Date.now();
    await c2.reconcile(ctx, 'big');
  }
  // Octavia's share: the same reads alone.
  const { OctaviaReader, OctaviaMeter } = await import('../src/cloud/octavia/reader.js');
  const reader = new OctaviaReader({ name: 'test', configPath: o.cloudsYaml }, { fetch: timedFetch, timeoutMs: 120_000 });
  for (let i = 0; i < 3; i++) {
    const t = Date.now();
    await reader.read(new OctaviaMeter(), big);
    octaviaMs.push(Date.now() - t);
  }
  const [first, ...rest] = s2;
  console.log(`20 listeners, 40 members: first sync ${first!.octavia} Octavia calls, ${first!.reads} AWS reads, ${first!.writes} AWS writes (${first!.ms} ms)`);
  for (const s of rest) console.log(`  idle sync: ${s.octavia} Octavia calls, ${s.reads} AWS reads, ${s.writes} AWS writes (${s.ms} ms)`);
  console.log(`  Octavia's read of that LB alone: ${stats(octaviaMs)}`);
  const byKind = new Map<string, number[]>();
  for (const [path, ms] of octaviaTimes) {
    const k = path.replace(/\?.*$/, '').replace(/pools\/\{id\}\/members/, 'pools/{id}/members');
    byKind.set(k, [...(byKind.get(k) ?? []), ...ms]);
  }
  for (const [k, ms] of byKind) console.log(`    GET ${k}: ${stats(ms)}`);
} finally {
  await o.stop();
}
