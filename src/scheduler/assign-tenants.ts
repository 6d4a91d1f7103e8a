/**
 * Assignment of tenants to Prods: pure, deterministic, stable.
 *
 * A full (seeded) pass has four phases:
 * 1. pins — a tenant's pinned Prods, when they can serve (operator intent: no bound, no selector);
 * 2. keep — every previous Prod that is still valid (serving, eligible, distinct domain, hard capacity):
 *    this is what makes a change move only the tenants it must;
 * 3. place — slots still empty, biggest tenants first (first-fit-decreasing packs best): rendezvous over
 *    failure domains weighted by their eligible Prods, then a bounded-load walk on that domain's ring;
 *    when no Prod has room within the bound, a tenant still gets its Prods (redundancy and service
 *    weigh more than balance) on the least-loaded eligible ones, above the bound but never above the
 *    hard capacity, flagged BoundExceeded;
 * 4. rebalance — Prods above the bound (it fell: Prods were added, tenants grew) shed tenants, but only
 *    to a Prod with room within it, so re-running on the result moves nobody.
 *
 * `TenantAssigner.failProds` is the incremental path: it finds the tenants of the Prods that stopped
 * serving through a per-Prod index and re-places only their slots, O(affected) instead of O(tenants).
 */
import { hashPair, unitInterval } from './hash.js';
import { SlotHow, type AssignInput, type AssignResult, type LoadBound, type ProdTable } from './model.js';
import { reasonBit } from './reasons.js';
import { ClassView, ringStart } from './rings.js';

export const DEFAULT_EPSILON = 0.25;
export const DEFAULT_VNODES = 16;
const DEGRADING =
  reasonBit.NoServingProd |
  reasonBit.SelectorMatchesNothing |
  reasonBit.NoCapacity |
  reasonBit.RedundancyReducedSingleDomain |
  reasonBit.RedundancyReducedNoRoom |
  reasonBit.BoundExceeded;

export function assignTenants(input: AssignInput): AssignResult {
  return new TenantAssigner(input).run();
}

export class TenantAssigner {
  private readonly input: AssignInput;
  private readonly P: number;
  private readonly T: number;
  private readonly epsilon: number;
  private readonly hardCap: number;
  private readonly vnodes: number;
  /** Own copy: `failProds` changes it. */
  private readonly serving: Uint8Array;
  private readonly prods: ProdTable;
  private readonly roleOfClass: Uint8Array;
  private readonly domainSalt: Uint32Array;
  private readonly capOf: Float64Array;
  private views: ClassView[];
  private bound: { normal: LoadBound; test: LoadBound };
  /** Users·1 of redundancy-1 tenants and users of redundancy-2 tenants, per role (for the mean). */
  private readonly demand1 = [0, 0];
  private readonly demand2 = [0, 0];

  readonly slot0: Int32Array;
  readonly slot1: Int32Array;
  readonly how0: Uint8Array;
  readonly how1: Uint8Array;
  readonly flags: Uint16Array;
  readonly load: Float64Array;
  /** Tenants per Prod (CSR built after a full pass, plus later additions); entries are checked on read. */
  private indexStart: Int32Array | undefined;
  private indexTenants: Int32Array | undefined;
  private readonly indexExtra = new Map<number, number[]>();
  private readonly scores: Float64Array;
  private shedFailed = false;

  constructor(input: AssignInput) {
    this.input = input;
    this.prods = input.prods;
    this.P = input.prods.count;
    this.T = input.tenants.count;
    this.epsilon = input.options?.epsilon ?? DEFAULT_EPSILON;
    this.hardCap = input.options?.maxUsersPerProd ?? Infinity;
    this.vnodes = input.options?.vnodes ?? DEFAULT_VNODES;
    this.serving = Uint8Array.from(input.prods.serving);
    this.roleOfClass = Uint8Array.from(input.classes.map((c) => (c.test ? 1 : 0)));
    const D = input.prods.domainNames.length;
    this.domainSalt = new Uint32Array(D);
    for (let d = 0; d < D; d++) this.domainSalt[d] = domainSalt(d);
    this.scores = new Float64Array(D);
    const { users, redundancy, cls } = input.tenants;
    for (let t = 0; t < this.T; t++) {
      const role = this.roleOfClass[cls[t] ?? 0] ?? 0;
      if (redundancy[t] === 2) this.demand2[role] = (this.demand2[role] ?? 0) + (users[t] ?? 0);
      else this.demand1[role] = (this.demand1[role] ?? 0) + (users[t] ?? 0);
    }
    this.capOf = new Float64Array(this.P);
    this.bound = this.computeBound();
    this.views = this.makeViews();
    this.load = new Float64Array(this.P);
    this.slot0 = new Int32Array(this.T).fill(-1);
    this.slot1 = new Int32Array(this.T).fill(-1);
    this.how0 = new Uint8Array(this.T);
    this.how1 = new Uint8Array(this.T);
    this.flags = new Uint16Array(this.T);
  }

