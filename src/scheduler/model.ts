/**
 * The scheduler's columnar input and output. Tenants are rows of typed arrays (not objects) so that a
 * million of them fit in tens of megabytes and a full pass is a few tight loops; Prods and tenants are
 * referred to by index. `snapshot.ts` builds these tables from API objects.
 */

export interface ProdTable {
  readonly count: number;
  readonly names: readonly string[];
  /** hashString(name): the Prod's position on the rings does not depend on its index. */
  readonly hash: Uint32Array;
  /** Index into `domainNames`. */
  readonly domain: Int32Array;
  readonly domainNames: readonly string[];
  /** 1 when the Prod's role is `test`. */
  readonly test: Uint8Array;
  /** 1 when the Prod may receive tenants (Ready, not retiring, its cluster Ready and not draining). */
  readonly serving: Uint8Array;
}

/** Tenants with the same role and selector share one class; classes are few. */
export interface EligibilityClass {
  readonly test: boolean;
  /** 1 for each Prod the class's selector admits (role and serving are checked separately). */
  readonly admits: Uint8Array;
  /** Whether a selector is set (to tell "selector matches nothing" from "nothing serves"). */
  readonly hasSelector: boolean;
  /** Human-readable selector, for explanations. */
  readonly label: string;
}

export interface TenantTable {
  readonly count: number;
  readonly users: Uint32Array;
  /** 1 or 2. */
  readonly redundancy: Uint8Array;
  readonly hash: Uint32Array;
  /** Index into the classes. */
  readonly cls: Uint16Array;
  /** Previous Prods (indices, -1 for none): the seed that keeps the assignment stable. */
  readonly prev0: Int32Array;
  readonly prev1: Int32Array;
  /** Pinned Prod indices per tenant (-1 for a name that does not exist), only for tenants with pins. */
  readonly pins: ReadonlyMap<number, readonly number[]>;
}

/** An empty table for `count` tenants (no previous Prods, no pins), to be filled in by index. */
export function newTenantTable(count: number): TenantTable & { readonly pins: Map<number, number[]> } {
  return {
    count,
    users: new Uint32Array(count),
    redundancy: new Uint8Array(count),
    hash: new Uint32Array(count),
    cls: new Uint16Array(count),
    prev0: new Int32Array(count).fill(-1),
    prev1: new Int32Array(count).fill(-1),
    pins: new Map<number, number[]>(),
  };
}

export interface AssignOptions {
  /** No Prod above (1+epsilon)·mean users, mean over the Prods of the same role that can serve. */
  readonly epsilon?: number;
  /** Hard capacity of one Prod in users (fleet.maxUsersPerProd). */
  readonly maxUsersPerProd?: number;
  /** Ring points per Prod: more gives smoother spread, costs ring-build time. */
  readonly vnodes?: number;
  /**
   * The rest of the fleet, for an incremental pass over a few tenants: the users already on each Prod (by
   * index) and the demand of the tenants not in this input, per role (0 normal, 1 test). The bound and the
   * bounded-load walk then see the whole fleet, as a full pass that keeps everyone else would.
   */
  readonly preload?: Preload;
}

export interface Preload {
  readonly load: Float64Array;
  /** Users of redundancy-1 tenants, per role. */
  readonly demand1: readonly [number, number];
  /** Users of redundancy-2 tenants, per role. */
  readonly demand2: readonly [number, number];
}

export interface AssignInput {
  readonly prods: ProdTable;
  readonly classes: readonly EligibilityClass[];
  readonly tenants: TenantTable;
  readonly options?: AssignOptions;
}

/** How a slot got its Prod, for explanations and move accounting. */
export const SlotHow = { none: 0, pinned: 1, kept: 2, placed: 3, fallback: 4, rebalanced: 5 } as const;
export type SlotHow = (typeof SlotHow)[keyof typeof SlotHow];
export const slotHowNames = ['none', 'pinned', 'kept', 'placed', 'fallback', 'rebalanced'] as const;

export interface LoadBound {
  /** Mean users per serving Prod of the role, counting each of a tenant's Prods. */
  readonly mean: number;
  /** ceil((1+epsilon)·mean), at most the hard capacity. */
  readonly cap: number;
}

export interface AssignResult {
  readonly slot0: Int32Array;
  readonly slot1: Int32Array;
  readonly how0: Uint8Array;
  readonly how1: Uint8Array;
  /** Bits of `reasonBit` per tenant. */
  readonly flags: Uint16Array;
  /** Users per Prod after assignment. */
  readonly load: Float64Array;
  readonly bound: { readonly normal: LoadBound; readonly test: LoadBound };
  readonly epsilon: number;
  readonly hardCap: number;
}
