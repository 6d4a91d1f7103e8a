/**
 * The SQLite file's size against the objects it holds, at the size of issue 12 without the HTTP and
 * controller cost of `tenant-scale.ts`: the same write mix per tenant that `tenant-scale.ts` records at
 * 10k (a Tenant create, the scheduler's status write, a TrafficRoute create and ~1.8 route updates),
 * written straight into `SqliteStore` (group commit, 64 in flight), then `drover.db` + WAL ÷ the objects'
 * own JSON, as `tenant-scale.ts` reports it.
 *
 *   node --import tsx bench/store-size.ts [--tenants 100000]
 */
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import type { AnyResource } from '../src/api/resource.js';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js';

const { values } = parseArgs({ options: { tenants: { type: 'string', default: '100000' } } });
const N = Number(values.tenants);
const meta = (name: string, labels: Record<string, string> = {}) => ({ name, labels, annotations: {}, finalizers: [], ownerReferences: [] });
const dir = mkdtempSync(join(tmpdir(), 'drover-size-'));
const file = join(dir, 'drover.db');
const store = new SqliteStore(file);
const t0 = performance.now();

async function pool(n: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: 64 }, async () => {
    for (let i = next++; i < n; i = next++) await fn(i);
  }));
}

await pool(N, async (i) => {
  const name = `t-${i}`;
  const t = await store.create<AnyResource>({ apiVersion: 'drover.dev/v1alpha1', kind: 'Tenant', metadata: meta(name), spec: { fleet: 'web', users: 1 + (i % 7), redundancy: i % 4 === 0 ? 2 : 1, test: false, pin: [], match: { hosts: [`${name}.example.com`] } } });
  const prods = i % 4 === 0 ? [`web-p${i % 6}`, `web-p${(i + 3) % 6}`] : [`web-p${i % 6}`];
  await store.updateStatus({ ...t, status: { observedGeneration: 1, prods, domains: prods.map((_, k) => ['tokyo', 'osaka', 'oregon'][(i + k) % 3]), conditions: [{ type: 'Scheduled', status: 'True', reason: 'Assigned', message: `on ${prods.join(', ')}`, lastTransitionTime: new Date().toISOString(), observedGeneration: 1 }] } });
  const route = (rev: number): AnyResource => ({
    apiVersion: 'drover.dev/v1alpha1',
    kind: 'TrafficRoute',
    metadata: meta(name, { 'drover.dev/fleet': 'web' }),
    spec: { fleet: 'web', planRevision: rev, tenant: { name, match: { hosts: [`${name}.example.com`] }, prods, redundancy: prods.length, fallback: [`web-p${(i + 1) % 6}`, `web-p${(i + 2) % 6}`], test: false } },
  });
  let r = await store.create(route(1));
  for (let k = 0; k < (i % 5 === 0 ? 1 : 2); k++) r = await store.update({ ...r, spec: route(k + 2).spec });
});
await store.close();
const secs = (performance.now() - t0) / 1000;
const size = statSync(file).size + (existsSync(`${file}-wal`) ? statSync(`${file}-wal`).size : 0);
const db = new Database(file, { readonly: true });
const own = (db.prepare('SELECT sum(length(CAST(json AS BLOB))) AS b FROM objects').get() as { b: number }).b;
const hist = db.prepare('SELECT count(*) AS c, sum(length(CAST(json AS BLOB))) AS b FROM changes').get() as { c: number; b: number };
const free = db.pragma('freelist_count', { simple: true }) as number;
const page = db.pragma('page_size', { simple: true }) as number;
db.close();
const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
console.log(`${N} tenants, ${store.stats().writes} writes in ${secs.toFixed(1)} s (${store.stats().commits} commits, ${store.stats().syncs} fsyncs)`);
console.log(`database: ${mib(size)} for ${mib(own)} of objects (${(size / own).toFixed(2)}x); history ${hist.c} changes, ${mib(hist.b)}; free pages ${mib(free * page)}`);
rmSync(dir, { recursive: true, force: true });
