/**
 * Precompiled weighted choice: built once per plan or health change, then O(log n) per pick with no
 * allocation. An entry may be `null`: a share of traffic that nobody may take (answered by the fail mode).
 */
export class WeightedPicker<T> {
  private readonly items: (T | null)[];
  private readonly cum: Float64Array;
  readonly total: number;

  constructor(entries: readonly (readonly [T | null, number])[]) {
    const kept = entries.filter(([, w]) => w > 0);
    this.items = kept.map(([t]) => t);
    this.cum = new Float64Array(kept.length);
    let acc = 0;
    kept.forEach(([, w], i) => {
      acc += w;
      this.cum[i] = acc;
    });
    this.total = acc;
  }

  get size(): number {
    return this.items.length;
  }

  /** The entry at `r` in [0, 1); undefined when empty, null for an unservable share. */
  pick(r: number): T | null | undefined {
    const n = this.items.length;
    if (n === 0) return undefined;
    if (n === 1) return this.items[0];
    const x = r * this.total;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (x < this.cum[mid]!) hi = mid;
      else lo = mid + 1;
    }
    return this.items[lo];
  }

  /** A pick by weight among the entries other than `exclude` (and the null share); rare path, may scan. */
  pickExcluding(exclude: T | ((item: T) => boolean), r: number): T | undefined {
    const out = typeof exclude === 'function' ? (exclude as (item: T) => boolean) : (item: T) => item === exclude;
    return this.pickWhere(out, r);
  }

  private pickWhere(excluded: (item: T) => boolean, r: number): T | undefined {
    let total = 0;
    for (let i = 0; i < this.items.length; i++) {
      const it = this.items[i];
      if (it !== null && it !== undefined && !excluded(it)) total += this.cum[i]! - (i > 0 ? this.cum[i - 1]! : 0);
    }
    if (total <= 0) return undefined;
    let x = r * total;
    for (let i = 0; i < this.items.length; i++) {
      const it = this.items[i];
      if (it === null || it === undefined || excluded(it)) continue;
      x -= this.cum[i]! - (i > 0 ? this.cum[i - 1]! : 0);
      if (x < 0) return it;
    }
    for (let i = this.items.length - 1; i >= 0; i--) {
      const it = this.items[i];
      if (it !== null && it !== undefined && !excluded(it)) return it;
    }
    return undefined;
  }

  /** Shares per entry, for tests and `/plan` introspection. */
  shares(): { item: T | null; share: number }[] {
    return this.items.map((item, i) => ({ item, share: (this.cum[i]! - (i > 0 ? this.cum[i - 1]! : 0)) / this.total }));
  }
}

/** 32-bit FNV-1a: a stable, fast hash for client affinity. */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
