import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { computeFallbacks } from '../../../src/scheduler/fallbacks.js';
import { planClusterFailure } from '../../../src/scheduler/plan-failure.js';
import { scheduleFleet, tenantPlacement, type FleetObjects } from '../../../src/scheduler/snapshot.js';
import { cluster, fleet, prod, tenant } from '../../helpers/fixtures.js';

const SEED = process.env.PROPERTY_SEED === 'random' ? Date.now() : Number(process.env.PROPERTY_SEED ?? 20261201);

/** A fleet over 3–5 clusters in 3 domains, some test Prods and test tenants, tenants seeded as the scheduler placed them. */
const fleets = fc
  .record({
    clusters: fc.array(fc.nat({ max: 2 }), { minLength: 2, maxLength: 5 }),
    prods: fc.array(fc.record({ cluster: fc.nat({ max: 4 }), test: fc.boolean() }), { minLength: 2, maxLength: 10 }),
    tenants: fc.array(fc.record({ users: fc.integer({ min: 1, max: 50 }), redundancy: fc.constantFrom(1, 2), test: fc.boolean() }), { minLength: 1, maxLength: 40 }),
  })
  .map((r): FleetObjects => {
    const clusters = r.clusters.map((d, i) => cluster(`c${i}`, { domain: ['tokyo', 'osaka', 'oregon'][d]!, phase: 'Ready' }));
    const prods = r.prods.map((p, i) => prod(`p${i}`, { cluster: `c${p.cluster % clusters.length}`, phase: 'Ready', role: p.test && i % 3 === 0 ? 'test' : 'normal' }));
    const tenants = r.tenants.map((t, i) => tenant(`t${String(i).padStart(2, '0')}`, { users: t.users, redundancy: t.redundancy, test: t.test && i % 5 === 0 }));
    const objs = { fleet: fleet('web'), clusters, prods, tenants };
    // Stored as the scheduler would have written them.
    const { snap, result } = scheduleFleet(objs);
    const seeded = tenants.map((t) => ({ ...t, status: { conditions: [], domains: [], prods: tenantPlacement(snap, result, snap.tenantNames.indexOf(t.metadata.name)).prods } }));
    return { ...objs, tenants: seeded };
  });

describe('computeFallbacks', () => {
  it("gives each tenant, for its Prods' cluster, exactly where `drover plan --fail-cluster` moves it", () => {
    fc.assert(
      fc.property(fleets, (objs) => {
        const fallbacks = computeFallbacks(objs);
        const clusterOf = new Map(objs.prods.map((p) => [p.metadata.name, p.spec.cluster]));
        const want = new Map<string, string[]>();
        for (const c of objs.clusters) {
          for (const m of planClusterFailure('web', objs, c.metadata.name).moves) {
            if (!m.from.some((p) => clusterOf.get(p) === c.metadata.name)) continue;
            const list = want.get(m.tenant) ?? [];
            for (const p of m.to) if (!m.from.includes(p) && !list.includes(p)) list.push(p);
            if (list.length > 0) want.set(m.tenant, list);
          }
        }
        // Compared as sets per tenant: over several clusters the order is the clusters' order.
        const norm = (m: Map<string, string[]>) => new Map([...m].map(([k, v]) => [k, [...v].sort()]));
        assert.deepEqual(norm(fallbacks), norm(want));
        // Test tenants only ever fall back to test Prods.
        const role = new Map(objs.prods.map((p) => [p.metadata.name, p.spec.role]));
        for (const t of objs.tenants) for (const p of fallbacks.get(t.metadata.name) ?? []) assert.equal(role.get(p), t.spec.test ? 'test' : 'normal');
      }),
      { seed: SEED, numRuns: 150 },
    );
  });

  it('a non-redundant tenant alone on a cluster falls back to a Prod in another cluster', () => {
    const objs: FleetObjects = {
      fleet: fleet('web'),
      clusters: [cluster('a', { domain: 'tokyo', phase: 'Ready' }), cluster('b', { domain: 'osaka', phase: 'Ready' })],
      prods: [prod('pa', { cluster: 'a', phase: 'Ready' }), prod('pb', { cluster: 'b', phase: 'Ready' })],
      tenants: [tenant('shop', { users: 10, prods: ['pa'] })],
    };
    assert.deepEqual(computeFallbacks(objs).get('shop'), ['pb']);
    assert.deepEqual(planClusterFailure('web', objs, 'a').moves.map((m) => m.to), [['pb']]);
  });
});
