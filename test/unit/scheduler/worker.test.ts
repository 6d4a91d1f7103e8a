/**
 * The scheduler's worker thread computes exactly what the in-process functions do: the same snapshot
 * and assignment as `scheduleFleet`, the same fallbacks as `computeFallbacks`, on random fleets (roles,
 * selectors, pins, stored Prods that no longer exist, replacements, NotReady clusters).
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { computeFallbacks } from '../../../src/scheduler/fallbacks.js';
import { decodeFleet, encodeFleet } from '../../../src/scheduler/fleet-columns.js';
import { scheduleFleet, type FleetObjects } from '../../../src/scheduler/snapshot.js';
import { SchedulerWorker } from '../../../src/scheduler/worker-client.js';
import { fallbacksFromReply, runJob, scheduleFromReply, type FallbacksReply, type ScheduleReply } from '../../../src/scheduler/worker-jobs.js';
import { cluster, fleet, prod, tenant } from '../../helpers/fixtures.js';

const SEED = process.env.PROPERTY_SEED === 'random' ? Date.now() : Number(process.env.PROPERTY_SEED ?? 20261201);
const REGIONS = ['tokyo', 'osaka', 'oregon'] as const;

const fleets = fc
  .record({
    clusters: fc.array(fc.record({ region: fc.nat({ max: 2 }), notReady: fc.boolean(), labelled: fc.boolean() }), { minLength: 1, maxLength: 5 }),
    prods: fc.array(fc.record({ cluster: fc.nat({ max: 4 }), test: fc.boolean(), pending: fc.boolean(), replaces: fc.option(fc.nat({ max: 11 }), { nil: undefined }) }), { minLength: 1, maxLength: 12 }),
    tenants: fc.array(
      fc.record({
        users: fc.integer({ min: 1, max: 200 }),
        redundancy: fc.constantFrom(1, 2),
        test: fc.boolean(),
        selector: fc.constantFrom(undefined, { regions: ['tokyo'] }, { regions: ['osaka', 'oregon'] }, { clusterLabels: { tier: 'gold' } }),
        pin: fc.array(fc.nat({ max: 13 }), { maxLength: 1 }),
        stored: fc.array(fc.nat({ max: 13 }), { maxLength: 2 }),
      }),
      { maxLength: 60 },
    ),
    maxUsersPerProd: fc.option(fc.integer({ min: 50, max: 2000 }), { nil: undefined }),
    epsilon: fc.option(fc.constantFrom(0.1, 0.25, 0.5), { nil: undefined }),
  })
  .map((r) => {
    const clusters = r.clusters.map((c, i) => cluster(`c${i}`, { domain: REGIONS[c.region]!, capacity: 10, provider: 'local', phase: c.notReady && i > 0 ? 'NotReady' : 'Ready', labels: c.labelled ? { tier: 'gold' } : {} }));
    // p12 and p13 do not exist: stored and pinned names of gone Prods.
    const prods = r.prods.map((p, i) =>
      prod(`p${i}`, {
        cluster: `c${p.cluster % clusters.length}`,
        role: p.test && i % 3 === 0 ? 'test' : 'normal',
        phase: p.pending ? 'Pending' : 'Ready',
        ...(p.replaces !== undefined && p.replaces !== i ? { replaces: `p${p.replaces}` } : {}),
      }),
    );
    // Names out of order, so that the snapshot's sort matters.
    const tenants = r.tenants.map((t, i) =>
      tenant(
        `t${(i * 7919) % 1000}-${i}`,
        {
          spec: { users: t.users, redundancy: t.redundancy, test: t.test && i % 4 === 0, pin: t.pin.map((p) => `p${p}`), ...(t.selector ? { selector: t.selector } : {}) },
          ...(t.stored.length > 0 ? { prods: t.stored.map((p) => `p${p}`) } : {}),
        },
      ),
    );
    const objs: FleetObjects = { fleet: fleet('web', { app: { command: 'node' }, spec: r.maxUsersPerProd ? { maxUsersPerProd: r.maxUsersPerProd } : {} }), clusters, prods, tenants };
    return { objs, epsilon: r.epsilon };
  });

/** What crosses the thread: a structured clone of the reply (what postMessage delivers). */
const viaClone = <T>(x: T): T => structuredClone(x);

describe('scheduler worker jobs', () => {
  it('decodeFleet keeps everything the snapshot reads', () => {
    fc.assert(
      fc.property(fleets, ({ objs, epsilon }) => {
        const a = scheduleFleet(objs, { epsilon });
        const b = scheduleFleet(decodeFleet(viaClone(encodeFleet(objs))), { epsilon });
        assert.deepEqual(b.snap.input, a.snap.input);
        assert.deepEqual(b.result, a.result);
        assert.deepEqual(b.snap.tenantNames, a.snap.tenantNames);
        assert.deepEqual(b.snap.storedPrev, a.snap.storedPrev);
      }),
      { seed: SEED, numRuns: 200 },
    );
  });

  it('a schedule job gives the same snapshot and assignment as scheduleFleet, and a fallbacks job the same fallbacks as computeFallbacks', () => {
    fc.assert(
      fc.property(fleets, ({ objs, epsilon }) => {
        const want = scheduleFleet(objs, { epsilon });
        const got = scheduleFromReply(objs, viaClone(runJob({ type: 'schedule', fleet: encodeFleet(objs), opts: { epsilon } }).reply as ScheduleReply));
        assert.deepEqual(got, want);
        const fb = fallbacksFromReply(objs, viaClone(runJob({ type: 'fallbacks', fleet: encodeFleet(objs), epsilon }).reply as FallbacksReply));
        assert.deepEqual([...fb], [...computeFallbacks(objs, epsilon)]);
      }),
      { seed: SEED, numRuns: 200 },
    );
  });
});

describe('scheduler worker thread', () => {
  const worker = new SchedulerWorker();
  after(() => worker.close());

  it('answers what the in-process functions answer, on a real thread', async () => {
    await fc.assert(
      fc.asyncProperty(fleets, async ({ objs, epsilon }) => {
        const [got, fb] = await Promise.all([worker.scheduleFleet(objs, { epsilon }), worker.computeFallbacks(objs, epsilon)]);
        assert.deepEqual(got, scheduleFleet(objs, { epsilon }));
        assert.deepEqual([...fb], [...computeFallbacks(objs, epsilon)]);
      }),
      { seed: SEED, numRuns: 30 },
    );
  });

  it('fails the jobs in flight when the thread ends, and the next job runs on a new thread', async () => {
    const objs: FleetObjects = { fleet: fleet('web', { app: { command: 'node' } }), clusters: [cluster('a', { domain: 'tokyo', capacity: 10, provider: 'local', phase: 'Ready' })], prods: [prod('p', { cluster: 'a', phase: 'Ready' })], tenants: [tenant('t')] };
    const w = new SchedulerWorker();
    try {
      // Ended before the new thread has even loaded its code: the job cannot have been answered.
      const running = w.scheduleFleet(objs);
      await w.close();
      await assert.rejects(running, /scheduler worker exited/);
      assert.deepEqual(await w.scheduleFleet(objs), scheduleFleet(objs));
    } finally {
      await w.close();
    }
  });
});
