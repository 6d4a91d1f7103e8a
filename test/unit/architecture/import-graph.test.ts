/**
 * The architecture of src/ as tests (docs/architecture.md, "Layers and what the architecture test checks"):
 *
 * 1. No import cycles between files of src/ (type-only imports included: a circle of types is a circle of
 *    ideas, and `import type` is the only form that leaves no runtime edge under verbatimModuleSyntax).
 * 2. Imports point down the layers (LAYERS below); folders of one layer may import each other.
 * 3. No file over MAX_LINES lines unless LONG_FILES says why.
 * 4. One conflict-retry implementation (src/store/mutate.ts): no other file tests for a store write
 *    conflict, except where CONFLICT_ALLOWED says why.
 * 5. One list/watch implementation (the Informer): no other file calls `.watch({…})` on a store, except
 *    where WATCH_ALLOWED says why.
 *
 * KNOWN_* lists hold what was still violated when this test was written, while other changes of the same
 * issue fix them. An entry that no longer occurs fails the test too, so the lists only shrink: delete it.
 * Imports are read with the TypeScript parser (no type checking): static imports and re-exports, and
 * `import('…')` calls.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const srcDir = join(root, 'src');

/**
 * Lowest first. A folder may import its own layer and every layer below, never one above.
 * Folders the rule does not name are placed by what they are:
 * - client (the Store over HTTP), lifecycle (cordon/drain/replace as store writes), drivers (ClusterDriver
 *   and its local and Kubernetes implementations), gitsource (pure ref matching), cloud (cloud adapters
 *   compiled from the traffic plan): library code beside runtime/release/scheduler/traffic/store.
 * - dataplanes (renders the edge's rules for HAProxy): a data plane, beside edge.
 * - errors (src/errors.ts): the bottom; everything may throw a catalogued error.
 */
const LAYERS: readonly (readonly string[])[] = [
  ['errors'],
  ['api'],
  ['runtime', 'release', 'scheduler', 'traffic', 'store', 'client', 'lifecycle', 'drivers', 'gitsource', 'cloud'],
  ['controllers', 'agent', 'edge', 'dataplanes'],
  ['server'],
  ['up'],
  ['cli'],
];

const MAX_LINES = 400;

/** Files allowed over MAX_LINES, each with the reason. */
const LONG_FILES: Record<string, string> = {
  'src/scheduler/assign-tenants.ts': 'one algorithm (bounded-load rendezvous assignment with its incremental pass), read and proved as a whole',
};

/** Files that may test for DROVER_E_CONFLICT besides src/store/mutate.ts, each with the reason. */
const CONFLICT_ALLOWED: Record<string, string> = {
  'src/store/mutate.ts': 'THE conflict-retry policy (mutate, mutateStatus, createOrUpdate, retryOnConflict)',
  'src/runtime/outcome.ts': 'names a conflict in a reconcile outcome; the retry is the work queue’s requeue, with backoff',
  'src/runtime/manager.ts': 'logs a conflict outcome at warn instead of error (it is retried by the requeue)',
  'src/drivers/driver.ts': 'a Kubernetes API 409 is a transient driver error (keeps the Prod’s last state); not a store write',
  'src/agent/agent.ts': 'a conflict on a status write marks the agent’s next pass to run (level-based, as a requeue); no loop',
};

/** Files that may call `.watch({…})` besides the informer, each with the reason. */
const WATCH_ALLOWED: Record<string, string> = {
  'src/runtime/informer.ts': 'THE list/watch implementation',
  'src/server/watch-stream.ts': 'serves the API’s watch over HTTP: the other side of the informer’s watch',
  'src/cli/commands/get.ts': '`get -w` prints one list and the raw event stream after it, as `kubectl get -w`: no cache, no re-list',
};
const isStoreBackend = (f: string) => f.startsWith('src/store/');

// ---- Known violations being fixed by the other changes of issue #13. Delete entries as they go. ----

/** Cycles, as the sorted files of each strongly connected component joined by ' ~ '. */
const KNOWN_CYCLES: readonly string[] = [];
/** Upward imports, as 'from -> to'. */
const KNOWN_UPWARD: readonly string[] = [];
/** Files over MAX_LINES that are being split. */
const KNOWN_LONG: readonly string[] = [];
/** Hand-written conflict retries. */
const KNOWN_CONFLICT: readonly string[] = [];
/** Own list/watch loops. */
const KNOWN_WATCH: readonly string[] = [];

