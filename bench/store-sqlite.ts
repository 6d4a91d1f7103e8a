/**
 * SQLite store benchmark: durable create throughput and latency with group commit and with one fsync per
 * write (the naive baseline), then watch delivery latency with many concurrent watchers.
 * Run: npx tsx bench/store-sqlite.ts [--writes 10000] [--in-flight 64] [--watchers 100] [--watch-writes 5000]
 */
import { setMaxListeners } from 'node:events';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { AnyResource } from '../src/api/resource.js';
import { SqliteStore, type SqliteStoreOptions } from '../src/store/sqlite/sqlite-store.js';

const { values } = parseArgs({
  options: {
    writes: { type: 'string', default: '10000' },
    'in-flight': { type: 'string', default: '64' },
    watchers: { type: 'string', default: '100' },
    'watch-writes': { type: 'string', default: '5000' },
  },
});
const writes = Number(values.writes);
const inFlight = Number(values['in-flight']);
const watchers = Number(values.watchers);
const watchWrites = Number(values['watch-writes']);

function prod(name: string): AnyResource {
  return {
    apiVersion: 'drover.dev/v1alpha1',
    kind: 'Prod',
    metadata: { name, labels: { fleet: 'web', bench: 'store' }, annotations: {}, finalizers: [], ownerReferences: [] },
    spec: { fleet: 'web', cluster: `c${name.length % 3}`, version: 'v1', role: 'normal' },
  };
}

function percentile(sorted: Float64Array | number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, i)]!;
}

const ms = (v: number) => `${v.toFixed(2)} ms`;

/** `count` creates with `inFlight` outstanding at any time; returns per-write latency and ack times by rev. */
async function createMany(store: SqliteStore, prefix: string, count: number, onAck?: (rev: number, issued: number, acked: number) => void) {
  const latencies = new Float64Array(count);
  let next = 0;
  const t0 = performance.now();
  const lane = async () => {
    while (next < count) {
      const i = next++;
      const start = performance.now();
      const o = await store.create(prod(`${prefix}-${i}`));
      const end = performance.now();
      latencies[i] = end - start;
      onAck?.(Number(o.metadata.resourceVersion), start, end);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  const seconds = (performance.now() - t0) / 1000;
  latencies.sort();
  return { writesPerSec: count / seconds, seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

async function withStore<T>(opts: SqliteStoreOptions, fn: (s: SqliteStore) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'drover-bench-'));
  const store = new SqliteStore(join(dir, 'drover.db'), opts);
  try {
    return await fn(store);
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function throughput(groupCommit: boolean) {
  return withStore({ groupCommit }, async (store) => {
    const r = await createMany(store, 'p', writes);
    const { commits, writes: w } = store.stats();
    return { ...r, commits, meanGroup: w / commits };
  });
}

/** Watchers record when each revision reached them; the writer records when each write was acknowledged. */
async function watchLatency() {
  return withStore({}, async (store) => {
    const base = Number(await store.revision());
    const ackAt = new Float64Array(watchWrites + 1);
    const issuedAt = new Float64Array(watchWrites + 1);
    const ac = new AbortController();
    // One signal stops every watcher here; a server gives each watch its own.
    setMaxListeners(watchers + 10, ac.signal);
    const received = Array.from({ length: watchers }, () => new Float64Array(watchWrites + 1));
    let done = 0;
    let allDone: () => void = () => undefined;
    const finished = new Promise<void>((r) => (allDone = r));
    const loops = received.map(async (times) => {
      let n = 0;
      for await (const e of store.watch({ kind: 'Prod', resourceVersion: String(base), signal: ac.signal })) {
        times[Number(e.object.metadata.resourceVersion) - base] = performance.now();
        if (++n === watchWrites) break;
      }
      if (++done === watchers) allDone();
    });
    await createMany(store, 'w', watchWrites, (rev, issued, acked) => {
      issuedAt[rev - base] = issued;
      ackAt[rev - base] = acked;
    });
    await finished;
    ac.abort();
    await Promise.all(loops);
    const fromAck: number[] = [];
    const fromIssue: number[] = [];
    let beforeAck = 0;
    for (const times of received) {
      for (let k = 1; k <= watchWrites; k++) {
        const d = times[k]! - ackAt[k]!;
        if (d < 0) beforeAck++;
        fromAck.push(Math.max(0, d));
        fromIssue.push(times[k]! - issuedAt[k]!);
      }
    }
    fromAck.sort((a, b) => a - b);
    fromIssue.sort((a, b) => a - b);
    return {
      deliveries: fromAck.length,
      ackP50: percentile(fromAck, 50),
      ackP99: percentile(fromAck, 99),
      beforeAckShare: beforeAck / fromAck.length,
      issueP50: percentile(fromIssue, 50),
      issueP99: percentile(fromIssue, 99),
    };
  });
}

const group = await throughput(true);
const naive = await throughput(false);
const watch = await watchLatency();
const ratio = group.writesPerSec / naive.writesPerSec;

console.log(`SQLite store, ${writes} creates, ${inFlight} in flight (WAL, synchronous=FULL)`);
console.log(`  group commit : ${group.writesPerSec.toFixed(0)} writes/s  p50 ${ms(group.p50)}  p99 ${ms(group.p99)}  (${group.commits} commits, ${group.meanGroup.toFixed(1)} writes/commit)`);
console.log(`  fsync/write  : ${naive.writesPerSec.toFixed(0)} writes/s  p50 ${ms(naive.p50)}  p99 ${ms(naive.p99)}  (${naive.commits} commits)`);
console.log(`  ratio        : ${ratio.toFixed(1)}x`);
console.log(`Watch delivery, ${watchers} watchers, ${watchWrites} creates (${watch.deliveries} deliveries)`);
console.log(`  ack -> receipt   p50 ${ms(watch.ackP50)}  p99 ${ms(watch.ackP99)}  (${(watch.beforeAckShare * 100).toFixed(0)}% arrived before the writer saw its ack)`);
console.log(`  issue -> receipt p50 ${ms(watch.issueP50)}  p99 ${ms(watch.issueP99)}`);
const targets = group.writesPerSec >= 2000 && watch.ackP99 < 50;
console.log(`Targets (>= 2000 writes/s, watch p99 < 50 ms): ${targets ? 'met' : 'NOT met'}`);

await mkdir(new URL('./results/', import.meta.url), { recursive: true });
await writeFile(
  new URL('./results/store-sqlite.json', import.meta.url),
  JSON.stringify({ at: new Date().toISOString(), writes, inFlight, watchers, watchWrites, group, naive, ratio, watch }, null, 2),
);
