/**
 * The three-way merge of `drover apply`, as kubectl's client-side apply does it for custom resources:
 * given what the file said last time (`lastApplied`, kept in an annotation), what it says now (`desired`)
 * and what the server holds (`live`), the result is `live` with
 *   - every field the file sets now, set to the file's value (the file wins where it speaks);
 *   - every field the file set last time and no longer sets, removed (so the schema default applies);
 *   - every other field kept as the server has it: what operators and controllers changed outside apply
 *     (a cordon, a drain) survives a re-apply of a file that does not mention it.
 * Objects merge key by key; arrays and scalars are atomic (replaced whole), as a JSON merge patch treats
 * them. `null` in the file is a value like any other here (the schema decides whether it is valid).
 *
 * `fileChangesOnly` (what `drover up` uses when it applies its file again on a restart): a field the file
 * sets to the same value as last time keeps the live value. Without it, restarting `drover up` after a
 * release would put the file's old `spec.version` back and roll the whole fleet back.
 */
import { isDeepStrictEqual } from 'node:util';

export interface MergeOptions {
  fileChangesOnly?: boolean;
}

type Json = unknown;
type Dict = Record<string, Json>;

function isDict(v: Json): v is Dict {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function threeWayMerge(lastApplied: Json, desired: Json, live: Json, opts: MergeOptions = {}): Json {
  if (!isDict(desired) || !isDict(live)) return desired;
  const last = isDict(lastApplied) ? lastApplied : {};
  const out: Dict = { ...live };
  for (const k of Object.keys(last)) if (!(k in desired)) delete out[k];
  for (const [k, v] of Object.entries(desired)) {
    if (opts.fileChangesOnly && k in last && k in live && isDeepStrictEqual(last[k], v)) continue;
    out[k] = threeWayMerge(last[k], v, live[k], opts);
  }
  return out;
}
