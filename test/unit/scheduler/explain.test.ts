import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Tenant } from '../../../src/api/index.js';
import { explainTenantFromStore, planFailureFromStore } from '../../../src/cli/scheduler-queries.js';
import { columnsFor, tableRows } from '../../../src/cli/format/columns.js';
import { explainTenant, formatExplanation } from '../../../src/scheduler/explain.js';
import { formatFailurePlan } from '../../../src/cli/format/failure-plan.js';
import { scheduleFleet, tenantPlacement, type FleetObjects } from '../../../src/scheduler/snapshot.js';
import { MemoryStore } from '../../../src/store/memory/memory-store.js';
import { cluster, fleet, prod, tenant } from '../../helpers/fixtures.js';

function world(tenants: Tenant[], extra: Partial<FleetObjects> = {}): FleetObjects {
  return {
    fleet: fleet('web'),
    clusters: [cluster('tokyo', { domain: 'jp', phase: 'Ready', labels: { tier: 'gold' } }), cluster('osaka', { domain: 'jp-west', phase: 'Ready' }), cluster('virginia', { domain: 'us', phase: 'NotReady' })],
    prods: [prod('tokyo-1', { cluster: 'tokyo', phase: 'Ready' }), prod('tokyo-2', { cluster: 'tokyo', phase: 'Ready' }), prod('osaka-1', { cluster: 'osaka', phase: 'Ready' }), prod('virginia-1', { cluster: 'virginia', phase: 'Ready' }), prod('tokyo-t', { cluster: 'tokyo', phase: 'Ready', role: 'test' })],
    tenants,
    ...extra,
  };
}

function explain(objs: FleetObjects, name: string) {
  const { snap, result } = scheduleFleet(objs);
  const i = snap.tenantNames.indexOf(name);
  return { e: explainTenant(snap, result, i), placement: tenantPlacement(snap, result, i) };
}

describe('explanations', () => {
  it('says when a selector matches nothing, and names the filter of each Prod', () => {
    const { e, placement } = explain(world([tenant('eu-shop', { spec: { selector: { regions: ['eu'] } } })]), 'eu-shop');
    assert.deepEqual(placement.prods, []);
    assert.deepEqual(e.reasons.map((r) => r.code), ['SelectorMatchesNothing']);
    const why = new Map(e.filtered.map((f) => [f.prod, f.why]));
    assert.equal(why.get('virginia-1'), 'cannot serve: cluster virginia NotReady');
    assert.equal(why.get('tokyo-t'), 'role test, tenant needs normal Prods');
    assert.equal(why.get('osaka-1'), 'selector regions=eu does not admit it');
  });

  it('says redundancy was reduced because only one domain is eligible', () => {
    const { e, placement } = explain(world([tenant('gold', { spec: { redundancy: 2, selector: { clusterLabels: { tier: 'gold' } } } })]), 'gold');
    assert.equal(placement.prods.length, 1);
    assert.deepEqual(e.reasons.map((r) => r.code), ['RedundancyReducedSingleDomain']);
    assert.equal(e.domains.length, 1);
    assert.equal(e.domains[0]?.domain, 'jp');
  });

  it('says a pin is unavailable and shows the ring walk that chose instead', () => {
    const { e } = explain(world([tenant('pinned', { spec: { pin: ['virginia-1'] } })]), 'pinned');
    assert.deepEqual(e.reasons.map((r) => r.code), ['PinUnavailable']);
    assert.equal(e.chosen.length, 1);
    assert.equal(e.chosen[0]?.how, 'placed');
    const walked = e.domains.flatMap((d) => d.walk).find((c) => c.chosen);
    assert.equal(walked?.prod, e.chosen[0]?.prod);
    assert.match(formatExplanation(e), /Not satisfied:\n {2}PinUnavailable/);
  });

  it('says a test tenant has no test Prod to go to', () => {
    const objs = world([tenant('qa', { test: true })]);
    const { e } = explain({ ...objs, prods: objs.prods.filter((p) => p.spec.role !== 'test') }, 'qa');
    assert.deepEqual(e.reasons.map((r) => r.code), ['NoServingProd']);
  });

  it('reports a kept Prod and the bound', () => {
    const first = explain(world([tenant('a', { users: 30 }), tenant('b', { users: 10 })]), 'a');
    const prev = first.placement.prods;
    const { e } = explain(world([tenant('a', { users: 30, prods: prev }), tenant('b', { users: 10 })]), 'a');
    assert.deepEqual(e.previous, prev);
    assert.equal(e.chosen[0]?.how, 'kept');
    assert.equal(e.bound.mean, 40 / 3);
    assert.equal(e.bound.cap, Math.ceil(1.25 * (40 / 3)));
  });
});

describe('explain and plan from a store', () => {
  async function seeded(): Promise<MemoryStore> {
    const store = new MemoryStore();
    const objs = world([]);
    for (const o of [objs.fleet!, ...objs.clusters, ...objs.prods]) {
      const created = await store.create(o);
      if (o.status) await store.updateStatus({ ...created, status: o.status });
    }
    const ts = [tenant('a', { users: 5, redundancy: 2 }), tenant('b', { users: 7 }), tenant('c', { users: 9 })];
    const { snap, result } = scheduleFleet(world(ts));
    for (const [i, t] of ts.entries()) {
      const created = await store.create(t);
      const p = tenantPlacement(snap, result, i);
      await store.updateStatus({ ...created, status: { conditions: [], prods: p.prods, domains: p.domains } });
    }
    return store;
  }

  it('explains a stored tenant', async () => {
    const e = await explainTenantFromStore(await seeded(), 'a');
    assert.equal(e.chosen.length, 2);
    assert.ok(e.chosen.every((c) => c.how === 'kept'));
    await assert.rejects(explainTenantFromStore(await seeded(), 'nope'), /Tenant "nope" not found/);
  });

  it('plans a cluster failure: who moves, who loses redundancy', async () => {
    const store = await seeded();
    const [plan] = await planFailureFromStore(store, 'osaka', 'web');
    assert.ok(plan);
    // Only tokyo (jp) remains: the redundant tenant loses its osaka Prod.
    assert.equal(plan.mustMove, plan.moves.length + plan.noProd.length);
    const a = plan.lostRedundancy.find((l) => l.tenant === 'a');
    assert.ok(a, 'a loses redundancy');
    assert.deepEqual(a.reasons, ['RedundancyReducedSingleDomain']);
    assert.match(formatFailurePlan([plan]), /if cluster osaka fails/);
    await assert.rejects(planFailureFromStore(store, 'mars'), /Cluster "mars" not found/);
  });

  it('shows NAME USERS REDUNDANCY PRODS DOMAINS in drover get tenants', async () => {
    const store = await seeded();
    const a = await store.get('Tenant', 'a');
    assert.ok(a);
    const cols = columnsFor('Tenant', false);
    assert.deepEqual(cols.map((c) => c.header), ['NAME', 'USERS', 'REDUNDANCY', 'PRODS', 'DOMAINS']);
    const [row] = tableRows([a], cols);
    assert.equal(row?.[2], '2');
    assert.equal(row?.[3]?.split(',').length, 2);
    assert.equal(row?.[4]?.split(',').length, 2);
  });
});
