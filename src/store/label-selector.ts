/** kubectl's label selector syntax: `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`. */
import { DroverError } from '../errors.js';

type Req =
  | { op: 'eq' | 'ne'; key: string; value: string }
  | { op: 'in' | 'notin'; key: string; values: string[] }
  | { op: 'exists' | 'notexists'; key: string };

export type LabelSelector = (labels: Record<string, string>) => boolean;

export function parseLabelSelector(sel: string | undefined): LabelSelector {
  if (!sel || sel.trim() === '') return () => true;
  const reqs: Req[] = [];
  // Split on commas that are not inside parentheses.
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of sel) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  parts.push(cur);
  for (const raw of parts) {
    const p = raw.trim();
    let m: RegExpExecArray | null;
    if ((m = /^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(p))) {
      reqs.push({ op: m[2] as 'in' | 'notin', key: m[1]!, values: m[3]!.split(',').map((v) => v.trim()).filter(Boolean) });
    } else if ((m = /^([\w./-]+)\s*(==|=|!=)\s*([\w.-]*)$/.exec(p))) {
      reqs.push({ op: m[2] === '!=' ? 'ne' : 'eq', key: m[1]!, value: m[3]! });
    } else if ((m = /^!([\w./-]+)$/.exec(p))) {
      reqs.push({ op: 'notexists', key: m[1]! });
    } else if ((m = /^([\w./-]+)$/.exec(p))) {
      reqs.push({ op: 'exists', key: m[1]! });
    } else {
      throw new DroverError('DROVER_E_INVALID', `invalid label selector "${sel}" near "${p}"`, {
        field: 'labelSelector',
        fix: 'use a=b, a!=b, a in (x,y), a notin (x), a or !a, separated by commas',
      });
    }
  }
  return (labels) =>
    reqs.every((r) => {
      const has = Object.prototype.hasOwnProperty.call(labels, r.key);
      const v = labels[r.key];
      switch (r.op) {
        case 'eq':
          return v === r.value;
        case 'ne':
          return v !== r.value;
        case 'in':
          return has && r.values.includes(v ?? '');
        case 'notin':
          return !has || !r.values.includes(v ?? '');
        case 'exists':
          return has;
        case 'notexists':
          return !has;
      }
    });
}