  private makeViews(): ClassView[] {
    const prods = { ...this.prods, serving: this.serving };
    return this.input.classes.map((c) => new ClassView(prods, c, this.vnodes));
  }

  /** Mean over serving Prods of the role; a tenant counts once per Prod it can get (domains permitting). */
  private computeBound(): { normal: LoadBound; test: LoadBound } {
    const n = [0, 0];
    const domains = [new Set<number>(), new Set<number>()];
    for (let p = 0; p < this.P; p++) {
      if (this.serving[p] !== 1) continue;
      const role = this.prods.test[p] ?? 0;
      n[role] = (n[role] ?? 0) + 1;
      domains[role]?.add(this.prods.domain[p] ?? 0);
    }
    const bound = (role: number): LoadBound => {
      const d = domains[role]?.size ?? 0;
      const demand = (d > 0 ? (this.demand1[role] ?? 0) : 0) + (this.demand2[role] ?? 0) * Math.min(2, d);
      const count = n[role] ?? 0;
      const mean = count > 0 ? demand / count : 0;
      return { mean, cap: Math.min(this.hardCap, Math.max(1, Math.ceil((1 + this.epsilon) * mean))) };
    };
    const b = { normal: bound(0), test: bound(1) };
    for (let p = 0; p < this.P; p++) this.capOf[p] = this.prods.test[p] === 1 ? b.test.cap : b.normal.cap;
    return b;
  }

  private setSlot(t: number, p: number, how: SlotHow): void {
    if ((this.slot0[t] ?? -1) < 0) {
      this.slot0[t] = p;
      this.how0[t] = how;
    } else {
      this.slot1[t] = p;
      this.how1[t] = how;
    }
    this.load[p] = (this.load[p] ?? 0) + (this.input.tenants.users[t] ?? 0);
    if (this.indexStart) {
      let extra = this.indexExtra.get(p);
      if (!extra) this.indexExtra.set(p, (extra = []));
      extra.push(t);
    }
  }

  private filled(t: number): number {
    return ((this.slot0[t] ?? -1) >= 0 ? 1 : 0) + ((this.slot1[t] ?? -1) >= 0 ? 1 : 0);
  }

  private usedDomain(t: number): number {
    const s = this.slot0[t] ?? -1;
    return s >= 0 ? (this.prods.domain[s] ?? -1) : -1;
  }

  private fitsBound(p: number, u: number): boolean {
    const l = this.load[p] ?? 0;
    // A tenant bigger than the bound gets an empty Prod to itself rather than none.
    return (l + u <= (this.capOf[p] ?? 0) || l === 0) && l + u <= this.hardCap;
  }

  /**
   * Rendezvous over domains (weighted by eligible Prods), then a bounded-load ring walk: the first Prod
   * clockwise with room. First-fit (not "least loaded of two") on purpose: it leaves whole Prods with
   * room, so a big tenant moved later still finds a hole within the bound (tried: two-choices fills
   * Prods evenly and then a 5,000-user tenant fits nowhere after a cluster failure).
   */
  private placeInDomains(t: number, view: ClassView, excludeProd: number, excludeDomain: number, how: SlotHow): boolean {
    const u = this.input.tenants.users[t] ?? 0;
    const h = this.input.tenants.hash[t] ?? 0;
    const scores = this.scores;
    const D = scores.length;
    for (let d = 0; d < D; d++) {
      const w = view.byDomain[d]?.length ?? 0;
      scores[d] = w === 0 || d === excludeDomain ? -1 : w / -Math.log(unitInterval(hashPair(h, this.domainSalt[d] ?? 0)));
    }
    for (;;) {
      let best = -1;
      for (let d = 0; d < D; d++) if ((scores[d] ?? -1) >= 0 && (best < 0 || (scores[d] ?? 0) > (scores[best] ?? 0))) best = d;
      if (best < 0) return false;
      scores[best] = -1;
      const ring = view.ring(best);
      if (u >= ring.minFailedUsers) continue;
      const n = ring.points.length;
      const rp = ring.prods;
      let i = ringStart(ring, h);
      for (let step = 0; step < n; step++) {
        const p = rp[i] ?? -1;
        if (p !== excludeProd && this.fitsBound(p, u)) {
          this.setSlot(t, p, how);
          return true;
        }
        i = i + 1 === n ? 0 : i + 1;
      }
      ring.minFailedUsers = Math.min(ring.minFailedUsers, u);
    }
  }

