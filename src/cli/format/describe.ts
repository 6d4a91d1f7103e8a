/** `drover describe`: metadata, spec, status, conditions and recent events of one object, as kubectl lays them out. */
import { stringify } from 'yaml';
import type { AnyResource } from '../../api/resource.js';
import { formatAge, formatTable } from './table.js';

type Dict = Record<string, unknown>;

export function describeResource(o: AnyResource, events: readonly AnyResource[], now = Date.now()): string {
  const m = o.metadata;
  const lines: string[] = [];
  const field = (k: string, v: string) => lines.push(`${`${k}:`.padEnd(20)}${v}`);
  field('Name', m.name);
  field('Kind', o.kind);
  field('Labels', kv(m.labels));
  field('Annotations', kv(m.annotations));
  field('UID', m.uid ?? '<none>');
  field('Generation', String(m.generation ?? '<none>'));
  field('Resource Version', m.resourceVersion ?? '<none>');
  field('Created', m.creationTimestamp ? `${m.creationTimestamp} (${formatAge(m.creationTimestamp, now)} ago)` : '<unknown>');
  if (m.deletionTimestamp) field('Deleting Since', m.deletionTimestamp);
  if (m.finalizers.length > 0) field('Finalizers', m.finalizers.join(', '));
  if (m.ownerReferences.length > 0) field('Owned By', m.ownerReferences.map((r) => `${r.kind}/${r.name}`).join(', '));
  lines.push('Spec:', indent(stringify(o.spec ?? {})));
  const status = (o.status ?? {}) as Dict;
  const { conditions, ...rest } = status;
  lines.push('Status:', Object.keys(rest).length > 0 ? indent(stringify(rest)) : '  <none>');
  lines.push('Conditions:');
  const conds = Array.isArray(conditions) ? (conditions as Dict[]) : [];
  if (conds.length === 0) lines.push('  <none>');
  else {
    const rows = conds.map((c) => [s(c.type), s(c.status), s(c.reason), formatAge(s(c.lastTransitionTime), now), s(c.message)]);
    lines.push(indent(formatTable(['TYPE', 'STATUS', 'REASON', 'AGE', 'MESSAGE'], rows)));
  }
  lines.push('Events:');
  if (events.length === 0) lines.push('  <none>');
  else {
    const rows = events.slice(-20).map((e) => {
      const sp = e.spec as Dict;
      const count = Number(sp.count ?? 1);
      const age = formatAge(s(sp.lastTimestamp), now);
      return [s(sp.type), s(sp.reason), count > 1 ? `${age} (x${count})` : age, s(sp.source), s(sp.message)];
    });
    lines.push(indent(formatTable(['TYPE', 'REASON', 'AGE', 'FROM', 'MESSAGE'], rows)));
  }
  return `${lines.join('\n').replace(/\n+$/, '')}\n`;
}

function s(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

function kv(r: Record<string, string>): string {
  const e = Object.entries(r);
  return e.length === 0 ? '<none>' : e.map(([k, v]) => `${k}=${v}`).join('\n' + ' '.repeat(20));
}

function indent(text: string): string {
  return text
    .replace(/\n+$/, '')
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}
