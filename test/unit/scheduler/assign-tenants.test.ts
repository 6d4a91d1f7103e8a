// Hand-built cases for behaviours the generated fleets reach too rarely to pin down.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assignTenants, TenantAssigner } from '../../../src/scheduler/assign-tenants.js';
import { hashString, mix32 } from '../../../src/scheduler/hash.js';
import { newTenantTable, type AssignInput, type AssignResult, type EligibilityClass } from '../../../src/scheduler/model.js';
import { reasonBit } from '../../../src/scheduler/reasons.js';

interface TenantSpec {
  users: number;
  redundancy?: 1 | 2;
  /** Index into the classes; 0 admits every Prod. */
  cls?: number;
  pins?: number[];
}

/** Normal Prods `p0…` in the given domains; class 0 admits all, more classes admit the listed Prods. */
function fleetOf(domains: number[], tenants: TenantSpec[], opts: { epsilon: number; maxUsersPerProd?: number; admits?: number[][] }): AssignInput {
  const P = domains.length;
  const names = domains.map((_, i) => `p${i}`);
  const classes: EligibilityClass[] = [
    { test: false, admits: new Uint8Array(P).fill(1), hasSelector: false, label: '' },
    ...(opts.admits ?? []).map((list) => ({ test: false, admits: Uint8Array.from(names, (_, p) => (list.includes(p) ? 1 : 0)), hasSelector: true, label: list.join('|') })),
  ];
  const tt = newTenantTable(tenants.length);
  tenants.forEach((t, i) => {
    tt.users[i] = t.users;
    tt.redundancy[i] = t.redundancy ?? 1;
    tt.cls[i] = t.cls ?? 0;
    tt.hash[i] = mix32(i * 0x9e3779b1 + 1);
    if (t.pins) tt.pins.set(i, t.pins);
  });
  return {
    prods: {
      count: P,
      names,
      hash: Uint32Array.from(names.map(hashString)),
      domain: Int32Array.from(domains),
      domainNames: ['a', 'b', 'c', 'd'],
      test: new Uint8Array(P),
      serving: new Uint8Array(P).fill(1),
    },
    classes,
    tenants: tt,
    options: { epsilon: opts.epsilon, ...(opts.maxUsersPerProd !== undefined ? { maxUsersPerProd: opts.maxUsersPerProd } : {}) },
  };
}

function prodsOf(r: Pick<AssignResult, 'slot0' | 'slot1'>, t: number): number[] {
  return [r.slot0[t] ?? -1, r.slot1[t] ?? -1].filter((p) => p >= 0).sort();
}

function withoutProd(input: AssignInput, gone: number, prev: AssignResult): AssignInput {
  const serving = input.prods.serving.slice();
  serving[gone] = 0;
  return { ...input, prods: { ...input.prods, serving }, tenants: { ...input.tenants, prev0: prev.slot0.slice(), prev1: prev.slot1.slice() } };
}

describe('assignTenants (cases)', () => {
  it('makes room above the bound by moving the smallest tenant that is enough, not several small ones', () => {
    // p0, p1 in domain 0 and p2 in domain 1. Tenant 2 (9 users) may only use domain 0; losing p1 lands
    // it above the bound on p0 (18 > 15), which then sheds 3 users or more.
    const fresh = fleetOf([0, 0, 1], [{ users: 1 }, { users: 1 }, { users: 9, redundancy: 2, cls: 1 }, { users: 5 }, { users: 2, pins: [0] }], {
      epsilon: 0.1,
      admits: [[0, 1]],
    });
    const input = { ...fresh, tenants: { ...fresh.tenants, prev0: Int32Array.from([0, 0, 1, 0, 0]) } };
    const base = assignTenants(input);
    assert.deepEqual(prodsOf(base, 2), [1], 'the selector tenant alone on p1');
    assert.deepEqual([0, 1, 3, 4].map((t) => prodsOf(base, t)), [[0], [0], [0], [0]], 'the others on p0');
    const after = assignTenants(withoutProd(input, 1, base));
    assert.deepEqual(prodsOf(after, 2), [0], 'the displaced tenant goes to the only Prod its selector admits');
    assert.deepEqual(prodsOf(after, 3), [2], 'the 5-user tenant makes room');
    assert.deepEqual([0, 1, 4].map((t) => prodsOf(after, t)), [[0], [0], [0]], 'the 1-user tenants and the pinned one stay');
    assert.ok((after.load[0] ?? 0) <= after.bound.normal.cap, `p0 back within the bound (${after.load[0]} > ${after.bound.normal.cap})`);
  });

  it('hands a failed pin to the next pin in the list, which comes before the tenants already there', () => {
    // Hard capacity 10. Tenant 0 (5 users) is pinned to p0, else p1; tenant 1 (6 users) is on p1. When
    // p0 fails, the pin moves to p1, and tenant 1 no longer fits there beside it.
    const input = fleetOf([0, 1, 1], [{ users: 5, pins: [0, 1] }, { users: 6 }], { epsilon: 0.25, maxUsersPerProd: 10 });
    const seededOnP1 = { ...input, tenants: { ...input.tenants, prev0: Int32Array.from([-1, 1]) } };
    const assigner = new TenantAssigner(seededOnP1);
    const base = assigner.run();
    assert.deepEqual([prodsOf(base, 0), prodsOf(base, 1)], [[0], [1]], 'pinned to p0, the other kept on p1');
    const moved = [...assigner.failProds([0])].sort();
    const after = assigner.result();
    assert.deepEqual(prodsOf(after, 0), [1], 'the second pin takes over');
    assert.deepEqual(prodsOf(after, 1), [2], 'the tenant that no longer fits beside it moves');
    assert.deepEqual(moved, [0, 1], 'both moves reported');
    assert.equal((after.flags[0] ?? 0) & reasonBit.PinUnavailable, reasonBit.PinUnavailable, 'the first pin is reported unavailable');
    const full = assignTenants(withoutProd(seededOnP1, 0, after));
    assert.deepEqual([prodsOf(full, 0), prodsOf(full, 1)], [[1], [2]], 'a full pass agrees');
  });
});
