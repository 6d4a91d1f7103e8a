/**
 * A fleet's objects as columns, to hand them to the scheduler's worker thread (worker-client.ts): the
 * Prods, Clusters and Fleet as they are (a few), the tenants as typed arrays and one string of names.
 * Copying 100,000 Tenant objects between threads would cost the event loop about what the pass itself
 * does; these columns are a few flat buffers, built in one loop that reads only what the scheduler reads
 * (`buildSnapshot`: name, users, redundancy, test, selector, pin, status.prods).
 */
import type { Cluster, Fleet, Prod, Tenant } from '../api/index.js';
import type { FleetObjects } from './snapshot.js';

type Selector = Tenant['spec']['selector'];

export interface TenantColumns {
  count: number;
  /** Names joined by '\n' (names are DNS labels: no newline). */
  names: string;
  fleet: string;
  users: Uint32Array;
  redundancy: Uint8Array;
  test: Uint8Array;
  /** Index into `selectors`; 0 is "no selector". */
  selector: Uint16Array;
  selectors: Selector[];
  /** Prod names referred to by status.prods and spec.pin. */
  refNames: string[];
  /** status.prods of tenant i: refNames[prodRefs[prodAt[i] .. prodAt[i+1])]. */
  prodAt: Uint32Array;
  prodRefs: Int32Array;
  /** spec.pin, the same way. */
  pinAt: Uint32Array;
  pinRefs: Int32Array;
}

export interface EncodedFleet {
  fleet: Fleet | undefined;
  clusters: readonly Cluster[];
  prods: readonly Prod[];
  tenants: TenantColumns;
}

export function encodeFleet(objs: FleetObjects): EncodedFleet {
  const ts = objs.tenants;
  const T = ts.length;
  const names: string[] = new Array<string>(T);
  const users = new Uint32Array(T);
  const redundancy = new Uint8Array(T);
  const test = new Uint8Array(T);
  const selector = new Uint16Array(T);
  const selectors: Selector[] = [undefined];
  const selectorIndex = new Map<string, number>();
  const refNames: string[] = [];
  const refIndex = new Map<string, number>();
  const ref = (n: string): number => {
    let i = refIndex.get(n);
    if (i === undefined) {
      i = refNames.length;
      refNames.push(n);
      refIndex.set(n, i);
    }
    return i;
  };
  const prodAt = new Uint32Array(T + 1);
  const pinAt = new Uint32Array(T + 1);
  const prodRefs: number[] = [];
  const pinRefs: number[] = [];
  let fleet = '';
  for (let i = 0; i < T; i++) {
    const t = ts[i]!;
    names[i] = t.metadata.name;
    fleet = t.spec.fleet;
    users[i] = t.spec.users;
    redundancy[i] = t.spec.redundancy;
    test[i] = t.spec.test ? 1 : 0;
    const s = t.spec.selector;
    if (s !== undefined) {
      const key = JSON.stringify(s);
      let k = selectorIndex.get(key);
      if (k === undefined) {
        k = selectors.length;
        selectors.push(s);
        selectorIndex.set(key, k);
      }
      selector[i] = k;
    }
    for (const p of t.status?.prods ?? []) prodRefs.push(ref(p));
    prodAt[i + 1] = prodRefs.length;
    for (const p of t.spec.pin) pinRefs.push(ref(p));
    pinAt[i + 1] = pinRefs.length;
  }
  if (selectors.length > 0xffff) throw new RangeError('more than 65,535 distinct tenant selectors in one fleet');
  return {
    fleet: objs.fleet,
    clusters: objs.clusters,
    prods: objs.prods,
    tenants: {
      count: T,
      names: names.join('\n'),
      fleet,
      users,
      redundancy,
      test,
      selector,
      selectors,
      refNames,
      prodAt,
      prodRefs: Int32Array.from(prodRefs),
      pinAt,
      pinRefs: Int32Array.from(pinRefs),
    },
  };
}

/** The names of the encoded tenants, in input order. */
export function tenantNamesOf(c: TenantColumns): string[] {
  return c.count === 0 ? [] : c.names.split('\n');
}

/**
 * Back to FleetObjects whose tenants carry exactly the fields `buildSnapshot` reads (the rest is left
 * empty): a snapshot of them equals the snapshot of the original objects.
 */
export function decodeFleet(e: EncodedFleet): FleetObjects {
  const c = e.tenants;
  const names = tenantNamesOf(c);
  const tenants: Tenant[] = new Array<Tenant>(c.count);
  const refs = (at: Uint32Array, list: Int32Array, i: number): string[] => {
    const out: string[] = [];
    for (let k = at[i]!; k < at[i + 1]!; k++) out.push(c.refNames[list[k]!]!);
    return out;
  };
  for (let i = 0; i < c.count; i++) {
    const sel = c.selectors[c.selector[i]!];
    const prods = refs(c.prodAt, c.prodRefs, i);
    tenants[i] = {
      apiVersion: 'drover.dev/v1alpha1',
      kind: 'Tenant',
      metadata: { name: names[i]!, labels: {}, annotations: {}, finalizers: [], ownerReferences: [] },
      spec: {
        fleet: c.fleet,
        match: { hosts: [] },
        users: c.users[i]!,
        redundancy: c.redundancy[i]! as 1 | 2,
        test: c.test[i] === 1,
        pin: refs(c.pinAt, c.pinRefs, i),
        ...(sel !== undefined ? { selector: sel } : {}),
      },
      ...(c.prodAt[i + 1]! > c.prodAt[i]! ? { status: { conditions: [], domains: [], prods } } : {}),
    };
  }
  return { fleet: e.fleet, clusters: e.clusters, prods: e.prods, tenants };
}

/** The buffers of the columns, to transfer rather than copy. */
export function columnBuffers(c: TenantColumns): ArrayBuffer[] {
  return uniqueBuffers([c.users, c.redundancy, c.test, c.selector, c.prodAt, c.prodRefs, c.pinAt, c.pinRefs]);
}

export function uniqueBuffers(views: readonly ArrayBufferView[]): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  for (const v of views) if (v.buffer instanceof ArrayBuffer && v.buffer.byteLength > 0) out.add(v.buffer);
  return [...out];
}