  /** Fill a tenant's empty slots and set its degrading reasons. */
  private place(t: number): void {
    const c = this.input.tenants.cls[t] ?? 0;
    const view = this.views[c];
    const cl = this.input.classes[c];
    if (!view || !cl) return;
    const r = this.input.tenants.redundancy[t] ?? 1;
    this.flags[t] = (this.flags[t] ?? 0) & ~DEGRADING;
    while (this.filled(t) < r) {
      if (this.placeInDomains(t, view, -1, this.usedDomain(t), SlotHow.placed)) continue;
      // Last resort: the least-loaded eligible Prod within hard capacity, above the bound. Redundancy
      // and "some Prod rather than none" weigh more than balance; the rebalance phase and later passes
      // move the tenant back under the bound as soon as a Prod has room.
      const u = this.input.tenants.users[t] ?? 0;
      const exclude = this.usedDomain(t);
      let best = -1;
      for (let d = 0; d < view.byDomain.length; d++) {
        if (d === exclude) continue;
        for (const p of view.byDomain[d] ?? []) if ((this.load[p] ?? 0) + u <= this.hardCap && (best < 0 || (this.load[p] ?? 0) < (this.load[best] ?? 0))) best = p;
      }
      if (best < 0) break;
      this.setSlot(t, best, SlotHow.fallback);
      this.flags[t] = (this.flags[t] ?? 0) | reasonBit.BoundExceeded;
    }
    const got = this.filled(t);
    let why = 0;
    if (got === 0) {
      why = view.eligibleCount > 0 ? reasonBit.NoCapacity : cl.hasSelector && this.anyServing(cl.test) ? reasonBit.SelectorMatchesNothing : reasonBit.NoServingProd;
    } else if (got < r) {
      why = view.eligibleDomains < 2 ? reasonBit.RedundancyReducedSingleDomain : reasonBit.RedundancyReducedNoRoom;
    }
    this.flags[t] = (this.flags[t] ?? 0) | why;
  }

  private anyServing(test: boolean): boolean {
    const role = test ? 1 : 0;
    for (let p = 0; p < this.P; p++) if (this.serving[p] === 1 && this.prods.test[p] === role) return true;
    return false;
  }

  /** The full, seeded pass (phases 1–4). */
  run(): AssignResult {
    const { users, redundancy, cls, prev0, prev1, pins } = this.input.tenants;
    const domainOf = this.prods.domain;
    const T = this.T;

    // 1. pins
    for (const [t, list] of pins) {
      const r = redundancy[t] ?? 1;
      const u = users[t] ?? 0;
      const role = this.roleOfClass[cls[t] ?? 0] ?? 0;
      for (const p of list) {
        if (this.filled(t) >= r) {
          this.flags[t] = (this.flags[t] ?? 0) | reasonBit.PinExceedsRedundancy;
          break;
        }
        if (p < 0 || this.serving[p] !== 1 || this.prods.test[p] !== role || (this.load[p] ?? 0) + u > this.hardCap) {
          this.flags[t] = (this.flags[t] ?? 0) | reasonBit.PinUnavailable;
          continue;
        }
        if (p === this.slot0[t]) continue;
        if (this.usedDomain(t) === domainOf[p]) {
          this.flags[t] = (this.flags[t] ?? 0) | reasonBit.PinSameDomain;
          continue;
        }
        this.setSlot(t, p, SlotHow.pinned);
      }
    }

    // 2. keep previous Prods that are still valid
    const pending = new Int32Array(T);
    let pendingCount = 0;
    const slot0 = this.slot0;
    for (let t = 0; t < T; t++) {
      const r = redundancy[t] ?? 1;
      const u = users[t] ?? 0;
      const eligible = this.views[cls[t] ?? 0]?.eligible;
      if (!eligible) continue;
      let got = this.filled(t);
      for (let i = 0; i < 2 && got < r; i++) {
        const p = (i === 0 ? prev0[t] : prev1[t]) ?? -1;
        if (p < 0 || eligible[p] !== 1 || p === slot0[t]) continue;
        const s0 = slot0[t] ?? -1;
        if (s0 >= 0 && domainOf[s0] === domainOf[p]) continue;
        if ((this.load[p] ?? 0) + u > this.hardCap) continue;
        this.setSlot(t, p, SlotHow.kept);
        got++;
      }
      if (got < r) pending[pendingCount++] = t;
    }

    // 3. place empty slots, biggest tenants first
    const order = sortByUsersDescending(pending.subarray(0, pendingCount), users, true);
    for (const t of order) this.place(t);

    // 4. rebalance Prods above the bound, only towards room within it. Rounds, because a Prod that
    // sheds below the bound can take a tenant an earlier shed could not place, and freed room lets
    // tenants still short of Prods in: without them a re-run would find moves (it must be a fixpoint).
    const over = new Uint8Array(this.P);
    for (let round = 0; round < 4; round++) {
      let anyOver = false;
      for (let p = 0; p < this.P; p++) {
        over[p] = (this.load[p] ?? 0) > (this.capOf[p] ?? 0) ? 1 : 0;
        if (over[p] === 1) anyOver = true;
      }
      if (!anyOver) break;
      for (const v of this.views) v.resetMemos();
      let moved = 0;
      for (let t = 0; t < T; t++) {
        for (let s = 0; s < 2; s++) {
          const p = (s === 0 ? this.slot0[t] : this.slot1[t]) ?? -1;
          if (p >= 0 && over[p] === 1 && this.shed(t, s, p)) moved++;
        }
      }
      if (moved === 0) break;
      for (const t of order) if (this.filled(t) < (redundancy[t] ?? 1)) this.place(t);
    }
    if (this.shedFailed) {
      for (let t = 0; t < T; t++) {
        if (((this.flags[t] ?? 0) & reasonBit.BoundExceeded) === 0) continue;
        const a = this.slot0[t] ?? -1;
        const b = this.slot1[t] ?? -1;
        const above = (a >= 0 && (this.load[a] ?? 0) > (this.capOf[a] ?? 0)) || (b >= 0 && (this.load[b] ?? 0) > (this.capOf[b] ?? 0));
        if (!above) this.flags[t] = (this.flags[t] ?? 0) & ~reasonBit.BoundExceeded;
      }
    }
    this.buildIndex();
    return this.result();
  }

