import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { assignTenants, TenantAssigner } from '../../../src/scheduler/assign-tenants.js';
import { SlotHow, type AssignInput, type AssignResult } from '../../../src/scheduler/model.js';
import { reasonBit } from '../../../src/scheduler/reasons.js';
import { fleetInput, seeded } from './generators.js';

// Bounded so the suite stays fast; raise with PROPERTY_RUNS=5000 when changing the scheduler.
const RUNS = Number(process.env.PROPERTY_RUNS ?? 300);
// A fixed seed keeps the suite reproducible (CI must not go red on a case a random draw happens to find);
// explore new cases with PROPERTY_SEED=<n> (or PROPERTY_SEED=random) when changing the scheduler.
const SEED = process.env.PROPERTY_SEED === 'random' ? Date.now() : Number(process.env.PROPERTY_SEED ?? 20261122);

function eligible(input: AssignInput, t: number, p: number): boolean {
  const cls = input.classes[input.tenants.cls[t] ?? 0];
  return !!cls && input.prods.serving[p] === 1 && input.prods.test[p] === (cls.test ? 1 : 0) && cls.admits[p] === 1;
}

function slotsOf(r: AssignResult, t: number): number[] {
  return [r.slot0[t] ?? -1, r.slot1[t] ?? -1].filter((p) => p >= 0);
}

function checkInvariants(input: AssignInput, r: AssignResult): void {
  const { tenants, prods } = input;
  const hardCap = input.options?.maxUsersPerProd ?? Infinity;
  const load = new Float64Array(prods.count);
  const onProd = new Map<number, number[]>();
  for (let t = 0; t < tenants.count; t++) {
    const slots = slotsOf(r, t);
    const cls = input.classes[tenants.cls[t] ?? 0];
    assert.ok(slots.length <= (tenants.redundancy[t] ?? 1), 'no more Prods than the redundancy');
    if ((r.slot1[t] ?? -1) >= 0) assert.ok((r.slot0[t] ?? -1) >= 0, 'slot 0 fills first');
    if (slots.length === 2) assert.notEqual(prods.domain[slots[0] ?? 0], prods.domain[slots[1] ?? 0], 'redundant Prods in distinct domains');
    for (const [i, p] of slots.entries()) {
      const how = (i === 0 ? r.how0[t] : r.how1[t]) ?? 0;
      assert.equal(prods.serving[p], 1, 'only serving Prods receive tenants');
      assert.equal(prods.test[p], cls?.test ? 1 : 0, 'test tenants only on test Prods, normal never on test Prods');
      if (how !== SlotHow.pinned) assert.ok(eligible(input, t, p), 'selector respected');
      load[p] = (load[p] ?? 0) + (tenants.users[t] ?? 0);
      onProd.set(p, [...(onProd.get(p) ?? []), t]);
    }
    if (slots.length === 0) {
      // No tenant without a Prod while capacity exists.
      for (let p = 0; p < prods.count; p++) {
        if (eligible(input, t, p)) assert.ok((r.load[p] ?? 0) + (tenants.users[t] ?? 0) > hardCap, `tenant ${t} unassigned though Prod ${p} has room`);
      }
      assert.ok((r.flags[t] ?? 0) & (reasonBit.NoCapacity | reasonBit.NoServingProd | reasonBit.SelectorMatchesNothing), 'an unassigned tenant says why');
    } else if (slots.length < (tenants.redundancy[t] ?? 1)) {
      assert.ok((r.flags[t] ?? 0) & (reasonBit.RedundancyReducedNoRoom | reasonBit.RedundancyReducedSingleDomain), 'reduced redundancy says why');
    }
  }
  for (let p = 0; p < prods.count; p++) {
    assert.equal(r.load[p], load[p], 'load bookkeeping');
    assert.ok((load[p] ?? 0) <= hardCap, 'hard capacity respected');
    const cap = prods.test[p] === 1 ? r.bound.test.cap : r.bound.normal.cap;
    const ts = onProd.get(p) ?? [];
    if ((load[p] ?? 0) > cap) {
      // A tenant bigger than the bound may have a Prod to itself (others on it have 0 users).
      const alone = ts.some((t) => (tenants.users[t] ?? 0) === load[p]);
      const explained = alone || ts.some((t) => (r.flags[t] ?? 0) & reasonBit.BoundExceeded || r.how0[t] === SlotHow.pinned || r.how1[t] === SlotHow.pinned);
      assert.ok(explained, `Prod ${p} above the bound (${load[p]} > ${cap}) without a reason`);
    }
  }
}

