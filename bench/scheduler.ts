/**
 * Scheduler benchmark: 1,000,000 tenants, 2,000 Prods, 50 clusters in 5 failure domains.
 * Run: `npx tsx bench/scheduler.ts` (add `node --expose-gc --import tsx bench/scheduler.ts` for
 * cleaner memory figures). Options: --tenants N --prods N --seed N --json.
 *
 * Measures the full assignment, the incremental reassignment after one cluster fails, tenants moved vs
 * the minimum that had to move, and the same for a naive baseline (plain consistent hashing, no bounds).
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { assignTenants, TenantAssigner } from '../src/scheduler/assign-tenants.js';
import { hashString, mix32 } from '../src/scheduler/hash.js';
import { newTenantTable, type AssignInput, type AssignResult, type EligibilityClass, type ProdTable, type TenantTable } from '../src/scheduler/model.js';
import { buildRing, ringStart } from '../src/scheduler/rings.js';

const { values } = parseArgs({
  options: {
    tenants: { type: 'string', default: '1000000' },
    prods: { type: 'string', default: '2000' },
    clusters: { type: 'string', default: '50' },
    domains: { type: 'string', default: '5' },
    seed: { type: 'string', default: '42' },
    json: { type: 'boolean', default: false },
  },
});
const T = Number(values.tenants);
const P = Number(values.prods);
const C = Number(values.clusters);
const D = Number(values.domains);

/** xorshift32: a reproducible workload without a dependency. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}
const rand = rng(Number(values.seed));

const gc = (globalThis as { gc?: () => void }).gc;
function memMb(): { heap: number; arrayBuffers: number; rss: number } {
  gc?.();
  const m = process.memoryUsage();
  return { heap: m.heapUsed / 2 ** 20, arrayBuffers: m.arrayBuffers / 2 ** 20, rss: m.rss / 2 ** 20 };
}
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

// ---- workload
const before = memMb();
const domainNames = Array.from({ length: D }, (_, d) => `domain-${d}`);
const clusterOfProd = new Int32Array(P);
const prodNames: string[] = [];
const prods = {
  count: P,
  names: prodNames,
  hash: new Uint32Array(P),
  domain: new Int32Array(P),
  domainNames,
  test: new Uint8Array(P),
  serving: new Uint8Array(P).fill(1),
} satisfies ProdTable;
for (let p = 0; p < P; p++) {
  const c = p % C;
  clusterOfProd[p] = c;
  prodNames.push(`prod-${c}-${Math.floor(p / C)}`);
  prods.hash[p] = hashString(prodNames[p] ?? '');
  prods.domain[p] = c % D;
}
const classes: EligibilityClass[] = [{ test: false, admits: new Uint8Array(P).fill(1), hasSelector: false, label: '' }];
const tenants: TenantTable = newTenantTable(T);
let totalUsers = 0;
let redundant = 0;
for (let t = 0; t < T; t++) {
  // Pareto(α=1.5, xmin=5): most tenants are small shops, a few are big; the biggest (capped at 5,000
  // users) is about a third of a Prod's mean load, since a tenant larger than a Prod cannot be balanced.
  const u = Math.min(5_000, Math.floor(5 / Math.pow(1 - rand(), 1 / 1.5)));
  tenants.users[t] = u;
  totalUsers += u;
  const r = rand() < 0.3 ? 2 : 1;
  tenants.redundancy[t] = r;
  if (r === 2) redundant++;
  tenants.hash[t] = mix32(t * 0x9e3779b1 + 17);
}
const input: AssignInput = { prods, classes, tenants, options: { epsilon: 0.25 } };

// ---- warm-up: a control plane runs continuously, so measure JIT-compiled code. A small, separate
// instance exercises the same paths (full pass, failProds) once before the timed runs.
{
  const n = Math.min(T, 20_000);
  const sub = { ...tenants, count: n, users: tenants.users.subarray(0, n), redundancy: tenants.redundancy.subarray(0, n), hash: tenants.hash.subarray(0, n), cls: tenants.cls.subarray(0, n), prev0: new Int32Array(n).fill(-1), prev1: new Int32Array(n).fill(-1) };
  const warm = new TenantAssigner({ prods, classes, tenants: sub, options: { epsilon: 0.25 } });
  warm.run();
  warm.failProds([0, 1]);
}

// ---- full assignment
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const assigner = new TenantAssigner(input);
const full = assigner.run();
const fullMs = performance.now() - t0;
const fullCpuMs = process.cpuUsage(cpu0).user / 1000;
// Snapshot before the incremental step mutates the assigner's arrays.
const full0 = full.slot0.slice();
const full1 = full.slot1.slice();
const afterFull = memMb();
const fullLoad = full.load.slice();
const fullUnassigned = unassignedCount(full);
const fullOver = overCap(full, new Uint8Array(P).fill(1));

function loadStats(res: { load: Float64Array }, servingMask: Uint8Array) {
  let max = 0;
  let sum = 0;
  let n = 0;
  for (let p = 0; p < P; p++) {
    if (servingMask[p] !== 1) continue;
    const l = res.load[p] ?? 0;
    sum += l;
    n++;
    if (l > max) max = l;
  }
  return { max, mean: sum / n, maxOverMean: round(max / (sum / n), 3) };
}
function unassignedCount(res: AssignResult): number {
  let n = 0;
  for (let t = 0; t < T; t++) if ((res.slot0[t] ?? -1) < 0) n++;
  return n;
}

// ---- one cluster fails: incremental reassignment seeded by the full result
const failed = 7;
const serving2 = new Uint8Array(P).fill(1);
for (let p = 0; p < P; p++) if (clusterOfProd[p] === failed) serving2[p] = 0;
const failedProds: number[] = [];
for (let p = 0; p < P; p++) if (clusterOfProd[p] === failed) failedProds.push(p);
const cpu1 = process.cpuUsage();
const t1 = performance.now();
assigner.failProds(failedProds);
const incr = assigner.result();
const incrMs = performance.now() - t1;
const incrCpuMs = process.cpuUsage(cpu1).user / 1000;

// The same change through a full pass seeded by the previous assignment (what the controller runs).
const input2: AssignInput = {
  prods: { ...prods, serving: serving2 },
  classes,
  tenants: { ...tenants, prev0: full0, prev1: full1 },
  options: { epsilon: 0.25 },
};
const t2 = performance.now();
const seeded = assignTenants(input2);
const seededMs = performance.now() - t2;

function movedAndMinimum(prev0: Int32Array, prev1: Int32Array, now0: Int32Array, now1: Int32Array): { moved: number; minimum: number } {
  let moved = 0;
  let minimum = 0;
  for (let t = 0; t < T; t++) {
    const a = prev0[t] ?? -1;
    const b = prev1[t] ?? -1;
    const x = now0[t] ?? -1;
    const y = now1[t] ?? -1;
    if ((a >= 0 && serving2[a] === 0) || (b >= 0 && serving2[b] === 0)) minimum++;
    const same = (a === x && b === y) || (a === y && b === x);
    if (!same) moved++;
  }
  return { moved, minimum };
}
const ours = movedAndMinimum(full0, full1, incr.slot0, incr.slot1);
const oursSeeded = movedAndMinimum(full0, full1, seeded.slot0, seeded.slot1);
function overCap(res: AssignResult, mask: Uint8Array): number {
  let n = 0;
  for (let p = 0; p < P; p++) if (mask[p] === 1 && (res.load[p] ?? 0) > res.bound.normal.cap) n++;
  return n;
}

// ---- naive baseline: plain consistent hashing (same rings, no bounds, no seeding)
function naive(servingMask: Uint8Array): { slot0: Int32Array; slot1: Int32Array; load: Float64Array; ms: number } {
  const start = performance.now();
  const members = Int32Array.from(Array.from({ length: P }, (_, p) => p).filter((p) => servingMask[p] === 1));
  const ring = buildRing(members, prods.hash, 16);
  const slot0 = new Int32Array(T).fill(-1);
  const slot1 = new Int32Array(T).fill(-1);
  const load = new Float64Array(P);
  const n = ring.points.length;
  for (let t = 0; t < T; t++) {
    let i = ringStart(ring, tenants.hash[t] ?? 0);
    const a = ring.prods[i] ?? 0;
    slot0[t] = a;
    load[a] = (load[a] ?? 0) + (tenants.users[t] ?? 0);
    if (tenants.redundancy[t] === 2) {
      // Next Prod clockwise in another domain.
      for (let step = 0; step < n; step++) {
        i = i + 1 === n ? 0 : i + 1;
        const b = ring.prods[i] ?? 0;
        if (prods.domain[b] !== prods.domain[a]) {
          slot1[t] = b;
          load[b] = (load[b] ?? 0) + (tenants.users[t] ?? 0);
          break;
        }
      }
    }
  }
  return { slot0, slot1, load, ms: performance.now() - start };
}
const allServing = new Uint8Array(P).fill(1);
const naiveFull = naive(allServing);
const naiveFail = naive(serving2);
const naiveMoves = movedAndMinimum(naiveFull.slot0, naiveFull.slot1, naiveFail.slot0, naiveFail.slot1);

const report = {
  workload: { tenants: T, prods: P, clusters: C, domains: D, totalUsers, redundant, maxTenantUsers: tenants.users.reduce((m, u) => Math.max(m, u), 0) },
  ours: {
    fullMs: round(fullMs),
    fullCpuMs: round(fullCpuMs),
    incrementalMs: round(incrMs),
    incrementalCpuMs: round(incrCpuMs),
    seededFullPassMs: round(seededMs),
    seededFullPassMoved: oursSeeded.moved,
    boundCapBefore: full.bound.normal.cap,
    full: { ...loadStats({ load: fullLoad }, allServing), unassigned: fullUnassigned, prodsOverBound: fullOver },
    afterFailure: { ...loadStats(incr, serving2), unassigned: unassignedCount(incr), boundCap: incr.bound.normal.cap, prodsOverBound: overCap(incr, serving2) },
    moved: ours.moved,
    minimumToMove: ours.minimum,
    movedOverMinimum: round(ours.moved / ours.minimum, 3),
  },
  naive: {
    fullMs: round(naiveFull.ms),
    afterFailureMs: round(naiveFail.ms),
    full: loadStats(naiveFull, allServing),
    afterFailure: loadStats(naiveFail, serving2),
    moved: naiveMoves.moved,
    minimumToMove: naiveMoves.minimum,
    movedOverMinimum: round(naiveMoves.moved / naiveMoves.minimum, 3),
  },
  memoryMb: {
    gcExposed: gc !== undefined,
    workloadAndResultHeap: round(afterFull.heap - before.heap),
    workloadAndResultArrayBuffers: round(afterFull.arrayBuffers - before.arrayBuffers),
    rssAfterFull: round(afterFull.rss),
    peakRss: round(process.resourceUsage().maxRSS / 1024),
  },
  // Wall time on a shared machine includes time waiting for a core; CPU time is the work done.
  targets: {
    fullUnder3s: { wall: fullMs < 3000, cpu: fullCpuMs < 3000 },
    incrementalUnder200ms: { wall: incrMs < 200, cpu: incrCpuMs < 200 },
    movesWithin1_1x: ours.moved <= 1.1 * ours.minimum,
  },
  loadAverage: os.loadavg()[0] ?? 0,
};
if (values.json) console.log(JSON.stringify(report, null, 2));
else {
  const o = report.ours;
  const nv = report.naive;
  console.log(`workload: ${T} tenants (${redundant} redundant, ${totalUsers} users), ${P} Prods, ${C} clusters, ${D} domains`);
  console.log(`ours : full ${o.fullMs} ms (cpu ${o.fullCpuMs}), incremental after cluster failure ${o.incrementalMs} ms (cpu ${o.incrementalCpuMs})`);
  console.log(`       same change as a seeded full pass: ${o.seededFullPassMs} ms, moved ${o.seededFullPassMoved}`);
  console.log(`       max/mean load ${o.full.maxOverMean} (bound ${1.25}), after failure ${o.afterFailure.maxOverMean}; unassigned ${o.full.unassigned}/${o.afterFailure.unassigned}`);
  console.log(`       moved ${o.moved} vs minimum ${o.minimumToMove} (${o.movedOverMinimum}x)`);
  console.log(`naive: full ${nv.fullMs} ms, after failure ${nv.afterFailureMs} ms; max/mean ${nv.full.maxOverMean}, after failure ${nv.afterFailure.maxOverMean}`);
  console.log(`       moved ${nv.moved} vs minimum ${nv.minimumToMove} (${nv.movedOverMinimum}x)`);
  console.log(`memory: ${JSON.stringify(report.memoryMb)}`);
  console.log(`targets: ${JSON.stringify(report.targets)} (1-min load average ${round(report.loadAverage, 1)} on ${os.cpus().length} cores)`);
}
