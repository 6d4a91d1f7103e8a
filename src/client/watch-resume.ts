/**
 * What a watch needs to resume on another replica without a gap or a duplicate: the revision it started
 * from (a header the API server sets on every watch response, so a watch "from now" knows it before the
 * first event), and an order on revisions (one global decimal counter, so compared as integers).
 */

/** Response header of a watch: the revision the stream starts after. */
export const WATCH_FROM_HEADER = 'x-drover-watch-from';

/** Whether revision `a` comes after `b` (anything comes after none; an unreadable one is let through). */
export function newerRevision(a: string, b: string | undefined): boolean {
  if (b === undefined) return true;
  if (!/^\d+$/.test(a) || !/^\d+$/.test(b)) return true;
  return BigInt(a) > BigInt(b);
}

/**
 * Whether `whole` holds everything `part` sets: objects key by key, arrays element by element, scalars
 * equal; what `part` leaves out (defaults the server filled in) does not matter.
 */
export function contains(whole: unknown, part: unknown): boolean {
  if (part === undefined) return true;
  if (part === null || typeof part !== 'object') return Object.is(whole, part);
  if (whole === null || typeof whole !== 'object') return false;
  if (Array.isArray(part)) return Array.isArray(whole) && whole.length === part.length && part.every((p, i) => contains(whole[i], p));
  if (Array.isArray(whole)) return false;
  const w = whole as Record<string, unknown>;
  return Object.entries(part as Record<string, unknown>).every(([k, v]) => contains(w[k], v));
}
