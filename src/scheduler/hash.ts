/**
 * 32-bit hashes for rendezvous and ring placement. They must be identical on every control-plane replica
 * and across releases (a changed hash would move every tenant), so they are written out here rather than
 * taken from a library.
 */

/** FNV-1a over UTF-16 code units: cheap, good enough dispersion once finished by `mix32`. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return mix32(h);
}

/** murmur3's finaliser: spreads every input bit over the whole word. */
export function mix32(x: number): number {
  let h = x | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Hash of a pair, e.g. (tenant, domain) for rendezvous over domains. */
export function hashPair(a: number, b: number): number {
  return mix32(a ^ Math.imul(mix32(b) | 1, 0x9e3779b1));
}

/** Uniform in (0, 1) from a 32-bit hash: never 0, so `-ln` stays finite. */
export function unitInterval(h: number): number {
  return (h + 0.5) / 4294967296;
}
