/**
 * Failed requests per step of the operator journey of issue 11 (run: `npx tsx bench/journey.ts`, after
 * `npx tsc -p tsconfig.build.json`; wrap in `flock /tmp/drover-heavy.lock` on a shared machine):
 * `drover up` (3 local clusters of capacity 4, 6 Prods of the example app, 4 tenants, two of them
 * redundant), loopback traffic through the edge to every tenant (one loop per tenant, a request every
 * 10 ms, four source addresses), then release v2 → cluster replace onprem --with kobe → chaos
 * kill-cluster (the cluster of the non-redundant tenant) → chaos restore → cluster drain (another) →
 * template change (app env) mid-release v3,
 * each step followed by a 5 s tail whose failures count against it (test/e2e/journey/journey.ts).
 * Prints one line per step — failed/total, the step's time, how long failures lasted (first to last
 * failed request) and by tenant/status — then the whole as JSON.
 */
import { Journey, runJourney } from '../test/e2e/journey/journey.js';

const j = new Journey({ tailMs: 5000, everyMs: 10 });
try {
  await j.start();
  const results = await runJourney(j);
  const steady = j.traffic.count('steady');
  console.log(`steady (before the journey): ${steady.failed} failed of ${steady.ok + steady.failed}`);
  for (const r of results) {
    const window = r.firstFailureAt !== undefined && r.lastFailureAt !== undefined ? `${Math.round(r.lastFailureAt - r.firstFailureAt)} ms` : '-';
    console.log(`${r.step.padEnd(28)} ${String(r.failed).padStart(5)} failed of ${String(r.ok + r.failed).padStart(6)}  step ${String(r.ms).padStart(6)} ms  failing for ${window.padStart(8)}  ${JSON.stringify(r.failures)}  (${r.note})`);
  }
  console.log(JSON.stringify({ replaced: j.replaced, steps: results.map(({ step, ok, failed, ms, failures, note }) => ({ step, ok, failed, ms, failures, note })) }));
} finally {
  await j.stop().catch(() => undefined);
  await j.cleanupAfterFailure();
}
