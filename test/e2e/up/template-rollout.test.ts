/**
 * A Fleet template change on `drover up` with traffic over every tenant (issue 11 item 1): Prods are
 * replaced one at a time and no request fails; a template that cannot start stops the rollout after its
 * first Prod, and every tenant is still served by the Prods on the old template. Real processes (built
 * dist), the edge, real sockets.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RemoteStore } from '../../../src/client/remote-store.js';
import { UpRun } from '../../helpers/drover-up.js';
import { exampleAppPath } from '../../helpers/fixtures.js';
import { applyFleet, edgeUrl, RolloutWatch, rolloutUpFile, settledOn, TrafficLoop } from '../../helpers/template-rollout.js';
import { waitFor } from '../../helpers/wait-for.js';

const up = new UpRun(rolloutUpFile());
let store: RemoteStore;
let traffic: TrafficLoop;

before(async () => {
  store = await up.running();
  await waitFor('six Prods Ready and stamped', () => settledOn(store), { timeoutMs: 90_000, intervalMs: 100 });
  traffic = new TrafficLoop(edgeUrl(up));
  await traffic.everyTenantServed();
  traffic.reset();
});

after(async () => {
  await traffic?.stop();
  await up.stop();
  up.cleanup();
});

const failures = () => JSON.stringify(Object.fromEntries(traffic.counts.failures));

/** What the store holds, for a failure message: the web Prods and the Fleet's conditions. */
async function dump(): Promise<string> {
  const ps = (await store.list('Prod')).items.filter((p) => p.spec.fleet === 'web');
  const f = await store.get('Fleet', 'web');
  return JSON.stringify({
    prods: ps.map((p) => [p.metadata.name, p.spec.cluster, p.spec.replaces ?? '', p.spec.retire, p.spec.template?.hash, p.status?.phase, p.status?.message ?? '']),
    fleet: f?.status,
  });
}

async function waitOrDump<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  try {
    return await waitFor(what, fn, { timeoutMs, intervalMs: 100 });
  } catch (e) {
    throw new Error(`${(e as Error).message}\nstore: ${await dump()}\ndrover up output (tail): ${up.output.slice(-3000)}`);
  }
}

describe('template change on drover up', () => {
  it('an env change replaces the Prods one at a time and fails no request', async () => {
    const before = new Set((await settledOn(store))!.map((p) => p.metadata.name));
    const watch = new RolloutWatch(store);
    const t0 = performance.now();
    await applyFleet(up, { env: { GREETING: 'hello' } });
    const after = await waitOrDump('every Prod on the new template', async () => {
      const f = await store.get('Fleet', 'web');
      return f?.spec.app.env.GREETING === 'hello' ? settledOn(store) : undefined;
    }, 120_000);
    const ms = performance.now() - t0;
    await watch.stop();
    console.log(`template change across 6 Prods: ${Math.round(ms)} ms, ${traffic.counts.ok} requests answered, ${traffic.counts.failed} failed`);
    assert.ok(after.every((p) => !before.has(p.metadata.name)), 'every Prod was replaced by a successor');
    assert.equal(watch.maxInFlight, 1, 'one successor at a time');
    assert.ok(traffic.counts.ok > 100, `traffic flowed (${traffic.counts.ok} answers)`);
    assert.equal(traffic.counts.failed, 0, `failed requests: ${failures()}`);
  });

  it('a template that cannot start stops after its first Prod; every tenant is still served', async () => {
    const good = (await settledOn(store))!;
    const goodHash = good[0]!.spec.template!.hash;
    traffic.reset();
    await applyFleet(up, { args: [exampleAppPath.replace(/server\.mjs$/, 'no-such-server.mjs')], env: { GREETING: 'hello' } });
    const stalled = await waitOrDump('the rollout to stop', async () => {
      const f = await store.get('Fleet', 'web');
      const c = f?.status?.conditions.find((x) => x.type === 'RolloutStalled');
      return c?.status === 'True' ? { f: f!, c } : undefined;
    }, 90_000);
    assert.equal(stalled.c.reason, 'SuccessorFailed');
    assert.match(stalled.c.message, /successor \S+ of \S+ on cluster \w+ failed: .*(exited|code)/);
    const badHash = stalled.f.status?.stalledTemplate;
    assert.ok(badHash && badHash !== goodHash);
    // The failed successor is retired and deleted; the six Prods on the old template stay and serve.
    const remaining = await waitOrDump('only the old Prods left', () => settledOn(store, goodHash), 30_000);
    assert.deepEqual(remaining.map((p) => p.metadata.name).sort(), good.map((p) => p.metadata.name).sort());
    // A while later nothing more was tried on the broken template.
    const tried = async () => (await store.list('Prod')).items.filter((p) => p.spec.template?.hash === badHash).length;
    const firstCount = await tried();
    const served = traffic.counts.ok;
    await waitFor('more traffic', () => traffic.counts.ok > served + 200, { timeoutMs: 30_000, intervalMs: 50 });
    assert.equal(await tried(), firstCount);
    assert.equal(firstCount, 0);
    const events = (await store.list('Event')).items.filter((e) => e.spec.reason === 'RolloutStalled' && e.spec.involvedObject.name === 'web');
    assert.equal(events.length, 1, 'one RolloutStalled event');
    assert.equal(traffic.counts.failed, 0, `failed requests: ${failures()}`);
  });
});
