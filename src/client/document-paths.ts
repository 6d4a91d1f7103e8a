/**
 * Relative paths in a document mean "relative to the file that declared it", whoever applies the file
 * from wherever: `args: [app/server.mjs]` in examples/drover-up.yaml is examples/app/server.mjs, whether
 * `drover up`, `drover apply -f examples/drover-up.yaml` from the repo root, or an agent started by hand in
 * another directory runs it. So they are made absolute when the file is read, and stored absolute.
 *
 * What counts as a path: a Fleet's `spec.app.command` when it contains a slash (as a shell treats
 * `./bin/app` but not `node`), and each of its `spec.app.args` that names an existing file or directory
 * next to the document (`server.js` that does not exist there stays the word it is; flags stay flags).
 */
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';

type Dict = Record<string, unknown>;

const isDict = (v: unknown): v is Dict => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The document with its relative paths resolved against `baseDir`; the input is not modified. */
export function resolveDocumentPaths(doc: unknown, baseDir: string): unknown {
  if (!isDict(doc) || doc.kind !== 'Fleet' || !isDict(doc.spec) || !isDict(doc.spec.app)) return doc;
  const app = doc.spec.app;
  const next: Dict = { ...app };
  if (typeof app.command === 'string' && app.command.includes('/') && !isAbsolute(app.command)) next.command = resolve(baseDir, app.command);
  if (Array.isArray(app.args)) {
    next.args = app.args.map((a: unknown) => (typeof a === 'string' && isRelativeFile(a, baseDir) ? resolve(baseDir, a) : a));
  }
  return { ...doc, spec: { ...doc.spec, app: next } };
}

function isRelativeFile(arg: string, baseDir: string): boolean {
  if (arg === '' || arg.startsWith('-') || isAbsolute(arg) || arg.includes('=')) return false;
  return existsSync(resolve(baseDir, arg));
}
