/**
 * A Fleet template change across 6 Prods on `drover up` (run: `npx tsx bench/template-rollout.ts [changes]`,
 * after `npx tsc -p tsconfig.build.json`; wrap in `flock /tmp/drover-heavy.lock`): three local clusters,
 * six Prods of the example app (one test Prod), six tenants with a traffic loop over each through the edge
 * (one request every 20 ms per tenant). Each change sets another `spec.app.env` value; it is timed from
 * `drover apply` until all six Prods are Ready on the new template with none retiring, and the requests
 * that failed meanwhile are counted (anything but a 200). Prints one line per change and a JSON summary.
 */
import { UpRun } from '../test/helpers/drover-up.js';
import { applyFleet, edgeUrl, RolloutWatch, rolloutUpFile, settledOn, TrafficLoop } from '../test/helpers/template-rollout.js';
import { waitFor } from '../test/helpers/wait-for.js';
import type { Fleet } from '../src/api/kinds/fleet.js';

const changes = Number(process.argv[2] ?? 3);
const up = new UpRun(rolloutUpFile());
const rows: { ms: number; ok: number; failed: number; maxInFlight: number }[] = [];
try {
  const store = await up.running();
  await waitFor('six Prods Ready', () => settledOn(store), { timeoutMs: 90_000, intervalMs: 100 });
  const traffic = new TrafficLoop(edgeUrl(up));
  await traffic.everyTenantServed();
  for (let i = 1; i <= changes; i++) {
    traffic.reset();
    const watch = new RolloutWatch(store);
    const t0 = performance.now();
    await applyFleet(up, { env: { BENCH_CHANGE: String(i) } });
    await waitFor(
      'every Prod on the new template',
      async () => ((await store.get<Fleet>('Fleet', 'web'))?.spec.app.env.BENCH_CHANGE === String(i) ? settledOn(store) : undefined),
      { timeoutMs: 180_000, intervalMs: 50 },
    );
    const ms = performance.now() - t0;
    await watch.stop();
    rows.push({ ms: Math.round(ms), ok: traffic.counts.ok, failed: traffic.counts.failed, maxInFlight: watch.maxInFlight });
    console.log(`change ${i}: ${Math.round(ms)} ms, ${traffic.counts.ok + traffic.counts.failed} requests, ${traffic.counts.failed} failed, at most ${watch.maxInFlight} successor at a time${traffic.counts.failed ? ` ${JSON.stringify(Object.fromEntries(traffic.counts.failures))}` : ''}`);
  }
  await traffic.stop();
} finally {
  await up.stop();
  up.cleanup();
}
const sorted = rows.map((r) => r.ms).sort((a, b) => a - b);
console.log(
  JSON.stringify({
    changes,
    medianMs: sorted[Math.floor(sorted.length / 2)],
    maxMs: sorted[sorted.length - 1],
    requests: rows.reduce((n, r) => n + r.ok + r.failed, 0),
    failed: rows.reduce((n, r) => n + r.failed, 0),
    maxInFlight: Math.max(...rows.map((r) => r.maxInFlight)),
  }),
);
