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
 *    to a Prod with room within it, and tenants still short of Prods take the room that frees; rounds
 *    run until one changes nothing, so re-running on the result moves nobody (it is a fixpoint).
 *
 * Incremental over new or changed tenants: the input holds only them, and `options.preload` the load and
 * demand of the rest of the fleet. Phases 1–3 then do for them exactly what a full pass that keeps every
 * other tenant does (same bound, same loads, same walk, biggest first); phase 4 can only shed the tenants
 * in the input, so where a Prod is above the bound the full pass, run periodically, may choose otherwise.
 *
 * `TenantAssigner.failProds` is the incremental path for failures: it finds the tenants of the Prods that stopped
 * serving through a per-Prod index and re-places only their slots, O(affected) instead of O(tenants),
 * then runs the same rebalance to its end, so a full pass after it moves nobody either.
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
const PIN_REASONS = reasonBit.PinUnavailable | reasonBit.PinSameDomain | reasonBit.PinExceedsRedundancy;

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
  /** Tenants with fewer Prods than their redundancy, biggest first: room freed later goes to them. */
  private short: number[] = [];
  /** Tenants flagged BoundExceeded: the flag is dropped at the end of a pass if none of their Prods is above. */
  private readonly boundFlagged = new Set<number>();

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
    const preload = input.options?.preload;
    if (preload) {
      for (const role of [0, 1] as const) {
        this.demand1[role] = (this.demand1[role] ?? 0) + preload.demand1[role];
        this.demand2[role] = (this.demand2[role] ?? 0) + preload.demand2[role];
      }
    }
    this.capOf = new Float64Array(this.P);
    this.bound = this.computeBound();
    this.views = this.makeViews();
    this.load = preload ? Float64Array.from(preload.load) : new Float64Array(this.P);
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
    // A tenant bigger than the bound gets an empty Prod to itself rather than none; a tenant without
    // users adds nothing, so any Prod is room for it (else it would be flagged above a bound it does not
    // move, and a re-run, which keeps it without a check, would drop the flag).
    return (l + u <= (this.capOf[p] ?? 0) || l === 0 || u === 0) && l + u <= this.hardCap;
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
      this.flagBound(t);
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

  private flagBound(t: number): void {
    this.flags[t] = (this.flags[t] ?? 0) | reasonBit.BoundExceeded;
    this.boundFlagged.add(t);
  }

  private isOver(p: number): boolean {
    return (this.load[p] ?? 0) > (this.capOf[p] ?? 0);
  }

  private anyServing(test: boolean): boolean {
    const role = test ? 1 : 0;
    for (let p = 0; p < this.P; p++) if (this.serving[p] === 1 && this.prods.test[p] === role) return true;
    return false;
  }

  /**
   * Phase 1 on its own: each pinned tenant's pinned Prods and pin reasons. Pins come before everything
   * else, so only earlier pins count against the hard capacity; failProds re-evaluates them this way to
   * land exactly where a full pass would.
   */
  private evaluatePins(): Map<number, { prods: number[]; flags: number }> {
    const { users, redundancy, cls, pins } = this.input.tenants;
    const domainOf = this.prods.domain;
    const pinLoad = new Map<number, number>();
    const out = new Map<number, { prods: number[]; flags: number }>();
    for (const [t, list] of pins) {
      const r = redundancy[t] ?? 1;
      const u = users[t] ?? 0;
      const role = this.roleOfClass[cls[t] ?? 0] ?? 0;
      const prods: number[] = [];
      let flags = 0;
      for (const p of list) {
        if (prods.length >= r) {
          flags |= reasonBit.PinExceedsRedundancy;
          break;
        }
        if (p < 0 || this.serving[p] !== 1 || this.prods.test[p] !== role || (pinLoad.get(p) ?? 0) + u > this.hardCap) {
          flags |= reasonBit.PinUnavailable;
          continue;
        }
        const first = prods[0];
        if (p === first) continue;
        if (first !== undefined && domainOf[first] === domainOf[p]) {
          flags |= reasonBit.PinSameDomain;
          continue;
        }
        prods.push(p);
        pinLoad.set(p, (pinLoad.get(p) ?? 0) + u);
      }
      out.set(t, { prods, flags });
    }
    return out;
  }

  /** The full, seeded pass (phases 1–4). */
  run(): AssignResult {
    const { users, redundancy, cls, prev0, prev1 } = this.input.tenants;
    const domainOf = this.prods.domain;
    const T = this.T;

    // 1. pins
    for (const [t, pin] of this.evaluatePins()) {
      for (const p of pin.prods) this.setSlot(t, p, SlotHow.pinned);
      this.flags[t] = (this.flags[t] ?? 0) | pin.flags;
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
    this.short = [];
    for (const t of order) if (this.filled(t) < (redundancy[t] ?? 1)) this.short.push(t);

    // 4. rebalance
    this.rebalance();
    this.clearStaleBoundFlags();
    this.buildIndex();
    return this.result();
  }

  /**
   * Rounds of: every Prod above the bound sheds what it can (`shedFrom`), then, if that freed room,
   * tenants short of Prods try again. Until a round changes nothing: stopping earlier leaves a shed or a
   * placement that a re-run on the result would make, i.e. a move on a no-op. It ends: a shed only lands
   * within the bound, so it lowers the total excess over the bounds (whole users) by at least one, and
   * a placement adds a slot, which nothing removes. Short tenants have just tried when it starts.
   */
  private rebalance(moved?: Set<number>): void {
    const redundancy = this.input.tenants.redundancy;
    for (;;) {
      let sheds = 0;
      for (let p = 0; p < this.P; p++) {
        if (!this.isOver(p)) continue;
        // The tenants of a Prod come from the index; a pass with nothing above the bound never builds it.
        if (!this.indexStart) this.buildIndex();
        sheds += this.shedFrom(p, moved);
      }
      let placed = 0;
      if (sheds > 0) {
        let w = 0;
        for (const t of this.short) {
          const had = this.filled(t);
          this.place(t);
          const got = this.filled(t);
          if (got > had) {
            placed++;
            moved?.add(t);
          }
          if (got < (redundancy[t] ?? 1)) this.short[w++] = t;
        }
        this.short.length = w;
      }
      // Placements only add load, so short tenants that failed still fail; a fallback placement may
      // have pushed a Prod over the bound, which the next round looks at.
      if (sheds === 0 && placed === 0) return;
    }
  }

  /**
   * Shed tenants off `p` until it is within the bound or none can move: the smallest tenant whose move
   * alone is enough, else the biggest that can move, then look again. Fewest moves, and the fewest users
   * moved among those (tried: tenant order moved three small tenants where moving one sufficed). A tenant
   * that cannot move stays unable to while `p` sheds (other Prods only gain load), so each is tried once.
   * Returns the number of tenants moved.
   */
  private shedFrom(p: number, moved?: Set<number>): number {
    const users = this.input.tenants.users;
    const cands = this.tenantsOf(p)
      .filter((t) => (users[t] ?? 0) > 0)
      .sort((a, b) => (users[a] ?? 0) - (users[b] ?? 0) || a - b);
    const cap = this.capOf[p] ?? 0;
    let top = cands.length - 1;
    let count = 0;
    while (top >= 0 && this.isOver(p)) {
      const excess = (this.load[p] ?? 0) - cap;
      // Candidates above `top` were all tried; the first one big enough is at `lo`.
      let lo = 0;
      let hi = top + 1;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if ((users[cands[mid] ?? 0] ?? 0) < excess) lo = mid + 1;
        else hi = mid;
      }
      let done = false;
      for (let j = lo; j <= top; j++) {
        const t = cands[j] ?? 0;
        if (this.shed(t, p)) {
          moved?.add(t);
          count++;
          done = true;
          break;
        }
      }
      if (done) break;
      // None big enough can move: the biggest smaller one that can, and look again.
      top = lo - 1;
      while (top >= 0) {
        const t = cands[top--] ?? 0;
        if (this.shed(t, p)) {
          moved?.add(t);
          count++;
          break;
        }
      }
    }
    return count;
  }

  /**
   * Move the slot of `t` on Prod `p` if `p` is above the bound and another eligible Prod has room within
   * it. On failure everything is as before, slot order included (a swapped order would make the
   * caller's next look at the tenant try the same Prod again and skip the other).
   */
  private shed(t: number, p: number): boolean {
    const s = this.slot0[t] === p ? 0 : 1;
    const how = ((s === 0 ? this.how0[t] : this.how1[t]) ?? 0) as SlotHow;
    if (how === SlotHow.pinned) return false;
    const u = this.input.tenants.users[t] ?? 0;
    const l = this.load[p] ?? 0;
    // Moving a tenant without users, or the only one, does not lower anything.
    if (l <= (this.capOf[p] ?? 0) || l === u || u === 0) return false;
    const view = this.views[this.input.tenants.cls[t] ?? 0];
    if (!view) return false;
    const a0 = this.slot0[t] ?? -1;
    const h0 = this.how0[t] ?? 0;
    const a1 = this.slot1[t] ?? -1;
    const h1 = this.how1[t] ?? 0;
    const other = s === 0 ? a1 : a0;
    this.load[p] = l - u;
    this.slot0[t] = other;
    this.how0[t] = other >= 0 ? (s === 0 ? h1 : h0) : 0;
    this.slot1[t] = -1;
    this.how1[t] = 0;
    // `p` stays above the bound for every tenant of this size or more, so the walk excluding it may
    // memoise a failure for its ring.
    if (!this.placeInDomains(t, view, p, other >= 0 ? (this.prods.domain[other] ?? -1) : -1, SlotHow.rebalanced)) {
      this.load[p] = l;
      this.slot0[t] = a0;
      this.how0[t] = h0;
      this.slot1[t] = a1;
      this.how1[t] = h1;
      // Stays above the bound because nothing else has room: say so (dropped at the end if it falls under).
      this.flagBound(t);
      return false;
    }
    this.roomFreed(p);
    return true;
  }

  /** `p` lost load: a ring memo "no room for this size" may now be wrong about it. */
  private roomFreed(p: number): void {
    const l = this.load[p] ?? 0;
    // An empty Prod takes a tenant of any size (up to the hard capacity).
    const room = l === 0 ? Infinity : (this.capOf[p] ?? 0) - l;
    const d = this.prods.domain[p] ?? 0;
    for (const v of this.views) v.roomOn(p, d, room);
  }

  /**
   * BoundExceeded is kept only where the last rebalance round would set it: a slot, not pinned, on a
   * Prod above the bound that the tenant shares (a tenant alone is the "bigger than the bound" case).
   * Whatever happened on the way (a fallback placement, a failed shed before others left) must not
   * show, or a re-run, which keeps the tenant and only sees the end state, would change its status.
   */
  private clearStaleBoundFlags(): void {
    const u = this.input.tenants.users;
    const above = (t: number, p: number, how: number) => p >= 0 && how !== SlotHow.pinned && this.isOver(p) && (u[t] ?? 0) > 0 && this.load[p] !== u[t];
    for (const t of this.boundFlagged) {
      if (above(t, this.slot0[t] ?? -1, this.how0[t] ?? 0) || above(t, this.slot1[t] ?? -1, this.how1[t] ?? 0)) continue;
      this.flags[t] = (this.flags[t] ?? 0) & ~reasonBit.BoundExceeded;
      this.boundFlagged.delete(t);
    }
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
   * tenants' slots are re-placed, with the tenants still short of Prods (the bound rose: fewer Prods
   * share the load) and pinned tenants whose pins now resolve differently; then the same rebalance as
   * the full pass. The result is what a full pass seeded by it keeps as it is.
   * Returns the tenants that moved (or gained a Prod).
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
    const { users, redundancy } = this.input.tenants;
    // A pin on a failed Prod is unavailable now, and the next pin in the list may take its place.
    const repin = new Map<number, number[]>();
    const pinnedTo = new Set<number>();
    for (const [t, pin] of this.input.tenants.pins.size > 0 ? this.evaluatePins() : []) {
      const had = [this.slot0[t] ?? -1, this.slot1[t] ?? -1].filter((p, i) => p >= 0 && (i === 0 ? this.how0[t] : this.how1[t]) === SlotHow.pinned);
      this.flags[t] = ((this.flags[t] ?? 0) & ~PIN_REASONS) | pin.flags;
      if (had.length === pin.prods.length && had.every((p) => pin.prods.includes(p))) continue;
      repin.set(t, pin.prods);
      affected.add(t);
      for (const p of pin.prods) if (!had.includes(p)) pinnedTo.add(p);
    }
    const goneSet = new Set(gone);
    for (const t of affected) {
      const u = users[t] ?? 0;
      const a = this.slot0[t] ?? -1;
      const b = this.slot1[t] ?? -1;
      const howA = this.how0[t] ?? 0;
      const howB = this.how1[t] ?? 0;
      const pins = repin.get(t);
      // A slot stays unless its Prod failed, or it is a pin that the new pins replace.
      const keepA = a >= 0 && !goneSet.has(a) && !(pins && howA === SlotHow.pinned);
      const keepB = b >= 0 && !goneSet.has(b) && !(pins && howB === SlotHow.pinned);
      if (a >= 0 && !keepA) this.load[a] = (this.load[a] ?? 0) - u;
      if (b >= 0 && !keepB) this.load[b] = (this.load[b] ?? 0) - u;
      // As in a full pass: the degrading reasons are the placement's to set.
      this.flags[t] = (this.flags[t] ?? 0) & ~DEGRADING;
      if (!pins) {
        this.slot0[t] = keepA ? a : keepB ? b : -1;
        this.how0[t] = keepA ? howA : keepB ? howB : 0;
        this.slot1[t] = -1;
        this.how1[t] = 0;
        continue;
      }
      // Pins first, then what stays, as a full pass would (a kept Prod in a pin's domain gives way).
      this.slot0[t] = -1;
      this.slot1[t] = -1;
      this.how0[t] = 0;
      this.how1[t] = 0;
      for (const p of pins) this.setSlot(t, p, SlotHow.pinned);
      const r = redundancy[t] ?? 1;
      for (const [p, keep] of [
        [a, keepA],
        [b, keepB],
      ] as const) {
        if (!keep) continue;
        this.load[p] = (this.load[p] ?? 0) - u;
        if (this.filled(t) >= r || p === this.slot0[t] || this.usedDomain(t) === this.prods.domain[p]) continue;
        this.setSlot(t, p, SlotHow.kept);
      }
    }
    // A new pin counts before every keep: where it pushes a Prod past the hard capacity, the tenants a
    // full pass would not keep there (the later ones, in tenant order) must go.
    for (const p of pinnedTo) if ((this.load[p] ?? 0) > this.hardCap) for (const t of this.evictOverHardCap(p)) affected.add(t);

    // With the affected tenants, those short of Prods from before try again (the bound rose: fewer Prods
    // share the load), biggest first as in the full pass.
    const wasShort = new Set(this.short);
    const todo = sortByUsersDescending(Int32Array.from(new Set([...affected, ...this.short])), users);
    this.short = [];
    for (const t of todo) {
      const had = this.filled(t);
      if (had < (redundancy[t] ?? 1)) this.place(t);
      if (wasShort.has(t) && this.filled(t) > had) affected.add(t);
      if (this.filled(t) < (redundancy[t] ?? 1)) this.short.push(t);
    }
    // The bound can also fall (the failed Prods were the last of a domain, so redundant tenants now
    // count once), and fallback placements can land above it: Prods above it shed, as in the full pass.
    this.rebalance(affected);
    this.clearStaleBoundFlags();
    return Int32Array.from(affected);
  }

  /** Keep on `p` its pinned tenants, then the others in tenant order while they fit; returns the rest. */
  private evictOverHardCap(p: number): number[] {
    const users = this.input.tenants.users;
    const on = this.tenantsOf(p).sort((a, b) => a - b);
    const pinnedHere = (t: number) => (this.slot0[t] === p ? this.how0[t] : this.how1[t]) === SlotHow.pinned;
    let load = 0;
    for (const t of on) if (pinnedHere(t)) load += users[t] ?? 0;
    const evicted: number[] = [];
    for (const t of on) {
      if (pinnedHere(t)) continue;
      const u = users[t] ?? 0;
      if (load + u <= this.hardCap) {
        load += u;
        continue;
      }
      this.load[p] = (this.load[p] ?? 0) - u;
      if (this.slot0[t] === p) {
        this.slot0[t] = this.slot1[t] ?? -1;
        this.how0[t] = this.how1[t] ?? 0;
      }
      this.slot1[t] = -1;
      this.how1[t] = 0;
      this.flags[t] = (this.flags[t] ?? 0) & ~DEGRADING;
      evicted.push(t);
    }
    return evicted;
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
