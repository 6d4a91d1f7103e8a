/** `drover get` output formats: a table (optionally wide), JSON, YAML, or `kind/name` lines. */
import { API_VERSION } from '../../api/api-version.js';
import type { AnyResource } from '../../api/resource.js';
import { DroverError } from '../../errors.js';
import { objectRef } from './object-ref.js';
import { columnsFor, tableRows } from './columns.js';
import { formatTable } from './table.js';
import { loadYaml } from '../lazy-yaml.js';

const stringify = (v: unknown): string => loadYaml().stringify(v);

export const outputFormats = ['table', 'wide', 'json', 'yaml', 'name'] as const;
export type OutputFormat = (typeof outputFormats)[number];

export function parseOutputFormat(v: string | undefined): OutputFormat {
  const f = v ?? 'table';
  if ((outputFormats as readonly string[]).includes(f)) return f as OutputFormat;
  throw new DroverError('DROVER_E_INVALID', `unknown output format "${f}"`, { field: '-o', fix: 'use -o wide, json, yaml or name' });
}

export function renderList(kind: string, items: readonly AnyResource[], format: OutputFormat, resourceVersion = ''): string {
  switch (format) {
    case 'json':
      return `${JSON.stringify(listDoc(items, resourceVersion), null, 2)}\n`;
    case 'yaml':
      return stringify(listDoc(items, resourceVersion));
    case 'name':
      return items.map((o) => `${objectRef(kind, o.metadata.name)}\n`).join('');
    default: {
      const cols = columnsFor(kind, format === 'wide');
      return formatTable(cols.map((c) => c.header), tableRows(items, cols));
    }
  }
}

export function renderObject(kind: string, o: AnyResource, format: OutputFormat): string {
  switch (format) {
    case 'json':
      return `${JSON.stringify(o, null, 2)}\n`;
    case 'yaml':
      return stringify(o);
    default:
      return renderList(kind, [o], format);
  }
}

/** One row without headers, for `get -w` after the first table (columns align with the first table only roughly, as kubectl). */
export function renderRow(kind: string, o: AnyResource, format: OutputFormat): string {
  if (format === 'json') return `${JSON.stringify(o)}\n`;
  if (format === 'yaml') return `---\n${stringify(o)}`;
  if (format === 'name') return `${objectRef(kind, o.metadata.name)}\n`;
  const cols = columnsFor(kind, format === 'wide');
  return formatTable(cols.map((c) => c.header), tableRows([o], cols)).split('\n')[1] + '\n';
}

function listDoc(items: readonly AnyResource[], resourceVersion: string) {
  return { apiVersion: API_VERSION, kind: 'List', metadata: { resourceVersion }, items };
}