describe('assignTenants (properties)', () => {
  it('keeps every invariant on generated fleets', () => {
    fc.assert(
      fc.property(fleetInput(), (input) => checkInvariants(input, assignTenants(input))),
      { numRuns: RUNS, seed: SEED },
    );
  });

  it('keeps every Prod within the bound when tenants are small and unconstrained', () => {
    fc.assert(
      fc.property(fleetInput({ pins: false, selectors: false, test: false }), (input) => {
        const r1 = { ...input, tenants: { ...input.tenants, redundancy: new Uint8Array(input.tenants.count).fill(1) } };
        const r = assignTenants(r1);
        const eps = input.options?.epsilon ?? 0.25;
        let max = 0;
        for (const u of input.tenants.users) max = Math.max(max, u);
        fc.pre(max <= eps * r.bound.normal.mean);
        for (let p = 0; p < input.prods.count; p++) assert.ok((r.load[p] ?? 0) <= r.bound.normal.cap, 'within (1+ε)·mean');
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });

  it('respects a pin to a serving Prod of the right role', () => {
    fc.assert(
      fc.property(fleetInput({ selectors: false }), (input) => {
        const r = assignTenants({ ...input, options: { ...input.options, maxUsersPerProd: undefined } });
        for (const [t, pins] of input.tenants.pins) {
          const p = pins[0] ?? -1;
          const cls = input.classes[input.tenants.cls[t] ?? 0];
          if (p >= 0 && input.prods.serving[p] === 1 && input.prods.test[p] === (cls?.test ? 1 : 0)) assert.ok(slotsOf(r, t).includes(p), 'pin honoured');
          else assert.ok((r.flags[t] ?? 0) & reasonBit.PinUnavailable, 'unavailable pin explained');
        }
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });

  const fixpoint = fc.property(fleetInput(), (input) => {
    const a = assignTenants(input);
    const b = assignTenants(seeded(input, a));
    for (let t = 0; t < input.tenants.count; t++) assert.deepEqual(slotsOf(b, t).sort(), slotsOf(a, t).sort(), `tenant ${t} moved on a no-op`);
  });

  it('is a fixpoint: re-running on its own result moves nobody', () => {
    fc.assert(fixpoint, { numRuns: RUNS, seed: SEED });
  });

  // KNOWN BUG (issue 5 stays open): a random run on 2026-11-22 found a fleet where re-running moves a
  // redundancy-2 tenant between two Prods of one domain (5 Prods, a pin, a domain selector, ε = 0.1).
  // Replayed here exactly; marked todo so it is reported on every run without failing the suite.
  it('is a fixpoint on the counterexample found 2026-11-22', { todo: 'known bug: re-run moves tenant 2 from p1 to p3' }, () => {
    fc.assert(fixpoint, {
      seed: 1621214912,
      path: '184:10:9:20:21:19:19:5:10:11:15:25:31:23:23:13:23:19:23:31:41:41:47:27:19:28:48:32:48:28:24:27:39:23:46:26:19:27:43:27:23:26:42:23:42:26:19:23:41:25:42:23:44:44',
      endOnFailure: true,
    });
  });

  it('removing one Prod moves only its tenants plus a bounded few', () => {
    fc.assert(
      fc.property(fleetInput(), fc.nat(), (input, pick) => {
        const base = assignTenants(input);
        const serving = input.prods.serving.slice();
        const gone = pick % input.prods.count;
        serving[gone] = 0;
        const after = assignTenants(seeded(input, base, serving));
        checkInvariants({ ...input, prods: { ...input.prods, serving } }, after);
        let others = 0;
        for (let t = 0; t < input.tenants.count; t++) {
          const before = slotsOf(base, t);
          if (before.includes(gone)) continue;
          if (before.sort().join() !== slotsOf(after, t).sort().join() && before.length >= slotsOf(after, t).length) others++;
        }
        // Others move only to rebalance when the bound falls (the Prod was the last of its domain).
        assert.ok(others <= Math.ceil(0.1 * input.tenants.count) + 1, `${others} other tenants moved`);
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });

  it('incremental failProds moves exactly the failed Prods’ tenants and keeps the invariants', () => {
    fc.assert(
      fc.property(fleetInput(), fc.nat(), (input, pick) => {
        const assigner = new TenantAssigner(input);
        const base = assigner.run();
        const before = Array.from({ length: input.tenants.count }, (_, t) => slotsOf(base, t));
        const gone = pick % input.prods.count;
        const moved = new Set(assigner.failProds([gone]));
        const after = assigner.result();
        const serving = input.prods.serving.slice();
        serving[gone] = 0;
        checkInvariants({ ...input, prods: { ...input.prods, serving } }, after);
        let others = 0;
        for (let t = 0; t < input.tenants.count; t++) {
          const was = before[t] ?? [];
          const now = slotsOf(after, t);
          if (was.includes(gone)) assert.ok(moved.has(t), 'a failed Prod’s tenant is reported');
          else if (now.sort().join() !== [...was].sort().join()) {
            assert.ok(moved.has(t), 'every move is reported');
            others++;
          }
        }
        // Others move only when the bound fell (the Prod was the last of its domain).
        assert.ok(others <= Math.ceil(0.1 * input.tenants.count) + 1, `${others} other tenants moved`);
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });
});
