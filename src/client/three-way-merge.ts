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
 */

type Json = unknown;
type Dict = Record<string, Json>;

function isDict(v: Json): v is Dict {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function threeWayMerge(lastApplied: Json, desired: Json, live: Json): Json {
  if (!isDict(desired) || !isDict(live)) return desired;
  const last = isDict(lastApplied) ? lastApplied : {};
  const out: Dict = { ...live };
  for (const k of Object.keys(last)) if (!(k in desired)) delete out[k];
  for (const [k, v] of Object.entries(desired)) out[k] = threeWayMerge(last[k], v, live[k]);
  return out;
}