// ---- Reading src/ ----

interface Imp {
  to: string;
  typeOnly: boolean;
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return listFiles(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

const rel = (abs: string) => relative(root, abs).split('\\').join('/');
const files = listFiles(srcDir).map(rel).sort();
const texts = new Map(files.map((f) => [f, readFileSync(join(root, f), 'utf8')]));

const parsed = new Map<string, ts.SourceFile>();
function sourceOf(file: string): ts.SourceFile {
  let sf = parsed.get(file);
  if (!sf) parsed.set(file, (sf = ts.createSourceFile(file, texts.get(file)!, ts.ScriptTarget.Latest, true)));
  return sf;
}

function importsOf(file: string): Imp[] {
  const sf = sourceOf(file);
  const out: Imp[] = [];
  const add = (spec: string, typeOnly: boolean) => {
    if (!spec.startsWith('.')) return; // packages and node: builtins
    const target = rel(resolve(root, dirname(file), spec)).replace(/\.js$/, '.ts');
    out.push({ to: texts.has(target) ? target : texts.has(`${target}/index.ts`) ? `${target}/index.ts` : target, typeOnly });
  };
  const visit = (n: ts.Node) => {
    if (ts.isImportDeclaration(n) && ts.isStringLiteral(n.moduleSpecifier)) add(n.moduleSpecifier.text, n.importClause?.isTypeOnly ?? false);
    else if (ts.isExportDeclaration(n) && n.moduleSpecifier && ts.isStringLiteral(n.moduleSpecifier)) add(n.moduleSpecifier.text, n.isTypeOnly);
    else if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.ImportKeyword && n.arguments[0] && ts.isStringLiteral(n.arguments[0])) add(n.arguments[0].text, false);
    else if (ts.isImportTypeNode(n) && ts.isLiteralTypeNode(n.argument) && ts.isStringLiteral(n.argument.literal)) add(n.argument.literal.text, true);
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

const graph = new Map(files.map((f) => [f, importsOf(f)]));

/** `src/errors.ts` → 'errors'; `src/edge/edge.ts` → 'edge'. */
function folderOf(file: string): string {
  const parts = file.split('/');
  return parts.length === 2 ? parts[1]!.replace(/\.ts$/, '') : parts[1]!;
}
const layerOf = (folder: string) => LAYERS.findIndex((l) => l.includes(folder));

/** Strongly connected components of more than one file (or a file importing itself), Tarjan's algorithm. */
function cycles(): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const strong = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const { to: w } of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!idx.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = [];
      for (let w = stack.pop()!; ; w = stack.pop()!) {
        onStack.delete(w);
        comp.push(w);
        if (w === v) break;
      }
      if (comp.length > 1 || graph.get(v)!.some((i) => i.to === v)) out.push(comp.sort());
    }
  };
  for (const f of files) if (!idx.has(f)) strong(f);
  return out;
}

/** Whether some node of the file satisfies `pred` (comments are not nodes, so a doc comment never counts). */
function hasNode(file: string, pred: (n: ts.Node) => boolean): boolean {
  const visit = (n: ts.Node): boolean => pred(n) || (ts.forEachChild(n, visit) ?? false);
  return visit(sourceOf(file));
}

/** `isDroverError(e, 'DROVER_E_CONFLICT')`, `x.code === 'DROVER_E_CONFLICT'`, `isWriteConflict(e)`, `isConflict(e)`. */
function testsForConflict(n: ts.Node): boolean {
  if (ts.isCallExpression(n)) {
    const callee = ts.isIdentifier(n.expression) ? n.expression.text : ts.isPropertyAccessExpression(n.expression) ? n.expression.name.text : '';
    if (callee === 'isWriteConflict' || callee === 'isConflict') return true;
    if (callee === 'isDroverError') return n.arguments.some((a) => ts.isStringLiteral(a) && a.text === 'DROVER_E_CONFLICT');
  }
  if (ts.isBinaryExpression(n) && [ts.SyntaxKind.EqualsEqualsEqualsToken, ts.SyntaxKind.EqualsEqualsToken].includes(n.operatorToken.kind)) {
    return [n.left, n.right].some((x) => ts.isStringLiteral(x) && x.text === 'DROVER_E_CONFLICT');
  }
  return false;
}