  /** Move one slot of `t` off Prod `p` if `p` is above the bound and another Prod has room within it. */
  private shed(t: number, s: number, p: number): boolean {
    const how = ((s === 0 ? this.how0[t] : this.how1[t]) ?? 0) as SlotHow;
    if (how === SlotHow.pinned) return false;
    const u = this.input.tenants.users[t] ?? 0;
    const l = this.load[p] ?? 0;
    // Moving a tenant without users, or the only one, does not lower anything.
    if (l <= (this.capOf[p] ?? 0) || l === u || u === 0) return false;
    const view = this.views[this.input.tenants.cls[t] ?? 0];
    if (!view) return false;
    const other = (s === 0 ? this.slot1[t] : this.slot0[t]) ?? -1;
    const otherHow = (s === 0 ? this.how1[t] : this.how0[t]) ?? 0;
    this.load[p] = l - u;
    this.slot0[t] = other;
    this.how0[t] = other >= 0 ? otherHow : 0;
    this.slot1[t] = -1;
    this.how1[t] = 0;
    const placed = this.placeInDomains(t, view, p, other >= 0 ? (this.prods.domain[other] ?? -1) : -1, SlotHow.rebalanced);
    if (!placed) {
      this.setSlot(t, p, how);
      // Stays above the bound because nothing else has room: say so (cleared below if it falls under).
      this.flags[t] = (this.flags[t] ?? 0) | reasonBit.BoundExceeded;
      this.shedFailed = true;
    } else if (how === SlotHow.fallback) this.flags[t] = (this.flags[t] ?? 0) & ~reasonBit.BoundExceeded;
    return placed;
  }

  private buildIndex(): void {
    const start = new Int32Array(this.P + 1);
    for (let t = 0; t < this.T; t++) {
      const a = this.slot0[t] ?? -1;
      const b = this.slot1[t] ?? -1;
      if (a >= 0) start[a + 1] = (start[a + 1] ?? 0) + 1;
      if (b >= 0) start[b + 1] = (start[b + 1] ?? 0) + 1;
    }
    for (let p = 0; p < this.P; p++) start[p + 1] = (start[p + 1] ?? 0) + (start[p] ?? 0);
    const fill = start.slice(0, this.P);
    const tenants = new Int32Array(start[this.P] ?? 0);
    for (let t = 0; t < this.T; t++) {
      const a = this.slot0[t] ?? -1;
      const b = this.slot1[t] ?? -1;
      if (a >= 0) tenants[(fill[a] = (fill[a] ?? 0) + 1) - 1] = t;
      if (b >= 0) tenants[(fill[b] = (fill[b] ?? 0) + 1) - 1] = t;
    }
    this.indexStart = start;
    this.indexTenants = tenants;
    this.indexExtra.clear();
  }

