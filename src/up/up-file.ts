/**
 * The file `drover up` starts from: the same multi-document YAML as `drover apply`. Cluster documents with
 * `provider: local` name the local clusters to start as agent processes; every document is applied.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import type { Cluster } from '../api/kinds/cluster.js';
import { validateResource } from '../api/validate.js';
import { applyDocument } from '../client/apply-document.js';
import { resolveDocumentPaths } from '../client/document-paths.js';
import { DroverError, isDroverError } from '../errors.js';
import type { Store } from '../store/store.js';

export interface UpFile {
  path: string;
  /** The file's directory: relative paths in it (workload commands and args) resolve against it. */
  dir: string;
  localClusters: Cluster[];
  /** Every document as written, relative paths made absolute (document-paths.ts), to apply. */
  documents: unknown[];
}

/** The shipped example: three clusters, the example fleet, tenants and a traffic policy. */
export function defaultUpFilePath(): string {
  // src/up or dist/up → package root → examples/
  return fileURLToPath(new URL('../../examples/drover-up.yaml', import.meta.url));
}

export function loadUpFile(path: string): UpFile {
  const abs = resolve(path);
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch {
    throw new DroverError('DROVER_E_INVALID', `cannot read ${path}`, { fix: 'pass an existing clusters file, or no file for the shipped example' });
  }
  const documents: unknown[] = [];
  const localClusters: Cluster[] = [];
  let index = 0;
  for (const d of parseAllDocuments(text)) {
    index++;
    if (d.errors.length > 0) {
      throw new DroverError('DROVER_E_INVALID', `${path} document ${index}: invalid YAML: ${d.errors[0]?.message.split('\n')[0] ?? ''}`, { fix: 'correct the YAML syntax' });
    }
    const raw: unknown = d.toJS();
    if (raw === null || raw === undefined) continue;
    const doc = resolveDocumentPaths(raw, dirname(abs));
    try {
      const { resource } = validateResource(doc);
      if (resource.kind === 'Cluster' && (resource as Cluster).spec.provider === 'local') localClusters.push(resource as Cluster);
    } catch (e) {
      if (isDroverError(e)) throw new DroverError(e.code, `${path} document ${index}: ${e.message}`, { ...(e.field ? { field: e.field } : {}), ...(e.fix ? { fix: e.fix } : {}) });
      throw e;
    }
    documents.push(doc);
  }
  return { path: abs, dir: dirname(abs), localClusters, documents };
}

/**
 * Applies documents of the up file, printing one line each. Only what the file changed since it was last
 * applied is written (`fileChangesOnly`): a restart of `drover up` does not undo what the control plane
 * changed meanwhile (a release's version, a cordon, a drain).
 */
export async function applyUpDocuments(store: Store, docs: readonly unknown[], out: (line: string) => void): Promise<void> {
  for (const doc of docs) {
    const r = await applyDocument(store, doc, { fileChangesOnly: true });
    out(`  ${r.object.kind.toLowerCase()}/${r.object.metadata.name} ${r.outcome}`);
  }
}