/** `<anything>.watch({ … })`: the Store's watch (and the informer's) take an options object. */
function callsWatch(n: ts.Node): boolean {
  return ts.isCallExpression(n) && ts.isPropertyAccessExpression(n.expression) && n.expression.name.text === 'watch' && n.arguments[0] !== undefined && ts.isObjectLiteralExpression(n.arguments[0]);
}

/** The part of `found` not in `known`, and the part of `known` no longer found. */
function compare(found: readonly string[], known: readonly string[]): { added: string[]; stale: string[] } {
  return { added: found.filter((x) => !known.includes(x)), stale: known.filter((x) => !found.includes(x)) };
}

function assertOnlyKnown(what: string, found: string[], known: readonly string[], fix: string): void {
  const { added, stale } = compare([...new Set(found)].sort(), known);
  assert.deepEqual(added, [], `${what}:\n  ${added.join('\n  ')}\n${fix}`);
  assert.deepEqual(stale, [], `fixed, so delete from the known-violations list of this test:\n  ${stale.join('\n  ')}`);
}

describe('architecture of src/', () => {
  it('reads every file and finds imports (the test would pass vacuously otherwise)', () => {
    assert.ok(files.length > 100, `only ${files.length} files under src/`);
    assert.ok(files.every((f) => graph.has(f)));
    assert.ok(graph.get('src/store/mutate.ts')!.some((i) => i.to === 'src/store/store.ts' && i.typeOnly));
    assert.ok(graph.get('src/store/mutate.ts')!.some((i) => i.to === 'src/errors.ts' && !i.typeOnly));
  });

  it('puts every folder of src/ in a layer', () => {
    const unplaced = [...new Set(files.map(folderOf))].filter((f) => layerOf(f) < 0);
    assert.deepEqual(unplaced, [], `add these folders to LAYERS in this test and to docs/architecture.md: ${unplaced.join(', ')}`);
  });

  it('has no import cycles', () => {
    assertOnlyKnown(
      'import cycles (files that import each other, directly or around a circle)',
      cycles().map((c) => c.join(' ~ ')),
      KNOWN_CYCLES,
      'break the circle: move what both sides need into a module below both',
    );
  });

  it('imports only point down the layers', () => {
    const upward: string[] = [];
    for (const [from, imps] of graph) {
      for (const i of imps) {
        if (!i.to.startsWith('src/')) continue;
        const a = layerOf(folderOf(from));
        const b = layerOf(folderOf(i.to));
        if (a >= 0 && b > a) upward.push(`${from} -> ${i.to}`);
      }
    }
    assertOnlyKnown(
      'imports from a lower layer to a higher one',
      upward,
      KNOWN_UPWARD,
      `layers, lowest first: ${LAYERS.map((l) => l.join('/')).join(' → ')}; move the shared code down (a pure module the upper layer imports)`,
    );
  });

  it(`has no file over ${MAX_LINES} lines without a reason`, () => {
    const long = files.filter((f) => !(f in LONG_FILES) && texts.get(f)!.split('\n').length - 1 > MAX_LINES);
    assertOnlyKnown(`files over ${MAX_LINES} lines`, long, KNOWN_LONG, 'split the file by job, or add it to LONG_FILES with the reason');
    for (const f of Object.keys(LONG_FILES)) assert.ok(texts.has(f), `LONG_FILES names ${f}, which does not exist`);
  });

  it('retries write conflicts in one place (src/store/mutate.ts)', () => {
    const handlers = files.filter((f) => !(f in CONFLICT_ALLOWED) && hasNode(f, testsForConflict));
    assertOnlyKnown(
      'files that test for a write conflict (a hand-written compare-and-swap retry)',
      handlers,
      KNOWN_CONFLICT,
      'write through mutate/mutateStatus/createOrUpdate (src/store/mutate.ts), or let the reconciler requeue',
    );
    assert.ok(hasNode('src/store/mutate.ts', testsForConflict), 'the detector no longer recognises mutate.ts itself');
  });

  it('has one list/watch loop (the informer)', () => {
    const watchers = files.filter((f) => !(f in WATCH_ALLOWED) && !isStoreBackend(f) && hasNode(f, callsWatch));
    assertOnlyKnown(
      'files that run their own store watch',
      watchers,
      KNOWN_WATCH,
      'read through an Informer (shared per kind: list, watch, re-list on 410, backoff, cache) or ctx.cache',
    );
  });
});
