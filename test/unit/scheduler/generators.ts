/** fast-check generators of scheduler inputs: small fleets with every feature mixed in. */
import fc from 'fast-check';
import { hashString, mix32 } from '../../../src/scheduler/hash.js';
import type { AssignInput, EligibilityClass } from '../../../src/scheduler/model.js';

export interface GenOptions {
  pins?: boolean;
  selectors?: boolean;
  test?: boolean;
  maxUsers?: number;
  /** Up to three pins per pinned tenant (later ones stand in when earlier ones cannot serve). */
  pinLists?: boolean;
}

export function fleetInput(o: GenOptions = {}): fc.Arbitrary<AssignInput> {
  const prodArb = fc.record({
    domain: fc.nat({ max: 3 }),
    test: o.test === false ? fc.constant(false) : fc.boolean(),
    serving: fc.oneof({ weight: 6, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  });
  return fc
    .record({
      prods: fc.array(prodArb, { minLength: 1, maxLength: 16 }),
      tenants: fc.array(
        fc.record({
          users: fc.nat({ max: o.maxUsers ?? 40 }),
          redundancy: fc.constantFrom(1, 2),
          cls: fc.nat({ max: 2 }),
          pin: fc.option(fc.integer({ min: -1, max: 15 }), { freq: 5 }),
          // Drawn only when asked, so that the shrink paths of recorded counterexamples stay valid.
          ...(o.pinLists ? { morePins: fc.array(fc.integer({ min: -1, max: 15 }), { maxLength: 2 }) } : {}),
        }),
        { maxLength: 60 },
      ),
      selectorDomains: fc.uniqueArray(fc.nat({ max: 3 }), { minLength: 1, maxLength: 2 }),
      epsilon: fc.constantFrom(0.1, 0.25, 0.5),
      hardCap: fc.option(fc.integer({ min: 40, max: 400 }), { freq: 3 }),
    })
    .map(({ prods, tenants, selectorDomains, epsilon, hardCap }) => {
      const P = prods.length;
      const T = tenants.length;
      const names = prods.map((_, i) => `p${i}`);
      const all = new Uint8Array(P).fill(1);
      const bySelector = Uint8Array.from(prods.map((p) => (selectorDomains.includes(p.domain) ? 1 : 0)));
      const classes: EligibilityClass[] = [
        { test: false, admits: all, hasSelector: false, label: '' },
        o.test === false ? { test: false, admits: all, hasSelector: false, label: '' } : { test: true, admits: all, hasSelector: false, label: '' },
        o.selectors === false
          ? { test: false, admits: all, hasSelector: false, label: '' }
          : { test: false, admits: bySelector, hasSelector: true, label: `domains=${selectorDomains.join('|')}` },
      ];
      const pins = new Map<number, number[]>();
      if (o.pins !== false) {
        tenants.forEach((t, i) => {
          const more = 'morePins' in t ? (t.morePins as number[]) : [];
          if (t.pin !== null) pins.set(i, [t.pin, ...more].map((p) => (p >= P ? -1 : p)));
        });
      }
      const input: AssignInput = {
        prods: {
          count: P,
          names,
          hash: Uint32Array.from(names.map(hashString)),
          domain: Int32Array.from(prods.map((p) => p.domain)),
          domainNames: ['a', 'b', 'c', 'd'],
          test: Uint8Array.from(prods.map((p) => (p.test ? 1 : 0))),
          serving: Uint8Array.from(prods.map((p) => (p.serving ? 1 : 0))),
        },
        classes,
        tenants: {
          count: T,
          users: Uint32Array.from(tenants.map((t) => t.users)),
          redundancy: Uint8Array.from(tenants.map((t) => t.redundancy)),
          hash: Uint32Array.from(tenants.map((_, i) => mix32(i * 0x9e3779b1 + 1))),
          cls: Uint16Array.from(tenants.map((t) => t.cls)),
          prev0: new Int32Array(T).fill(-1),
          prev1: new Int32Array(T).fill(-1),
          pins,
        },
        options: { epsilon, ...(hardCap !== null ? { maxUsersPerProd: hardCap } : {}) },
      };
      return input;
    });
}

/** The same input seeded by a previous result. */
export function seeded(input: AssignInput, prev: { slot0: Int32Array; slot1: Int32Array }, serving?: Uint8Array): AssignInput {
  return {
    ...input,
    prods: serving ? { ...input.prods, serving } : input.prods,
    tenants: { ...input.tenants, prev0: prev.slot0.slice(), prev1: prev.slot1.slice() },
  };
}
