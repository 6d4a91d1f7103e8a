/**
 * The operator journey of issue 11 on `drover up` (real processes, built dist, loopback traffic to every
 * tenant through the edge): release v2 → cluster replace → chaos kill-cluster → chaos restore → cluster
 * drain → template change mid-release. Every step must cost 0 failed requests while capacity exists.
 * Every step is a plain test (the fixes of issues 11 and 12 are in). Run (after `npx tsc -p tsconfig.build.json`):
 *   flock /tmp/drover-heavy.lock nice -n 10 node --import tsx --test --test-concurrency=1 test/e2e/journey/journey.test.ts
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { drainTarget, Journey, type StepResult } from './journey.js';

const j = new Journey();
let victim = 'tokyo';

function noFailures(r: StepResult): void {
  assert.equal(r.failed, 0, `${r.step}: ${r.failed} of ${r.ok + r.failed} requests failed (${JSON.stringify(r.failures)}); ${r.note}`);
}

describe('operator journey on drover up (real processes, traffic to every tenant)', { timeout: 480_000 }, () => {
  before(async () => {
    await j.start();
  });

  after(async () => {
    try {
      await j.stop();
    } finally {
      await j.cleanupAfterFailure();
      for (const r of j.results) console.error(`journey step "${r.step}": ${r.failed} failed of ${r.ok + r.failed} in ${r.ms} ms (${r.note}) ${JSON.stringify(r.failures)}`);
    }
  });

  it('release v2: every wave passes with 0 failed requests', async () => {
    noFailures(await j.releaseV2());
  });

  it('cluster replace after the release: 0 failed requests', async () => {
    const r = await j.replace();
    noFailures(r);
  });

  it('cluster replace after a release moves every Prod, or fails saying why', () => {
    const r = j.replaced;
    assert.ok(r, 'the replace step ran');
    assert.ok(r.moved > 0 || r.code !== 0, `replace exited ${r.code} having moved ${r.moved} Prods: ${r.out}`);
  });

  // Issue 11 item 5 saw non-redundant tenants fail ~3 s here; on this branch the edge already fails over
  // with 0 failed requests in this journey (2 runs), so the step is a plain test.
  it('chaos kill-cluster (the cluster of a non-redundant tenant): 0 failed requests', async () => {
    victim = await j.victim();
    noFailures(await j.killCluster(victim));
  });

  it('chaos restore: 0 failed requests', async () => {
    noFailures(await j.restoreCluster(victim));
  });

  it('cluster drain: 0 failed requests, and it completes', async () => {
    const r = await j.drain(drainTarget(victim));
    noFailures(r);
    assert.equal(r.code, 0, r.note);
  });

  it('after kill, restore and drain, redundant tenants are in two domains (room exists)', async () => {
    const single = await j.singleDomainTenants();
    assert.deepEqual(single, [], `redundant tenants in fewer than two domains: ${JSON.stringify(single)}`);
  });

  it('template change in the middle of a release: 0 failed requests', async () => {
    noFailures(await j.templateChangeMidRelease());
  });
});
