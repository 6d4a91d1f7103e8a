/**
 * Validation at the boundary: turn an untrusted document into a typed resource, or into a DroverError
 * that names the field path and says how to fix it ("did you mean …" for misspelt fields).
 */
import { z } from 'zod';
import { DroverError } from '../errors.js';
import { API_VERSION } from './meta.js';
import { findKind, kinds, type KindInfo } from './registry.js';
import type { AnyResource } from './resource.js';

export function validateResource(doc: unknown): { info: KindInfo; resource: AnyResource } {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new DroverError('DROVER_E_INVALID', 'a resource must be an object with apiVersion, kind, metadata and spec', {
      fix: 'see examples/ for complete documents',
    });
  }
  const d = doc as Record<string, unknown>;
  if (typeof d.kind !== 'string') {
    throw new DroverError('DROVER_E_INVALID', 'missing "kind"', {
      field: 'kind',
      fix: `set kind to one of: ${kinds.map((k) => k.kind).join(', ')}`,
    });
  }
  const info = findKind(d.kind);
  if (!info || info.kind !== d.kind) {
    const suggestion = info ? info.kind : closest(d.kind, kinds.map((k) => k.kind));
    throw new DroverError('DROVER_E_UNKNOWN_KIND', `unknown kind "${d.kind}"`, {
      field: 'kind',
      fix: suggestion ? `did you mean "${suggestion}"?` : `use one of: ${kinds.map((k) => k.kind).join(', ')}`,
    });
  }
  if (d.apiVersion !== API_VERSION) {
    throw new DroverError('DROVER_E_INVALID', `invalid apiVersion ${JSON.stringify(d.apiVersion ?? null)}`, {
      field: 'apiVersion',
      fix: `set apiVersion: ${API_VERSION}`,
    });
  }
  return { info, resource: parseWith(info.schema, doc) as AnyResource };
}

/** Parses with a schema, mapping the first zod issue to a DroverError naming the field. */
export function parseWith<T extends z.ZodTypeAny>(schema: T, value: unknown, prefix: (string | number)[] = []): z.infer<T> {
  const r = schema.safeParse(value);
  if (r.success) return r.data as z.infer<T>;
  throw issueToError(schema, r.error.issues[0]!, prefix, value);
}

/**
 * A ZodError thrown by a `schema.parse` outside the boundary helpers (e.g. a command building a spec from
 * flags), as the same DroverError `parseWith` gives: the field and the fix, never the raw issue JSON.
 */
export function fromZodError(err: z.ZodError, schema: z.ZodTypeAny = z.any()): DroverError {
  return issueToError(schema, err.issues[0] ?? { code: 'custom', path: [], message: err.message }, [], undefined);
}

function issueToError(root: z.ZodTypeAny, issue: z.ZodIssue, prefix: (string | number)[], rootValue: unknown): DroverError {
  const path = [...prefix, ...issue.path];
  const field = formatPath(path);
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = knownKeys(root, issue.path);
      const key = issue.keys[0] ?? '';
      const full = formatPath([...path, key]);
      const guess = closest(key, known);
      return new DroverError('DROVER_E_INVALID', `unknown field "${full}"`, {
        field: full,
        fix: guess ? `did you mean "${formatPath([...path, guess])}"?` : `remove it; known fields here: ${known.join(', ') || '(none)'}`,
      });
    }
    case 'invalid_type': {
      if (issue.received === 'undefined') {
        return new DroverError('DROVER_E_INVALID', `missing required field "${field}"`, {
          field,
          fix: `set ${field} (${issue.expected})`,
        });
      }
      return new DroverError('DROVER_E_INVALID', `${field}: expected ${issue.expected}, got ${issue.received}`, {
        field,
        fix: `set ${field} to a${/^[aeiou]/.test(issue.expected) ? 'n' : ''} ${issue.expected}`,
      });
    }
    case 'invalid_enum_value':
      return new DroverError('DROVER_E_INVALID', `${field}: invalid value ${JSON.stringify(issue.received)}`, {
        field,
        fix: `use one of: ${issue.options.map((o) => JSON.stringify(o)).join(', ')}`,
      });
    case 'invalid_literal':
      return new DroverError('DROVER_E_INVALID', `${field}: ${issue.message}`, {
        field,
        fix: `set ${field} to ${JSON.stringify(issue.expected)}`,
      });
    case 'invalid_union_discriminator':
      return new DroverError('DROVER_E_INVALID', `${field}: invalid value`, {
        field,
        fix: `use one of: ${issue.options.map((o) => JSON.stringify(o)).join(', ')}`,
      });
    default:
      return new DroverError('DROVER_E_INVALID', `${field || 'document'}: ${issue.message}`, {
        ...(field ? { field } : {}),
        fix: fixFor(issue, rootValue),
      });
  }
}

function fixFor(issue: z.ZodIssue, rootValue: unknown): string {
  switch (issue.code) {
    case 'too_small':
      return `use a value of at least ${String(issue.minimum)}`;
    case 'too_big':
      return `use a value of at most ${String(issue.maximum)}`;
    case 'invalid_string': {
      // A bad object name: offer the nearest valid one.
      if (issue.path[issue.path.length - 1] === 'name' && issue.validation === 'regex') {
        const v = issue.path.reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string | number, unknown>)[k] : undefined), rootValue);
        const suggestion = typeof v === 'string' ? v.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 63) : '';
        if (suggestion) return `use a DNS-1123 name such as "${suggestion}"`;
      }
      return 'correct the value and apply again';
    }
    default:
      return 'correct the value and apply again';
  }
}

export function formatPath(path: (string | number)[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? p : `.${p}`;
  return out;
}

/** The keys an object schema accepts at `path`, looking through defaults, optionals, refinements and arrays. */
function knownKeys(schema: z.ZodTypeAny, path: (string | number)[]): string[] {
  let s: z.ZodTypeAny | undefined = schema;
  for (const p of path) {
    s = unwrap(s);
    if (!s) return [];
    if (s instanceof z.ZodObject) s = (s.shape as Record<string, z.ZodTypeAny>)[String(p)];
    else if (s instanceof z.ZodArray) s = s.element as z.ZodTypeAny;
    else if (s instanceof z.ZodRecord) s = s.valueSchema as z.ZodTypeAny;
    else return [];
  }
  s = unwrap(s);
  return s instanceof z.ZodObject ? Object.keys(s.shape as object) : [];
}

function unwrap(s: z.ZodTypeAny | undefined): z.ZodTypeAny | undefined {
  for (;;) {
    if (s instanceof z.ZodDefault || s instanceof z.ZodOptional || s instanceof z.ZodNullable) s = s._def.innerType as z.ZodTypeAny;
    else if (s instanceof z.ZodEffects) s = s._def.schema as z.ZodTypeAny;
    else return s;
  }
}

/** The candidate nearest by edit distance, if it is near enough to be a typo. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}
