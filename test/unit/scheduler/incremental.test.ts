import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { assignTenants } from '../../../src/scheduler/assign-tenants.js';
import type { AssignInput, TenantTable } from '../../../src/scheduler/model.js';
import { fleetInput, seeded } from './generators.js';

const SEED = process.env.PROPERTY_SEED === 'random' ? Date.now() : Number(process.env.PROPERTY_SEED ?? 20261201);

/** Rows `from..to` of a tenant table (no pins: the incremental path is about arrivals). */
function rows(t: TenantTable, from: number, to: number): TenantTable {
  return {
    count: to - from,
    users: t.users.slice(from, to),
    redundancy: t.redundancy.slice(from, to),
    hash: t.hash.slice(from, to),
    cls: t.cls.slice(from, to),
    prev0: t.prev0.slice(from, to),
    prev1: t.prev1.slice(from, to),
    pins: new Map(),
  };
}

describe('incremental assignment of new tenants (preload)', () => {
  it('places new tenants exactly where a full pass that keeps everyone else places them', () => {
    let compared = 0;
    let runs = 0;
    fc.assert(
      fc.property(fleetInput({ pins: false }), fc.integer({ min: 1, max: 5 }), (input0, k) => {
        const T = input0.tenants.count;
        fc.pre(T > k);
        runs++;
        const input: AssignInput = { ...input0, tenants: { ...input0.tenants, pins: new Map() } };
        const old = T - k;
        // The fleet before the arrivals, at its fixpoint (what the controller's last pass left).
        const before: AssignInput = { ...input, tenants: rows(input.tenants, 0, old) };
        const settled = assignTenants(seeded(before, assignTenants(before)));
        // Full pass over everyone: the old tenants seeded, the new ones not.
        const prev0 = new Int32Array(T).fill(-1);
        const prev1 = new Int32Array(T).fill(-1);
        prev0.set(settled.slot0);
        prev1.set(settled.slot1);
        const full = assignTenants({ ...input, tenants: { ...input.tenants, prev0, prev1 } });
        // Incremental: the new tenants alone, the rest preloaded.
        const demand1: [number, number] = [0, 0];
        const demand2: [number, number] = [0, 0];
        for (let t = 0; t < old; t++) {
          const role = input.classes[input.tenants.cls[t] ?? 0]?.test ? 1 : 0;
          (input.tenants.redundancy[t] === 2 ? demand2 : demand1)[role] += input.tenants.users[t] ?? 0;
        }
        const inc = assignTenants({ ...input, tenants: rows(input.tenants, old, T), options: { ...input.options, preload: { load: settled.load, demand1, demand2 } } });
        // Same bound, as the whole fleet's.
        assert.deepEqual(inc.bound, full.bound);
        // The rule: where the full pass keeps every old tenant in place (it does not rebalance them),
        // the new tenants land on the same Prods.
        for (let t = 0; t < old; t++) if (full.slot0[t] !== settled.slot0[t] || full.slot1[t] !== settled.slot1[t]) return;
        compared++;
        for (let i = 0; i < k; i++) {
          const t = old + i;
          assert.deepEqual([inc.slot0[i], inc.slot1[i]], [full.slot0[t], full.slot1[t]], `new tenant ${i}`);
          assert.equal(inc.flags[i], full.flags[t]);
        }
        for (let p = 0; p < input.prods.count; p++) assert.equal(inc.load[p], full.load[p]);
      }),
      { seed: SEED, numRuns: 400 },
    );
    // Not vacuous: most arrivals move nobody else.
    assert.ok(compared >= runs * 0.6, `compared ${compared} of ${runs}`);
  });
});
