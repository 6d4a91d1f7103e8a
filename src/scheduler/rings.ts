/**
 * Consistent-hash rings, one per (eligibility class, failure domain), built lazily: an incremental pass
 * that places a few thousand tenants builds only the rings those tenants need.
 *
 * A tenant walks its ring clockwise from its own point and takes the first Prod with room (consistent
 * hashing with bounded loads, Mirrokni et al.). Because a Prod's points depend on its name only, a Prod
 * joining or leaving shifts nobody else's starting point.
 */
import { mix32 } from './hash.js';
import type { EligibilityClass, ProdTable } from './model.js';

const PROD_INDEX_SPACE = 2 ** 21;

export interface Ring {
  /** Sorted point hashes. */
  readonly points: Uint32Array;
  /** Prod index at each point. */
  readonly prods: Int32Array;
  /**
   * Smallest tenant size for which a full walk found no room. Loads only grow while placing, so a
   * tenant at least this big is skipped without walking (keeps a full domain from costing O(ring) per
   * tenant). Raised past a Prod's new room whenever its load shrinks (`ClassView.roomOn`).
   */
  minFailedUsers: number;
}

export function buildRing(members: Int32Array, prodHash: Uint32Array, vnodes: number): Ring {
  const n = members.length * vnodes;
  // Pack (point, prod) into one double so one native typed-array sort orders both.
  const keys = new Float64Array(n);
  let k = 0;
  for (const p of members) {
    const base = prodHash[p] ?? 0;
    for (let v = 0; v < vnodes; v++) keys[k++] = mix32(base + Math.imul(v + 1, 0x9e3779b9)) * PROD_INDEX_SPACE + p;
  }
  keys.sort();
  const points = new Uint32Array(n);
  const prods = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const key = keys[i] ?? 0;
    const p = key % PROD_INDEX_SPACE;
    prods[i] = p;
    points[i] = (key - p) / PROD_INDEX_SPACE;
  }
  return { points, prods, minFailedUsers: Infinity };
}

/** Index of the first point at or after `h`, wrapping to 0. */
export function ringStart(ring: Ring, h: number): number {
  let lo = 0;
  let hi = ring.points.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((ring.points[mid] ?? 0) < h) lo = mid + 1;
    else hi = mid;
  }
  return lo === ring.points.length ? 0 : lo;
}

/** The eligible Prods of one class, grouped by failure domain, with their rings. */
export class ClassView {
  /** Eligible Prod indices per domain index (empty arrays for domains with none). */
  readonly byDomain: Int32Array[];
  readonly eligibleCount: number;
  readonly eligibleDomains: number;
  /** 1 for each eligible Prod. */
  readonly eligible: Uint8Array;
  private readonly rings: (Ring | undefined)[];
  private readonly prodHash: Uint32Array;

  constructor(
    prods: ProdTable,
    cls: EligibilityClass,
    private readonly vnodes: number,
  ) {
    const role = cls.test ? 1 : 0;
    this.eligible = new Uint8Array(prods.count);
    const lists: number[][] = prods.domainNames.map(() => []);
    let count = 0;
    for (let p = 0; p < prods.count; p++) {
      if (prods.serving[p] === 1 && prods.test[p] === role && cls.admits[p] === 1) {
        this.eligible[p] = 1;
        lists[prods.domain[p] ?? 0]?.push(p);
        count++;
      }
    }
    this.byDomain = lists.map((l) => Int32Array.from(l));
    this.eligibleCount = count;
    this.eligibleDomains = lists.filter((l) => l.length > 0).length;
    this.rings = lists.map(() => undefined);
    this.prodHash = prods.hash;
  }

  ring(domain: number): Ring {
    let r = this.rings[domain];
    if (!r) {
      r = buildRing(this.byDomain[domain] ?? new Int32Array(0), this.prodHash, this.vnodes);
      this.rings[domain] = r;
    }
    return r;
  }

  /**
   * Prod `p` (in `domain`) now has room for a tenant of up to `room` users: its ring's memo must not skip
   * such a tenant any more.
   */
  roomOn(p: number, domain: number, room: number): void {
    if (this.eligible[p] !== 1) return;
    const r = this.rings[domain];
    if (r && r.minFailedUsers <= room) r.minFailedUsers = room + 1;
  }
}
