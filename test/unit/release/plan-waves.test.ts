import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planWaves, releasableProds } from '../../../src/release/plan-waves.js';
import { prod, talkFleet, tenant } from '../../helpers/fixtures.js';

describe('planWaves', () => {
  it("reproduces the talk's order: C-2; C-1; A-2 and B-1; A-1 and B-2", () => {
    const { prods, tenants } = talkFleet();
    const plan = planWaves(prods, tenants, { maxParallel: 2 });
    assert.deepEqual(
      plan.waves.map((w) => [w.riskClass, w.prods]),
      [
        ['test', ['c-2']],
        ['fewUsers', ['c-1']],
        ['redundant', ['b-1', 'a-2']],
        ['nonRedundant', ['a-1', 'b-2']],
      ],
    );
    assert.equal(plan.waves[1]?.users, 30);
    assert.deepEqual(plan.waves[2]?.tenants, ['r1', 'r2']);
    assert.equal(plan.totalUsers, 1180);
  });

  it('never puts both Prods of a redundant tenant in one wave, whatever maxParallel', () => {
    const prods = [prod('a-1', { fleet: 'shop', cluster: 'a' }), prod('b-1', { fleet: 'shop', cluster: 'b' }), prod('a-2', { fleet: 'shop', cluster: 'a' }), prod('b-2', { fleet: 'shop', cluster: 'b' })];
    const tenants = [tenant('r1', { fleet: 'shop', users: 100, prods: ['a-1', 'b-1'], redundancy: 2 }), tenant('r2', { fleet: 'shop', users: 100, prods: ['a-2', 'b-2'], redundancy: 2 })];
    const plan = planWaves(prods, tenants, { maxParallel: 10, fewUsersShare: 0 });
    assert.equal(plan.waves.length, 2);
    for (const w of plan.waves) {
      assert.equal(w.riskClass, 'redundant');
      assert.ok(!(w.prods.includes('a-1') && w.prods.includes('b-1')), `wave ${w.index} takes both Prods of r1`);
      assert.ok(!(w.prods.includes('a-2') && w.prods.includes('b-2')), `wave ${w.index} takes both Prods of r2`);
    }
  });

  it('respects maxParallel and orders by ascending users inside a class', () => {
    const prods = ['p1', 'p2', 'p3'].map((n) => prod(n, { fleet: 'shop', cluster: 'x' }));
    const tenants = [tenant('t1', { fleet: 'shop', users: 300, prods: ['p1'] }), tenant('t2', { fleet: 'shop', users: 100, prods: ['p2'] }), tenant('t3', { fleet: 'shop', users: 200, prods: ['p3'] })];
    const plan = planWaves(prods, tenants, { maxParallel: 1, fewUsersShare: 0 });
    assert.deepEqual(plan.waves.map((w) => w.prods), [['p2'], ['p3'], ['p1']]);
    assert.ok(plan.waves.every((w) => w.riskClass === 'nonRedundant'));
  });

  it('treats a redundant tenant that got only one Prod as non-redundant, and skips retired and in-flight Prods', () => {
    const p = [prod('a-1', { fleet: 'shop', cluster: 'a' }), prod('b-1', { fleet: 'shop', cluster: 'b' }), { ...prod('a-1-v2', { fleet: 'shop', cluster: 'a' }), spec: { ...prod('a-1-v2', { fleet: 'shop', cluster: 'a' }).spec, replaces: 'a-1' } }];
    const retired = prod('old', { fleet: 'shop', cluster: 'a' });
    retired.spec.retire = true;
    const live = releasableProds([...p, retired], 'shop');
    assert.deepEqual(live.map((x) => x.metadata.name), ['a-1', 'b-1']);
    const plan = planWaves(live, [tenant('r', { fleet: 'shop', users: 100, prods: ['a-1'], redundancy: 2 }), tenant('s', { fleet: 'shop', users: 100, prods: ['b-1'], redundancy: 2 })], {
      maxParallel: 2,
      fewUsersShare: 0,
    });
    assert.deepEqual(plan.prods.map((x) => x.riskClass), ['nonRedundant', 'nonRedundant']);
  });

  it('releases a successor whose swap is finished (predecessor retired or gone) like any live Prod', () => {
    const succ = (name: string, replaces: string) => ({ ...prod(name, { fleet: 'shop', cluster: 'a' }), spec: { ...prod(name, { fleet: 'shop', cluster: 'a' }).spec, replaces } });
    const oldPred = prod('a-1', { fleet: 'shop', cluster: 'a' });
    oldPred.spec.retire = true;
    const live = releasableProds([oldPred, succ('a-1-v2', 'a-1'), succ('b-1-v2', 'b-gone')], 'shop');
    assert.deepEqual(live.map((x) => x.metadata.name), ['a-1-v2', 'b-1-v2']);
  });
});

describe('planWaves invariants (property)', () => {
  it('every Prod once, ≤ maxParallel, no shared tenant in a wave, classes in risk order', async () => {
    const fc = await import('fast-check');
    const arb = fc.record({
      prods: fc.integer({ min: 1, max: 12 }),
      maxParallel: fc.integer({ min: 1, max: 5 }),
      tenants: fc.array(fc.record({ users: fc.integer({ min: 0, max: 1000 }), redundancy: fc.constantFrom(1 as const, 2 as const), a: fc.nat(), b: fc.nat() }), { maxLength: 20 }),
      testProd: fc.boolean(),
    });
    fc.assert(
      fc.property(arb, (c) => {
        const prods = Array.from({ length: c.prods }, (_, i) => prod(`p-${i}`, { fleet: 'shop', cluster: `c${i % 3}`, role: c.testProd && i === 0 ? 'test' : 'normal' }));
        const tenants = c.tenants.map((t, i) => {
          const a = `p-${t.a % c.prods}`;
          const b = `p-${t.b % c.prods}`;
          return tenant(`t-${i}`, { fleet: 'shop', users: t.users, prods: t.redundancy === 2 && a !== b ? [a, b] : [a], redundancy: t.redundancy });
        });
        const plan = planWaves(prods, tenants, { maxParallel: c.maxParallel });
        const all = plan.waves.flatMap((w) => w.prods).sort();
        assert.deepEqual(all, prods.map((p) => p.metadata.name).sort());
        const order = ['test', 'fewUsers', 'redundant', 'nonRedundant'];
        let last = 0;
        for (const w of plan.waves) {
          assert.ok(w.prods.length >= 1 && w.prods.length <= c.maxParallel);
          assert.ok(order.indexOf(w.riskClass) >= last);
          last = order.indexOf(w.riskClass);
          for (const t of tenants) assert.ok((t.status?.prods ?? []).filter((p) => w.prods.includes(p)).length <= 1, `wave ${w.index} shares tenant ${t.metadata.name}`);
        }
      }),
      { numRuns: 200, seed: 20261122 }, // fixed: reproducible in CI
    );
  });
});
