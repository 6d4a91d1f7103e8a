/**
 * Cloud state as flat fields per resource (`endpointGroup/eu-west-1` → `{trafficDial: 100, weight[arn]: 128}`):
 * one shape for every provider, so that the diff, drift, status and `drover cloud diff` are written once.
 * Pure.
 */
import type { CloudChange, CloudState, CloudTrafficStatus } from '../api/kinds/cloud-traffic.js';

type Fields = CloudState[string];
type Scalar = Fields[string];

const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function fieldChanges(from: Fields | undefined, to: Fields | undefined): CloudChange['fields'] {
  const names = new Set([...Object.keys(from ?? {}), ...Object.keys(to ?? {})]);
  const out: CloudChange['fields'] = [];
  for (const name of [...names].sort(byName)) {
    const a = from?.[name];
    const b = to?.[name];
    if (a === b) continue;
    out.push({ name, ...(a !== undefined ? { from: a } : {}), ...(b !== undefined ? { to: b } : {}) });
  }
  return out;
}

/** What turns `from` into `to`, resource by resource, in resource order. */
export function diffStates(from: CloudState, to: CloudState): CloudChange[] {
  const out: CloudChange[] = [];
  for (const resource of [...new Set([...Object.keys(from), ...Object.keys(to)])].sort(byName)) {
    const a = from[resource];
    const b = to[resource];
    const fields = fieldChanges(a, b);
    if (fields.length === 0) continue;
    out.push({ action: a === undefined ? 'create' : b === undefined ? 'delete' : 'update', resource, fields });
  }
  return out;
}

/**
 * Drift: fields of resources Drover wrote (`lastApplied`) that AWS now holds differently, and that the
 * next write would not change anyway for another reason — compared field by field on what Drover set.
 */
export function driftOf(lastApplied: CloudState | undefined, observed: CloudState | undefined): CloudChange[] {
  if (!lastApplied || !observed) return [];
  const out: CloudChange[] = [];
  for (const resource of Object.keys(lastApplied).sort(byName)) {
    const mine = lastApplied[resource]!;
    const theirs = observed[resource];
    if (theirs === undefined) {
      out.push({ action: 'delete', resource, fields: fieldChanges(mine, undefined) });
      continue;
    }
    const fields: CloudChange['fields'] = [];
    for (const name of Object.keys(mine).sort(byName)) {
      if (theirs[name] !== mine[name]) fields.push({ name, from: mine[name]!, ...(theirs[name] !== undefined ? { to: theirs[name] } : {}) });
    }
    if (fields.length > 0) out.push({ action: 'update', resource, fields });
  }
  return out;
}

function show(v: Scalar | undefined): string {
  return v === undefined ? '(none)' : JSON.stringify(v);
}

/** Terraform-plan style: `~ resource` with `field: from → to` lines; `+`/`-` for created/deleted ones. */
export function formatChanges(changes: readonly CloudChange[], indent = ''): string {
  const sign = { create: '+', update: '~', delete: '-' } as const;
  const lines: string[] = [];
  for (const c of changes) {
    lines.push(`${indent}${sign[c.action]} ${c.resource}`);
    for (const f of c.fields) lines.push(`${indent}    ${f.name}: ${show(f.from)} → ${show(f.to)}`);
  }
  return lines.join('\n');
}

/** One line: "2 to update (endpointGroup/eu-west-1: weight[…]: 128 → 0)". */
export function summarizeChanges(changes: readonly CloudChange[]): string {
  if (changes.length === 0) return 'no changes';
  const counts = (['create', 'update', 'delete'] as const).map((a) => [a, changes.filter((c) => c.action === a).length] as const).filter(([, n]) => n > 0);
  const head = counts.map(([a, n]) => `${n} to ${a}`).join(', ');
  const detail = changes
    .map((c) => `${c.resource}: ${c.fields.map((f) => `${f.name} ${show(f.from)}→${show(f.to)}`).join(', ')}`)
    .join('; ');
  return `${head} (${detail})`;
}

function restrict(state: CloudState, keep: (resource: string) => boolean): CloudState {
  const out: CloudState = {};
  for (const [k, v] of Object.entries(state)) if (keep(k)) out[k] = v;
  return out;
}

/**
 * The change the next sync would make, from a CloudTraffic's status (what `drover cloud diff` prints): to
 * the desired state from what AWS held at the last sync, or, when AWS could not be read, from what Drover
 * would have written so far (`simulated`); resources Drover does not own are left out.
 */
export function plannedChanges(desired: CloudState, status: CloudTrafficStatus | undefined): CloudChange[] {
  const baseline = status?.observed ?? status?.simulated ?? {};
  const refused = (r: string): boolean => (status?.notOwned ?? []).some((n) => n.startsWith(`${r}: `));
  return diffStates(baseline, restrict(desired, (r) => !refused(r)));
}