  /** Tenants currently on Prod `p`. */
  tenantsOf(p: number): number[] {
    const out = new Set<number>();
    const start = this.indexStart;
    const list = this.indexTenants;
    const consider = (t: number) => {
      if (this.slot0[t] === p || this.slot1[t] === p) out.add(t);
    };
    if (start && list) for (let i = start[p] ?? 0; i < (start[p + 1] ?? 0); i++) consider(list[i] ?? 0);
    for (const t of this.indexExtra.get(p) ?? []) consider(t);
    return [...out];
  }

  /**
   * Incremental: these Prods stopped serving (cluster NotReady, drained, Prod retired). Only their
   * tenants' slots are re-placed; the bound is recomputed (it rises, so nobody else has to move).
   * Returns the tenants that moved.
   */
  failProds(failed: Iterable<number>): Int32Array {
    const affected = new Set<number>();
    const gone: number[] = [];
    for (const p of failed) {
      if (this.serving[p] !== 1) continue;
      this.serving[p] = 0;
      gone.push(p);
      for (const t of this.tenantsOf(p)) affected.add(t);
    }
    if (gone.length === 0) return new Int32Array(0);
    this.bound = this.computeBound();
    this.views = this.makeViews();
    const users = this.input.tenants.users;
    const goneSet = new Set(gone);
    for (const t of affected) {
      const u = users[t] ?? 0;
      const a = this.slot0[t] ?? -1;
      const b = this.slot1[t] ?? -1;
      const keepA = a >= 0 && !goneSet.has(a);
      const keepB = b >= 0 && !goneSet.has(b);
      if (a >= 0 && !keepA) this.load[a] = (this.load[a] ?? 0) - u;
      if (b >= 0 && !keepB) this.load[b] = (this.load[b] ?? 0) - u;
      const survivor = keepA ? a : keepB ? b : -1;
      const survivorHow = keepA ? (this.how0[t] ?? 0) : keepB ? (this.how1[t] ?? 0) : 0;
      this.slot0[t] = survivor;
      this.how0[t] = survivorHow;
      this.slot1[t] = -1;
      this.how1[t] = 0;
    }
    for (const t of sortByUsersDescending(Int32Array.from(affected), users)) this.place(t);
    // The bound can fall (the failed Prods were the last of a domain, so redundant tenants now count
    // once): Prods above it shed, as in the full pass, reaching their tenants through the index.
    for (let p = 0; p < this.P; p++) {
      if (this.serving[p] !== 1 || (this.load[p] ?? 0) <= (this.capOf[p] ?? 0)) continue;
      for (const t of this.tenantsOf(p)) {
        const s = this.slot0[t] === p ? 0 : 1;
        if (this.shed(t, s, p)) affected.add(t);
      }
    }
    return Int32Array.from(affected);
  }

  result(): AssignResult {
    return {
      slot0: this.slot0,
      slot1: this.slot1,
      how0: this.how0,
      how1: this.how1,
      flags: this.flags,
      load: this.load,
      bound: this.bound,
      epsilon: this.epsilon,
      hardCap: this.hardCap,
    };
  }
}

export function domainSalt(d: number): number {
  return hashPair(0x5eed, d + 1);
}

/**
 * Tenant indices by users, descending, ties by index. Counting sort when sizes are small compared to the
 * number of tenants (the usual case: O(T + max users)); a comparison sort otherwise.
 */
function sortByUsersDescending(list: Int32Array, users: Uint32Array, ascending = false): Int32Array {
  let max = 0;
  for (const t of list) max = Math.max(max, users[t] ?? 0);
  if (max > 4 * list.length + 1024) {
    return Int32Array.from(Array.from(list).sort((a, b) => (users[b] ?? 0) - (users[a] ?? 0) || a - b));
  }
  const count = new Int32Array(max + 2);
  for (const t of list) {
    const k = max - (users[t] ?? 0);
    count[k + 1] = (count[k + 1] ?? 0) + 1;
  }
  for (let k = 0; k <= max; k++) count[k + 1] = (count[k + 1] ?? 0) + (count[k] ?? 0);
  const out = new Int32Array(list.length);
  const sorted = ascending ? list : Int32Array.from(list).sort();
  for (const t of sorted) {
    const k = max - (users[t] ?? 0);
    out[(count[k] = (count[k] ?? 0) + 1) - 1] = t;
  }
  return out;
}

/** The bound the assignment enforces, without assigning (for explanations and tests). */
export function computeBounds(input: AssignInput): { normal: LoadBound; test: LoadBound } {
  return new TenantAssigner(input).result().bound;
}
