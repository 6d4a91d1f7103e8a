/**
 * Reading resource documents for `apply -f` / `delete -f`: a file, a directory (its .yaml/.yml/.json files,
 * sorted, not recursive) or `-` (stdin); multi-document YAML or JSON (a document, an array, or a `List`).
 * Each document is reported on its own, so one bad document does not hide the others.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { DroverError } from '../errors.js';

export interface ManifestDocument {
  /** File name (or `<stdin>`). */
  source: string;
  /** 1-based index of the document in its source. */
  index: number;
  /** The parsed document, or why it could not be parsed. */
  doc?: unknown;
  error?: DroverError;
}

export function describeDocument(d: ManifestDocument): string {
  const o = d.doc && typeof d.doc === 'object' ? (d.doc as { kind?: unknown; metadata?: { name?: unknown } }) : undefined;
  const kind = typeof o?.kind === 'string' ? o.kind : undefined;
  const name = typeof o?.metadata?.name === 'string' ? o.metadata.name : undefined;
  const what = kind || name ? ` (${kind ?? '?'}/${name ?? '?'})` : '';
  return `${d.source} document ${d.index}${what}`;
}

export function readManifests(path: string, stdin: () => string = () => readFileSync(0, 'utf8')): ManifestDocument[] {
  if (path === '-') return parseManifests('<stdin>', stdin());
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new DroverError('DROVER_E_INVALID', `cannot read ${path}: no such file or directory`, { fix: 'pass an existing file, a directory, or - for stdin' });
  }
  if (st.isDirectory()) {
    return readdirSync(path)
      .filter((f) => /\.(ya?ml|json)$/i.test(f))
      .sort()
      .flatMap((f) => parseManifests(join(path, f), readFileSync(join(path, f), 'utf8')));
  }
  return parseManifests(path, readFileSync(path, 'utf8'));
}

export function parseManifests(source: string, text: string): ManifestDocument[] {
  const out: ManifestDocument[] = [];
  let index = 0;
  for (const d of parseAllDocuments(text)) {
    if (d.errors.length > 0) {
      const err = d.errors[0]!;
      const line = err.linePos?.[0]?.line;
      out.push({
        source,
        index: ++index,
        error: new DroverError('DROVER_E_INVALID', `invalid YAML${line ? ` at line ${line}` : ''}: ${(err.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '')}`, {
          fix: 'correct the YAML syntax (indentation, quoting, ":" after keys)',
        }),
      });
      continue;
    }
    const value: unknown = d.toJS();
    if (value === null || value === undefined) continue;
    for (const item of expand(value)) out.push({ source, index: ++index, doc: item });
  }
  return out;
}

/** A JSON array or a `kind: List` stands for its items. */
function expand(v: unknown): unknown[] {
  if (Array.isArray(v)) return v;
  if (v && typeof v === 'object' && (v as { kind?: unknown }).kind === 'List' && Array.isArray((v as { items?: unknown }).items)) {
    return (v as { items: unknown[] }).items;
  }
  return [v];
}
