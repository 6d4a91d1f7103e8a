/**
 * Start-up cost (issue 19 item 1): a command loads only what it uses. Each case runs `bin/drover.js` (the
 * compiled dist, as users run it) under a resolve hook that records every module URL it imports, and
 * fails when a command module pulls in the server, the controllers, the edge, the drivers, the
 * scheduler, `drover up`'s supervisor, etcd3, @kubernetes/client-node or prom-client at load time.
 * `get`, `describe` and `delete` resolve kind names without the schemas (zod) and reach the server
 * through undici's Agent and request only, never its index (fetch, WebSocket, caches, mocks).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { startApiServer } from '../../../src/server/api-server.js';
import { MemoryStore } from '../../../src/store/memory/memory-store.js';
import { cluster } from '../../helpers/fixtures.js';

const root = resolve(import.meta.dirname, '../../..');
const bin = join(root, 'bin', 'drover.js');
// `node --import <hook>`: a resolve hook (on the loader thread) appending each module URL, once, to the file
// named by DROVER_IMPORT_LOG. Inline data: modules, so that plain node runs them (no TypeScript loader).
const hooks = `import { appendFileSync } from 'node:fs';
const seen = new Set();
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  const log = process.env.DROVER_IMPORT_LOG;
  if (log && !seen.has(r.url)) { seen.add(r.url); appendFileSync(log, r.url + '\\n'); }
  return r;
}`;
const dataUrl = (src: string) => `data:text/javascript,${encodeURIComponent(src)}`;
const hook = dataUrl(`import { register } from 'node:module'; register(${JSON.stringify(dataUrl(hooks))});`);

const ADMIN = 'admin-token-123456';

const heavy: [string, RegExp][] = [
  ['the server', /\/dist\/server\//],
  ['the controllers', /\/dist\/controllers\//],
  ['the edge', /\/dist\/(edge|dataplanes)\//],
  ['the drivers', /\/dist\/drivers\//],
  ['the scheduler', /\/dist\/scheduler\//],
  ["up's supervisor", /\/dist\/up\//],
  ['etcd3', /\/node_modules\/etcd3\//],
  ['@kubernetes/client-node', /\/node_modules\/@kubernetes\/client-node\//],
  ['prom-client', /\/node_modules\/prom-client\//],
];

function importsOf(args: string[]): { urls: string[]; status: number | null; stdout: string } {
  assert.ok(existsSync(join(root, 'dist', 'cli', 'main.js')), 'dist/ is missing: build first with `npx tsc -p tsconfig.build.json`');
  const log = join(mkdtempSync(join(tmpdir(), 'drover-imports-')), 'imports.log');
  const r = spawnSync(process.execPath, ['--import', hook, bin, ...args], {
    env: { ...process.env, DROVER_IMPORT_LOG: log, DROVER_CONFIG: join(tmpdir(), 'drover-no-config.yaml') },
    encoding: 'utf8',
    timeout: 30_000,
  });
  const urls = existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : [];
  return { urls, status: r.status, stdout: r.stdout };
}

/** As importsOf, without blocking the event loop (the test's own API server must answer). */
async function importsOfAsync(args: string[]): Promise<{ urls: string[]; status: number | null; stdout: string; stderr: string }> {
  const log = join(mkdtempSync(join(tmpdir(), 'drover-imports-')), 'imports.log');
  const child = spawn(process.execPath, ['--import', hook, bin, ...args], {
    env: { ...process.env, DROVER_IMPORT_LOG: log, DROVER_CONFIG: join(tmpdir(), 'drover-no-config.yaml') },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const status = await new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  const urls = existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : [];
  return { urls, status, stdout, stderr };
}

/** The schemas (zod, the registry, the kinds) and undici's index: none of them is needed to read objects. */
function schemasOrFullHttpClient(urls: readonly string[]): string[] {
  return urls.filter((u) => /\/node_modules\/(zod|undici)\//.test(u) || /\/dist\/api\/(registry|validate|meta|resource)\.js$|\/dist\/api\/kinds\//.test(u));
}

function heavyIn(urls: readonly string[]): string[] {
  return heavy.flatMap(([what, re]) => urls.filter((u) => re.test(u)).map((u) => `${what}: ${u}`));
}

describe('CLI start-up loads only what the command uses', () => {
  it('the recorder sees what a program imports (so that the cases below can fail)', () => {
    const { urls } = importsOf(['--server', 'http://127.0.0.1:1', 'edge', '--help']);
    assert.ok(urls.some((u) => u.endsWith('/dist/cli/commands/edge.js')), urls.join('\n'));
    const log = join(mkdtempSync(join(tmpdir(), 'drover-imports-')), 'x.log');
    const direct = spawnSync(process.execPath, ['--import', hook, '--input-type=module', '-e', `await import(${JSON.stringify(join(root, 'dist', 'scheduler', 'explain.js'))})`], {
      env: { ...process.env, DROVER_IMPORT_LOG: log },
      encoding: 'utf8',
    });
    assert.equal(direct.status, 0, direct.stderr);
    assert.deepEqual(heavyIn(readFileSync(log, 'utf8').split('\n').filter(Boolean)).slice(0, 1), [`the scheduler: file://${join(root, 'dist', 'scheduler', 'explain.js')}`]);
  });

  it('`drover version` loads its own command module and nothing heavy', () => {
    const { urls, status, stdout } = importsOf(['version']);
    assert.equal(status, 0);
    assert.match(stdout, /^drover \d+\.\d+\.\d+/);
    assert.deepEqual(heavyIn(urls), []);
    const commands = urls.filter((u) => /\/dist\/cli\/commands\/(?!index|group)/.test(u)).map((u) => u.replace(/.*\/commands\//, ''));
    assert.deepEqual(commands, ['version.js']);
    // Not even the API schemas (zod) nor the HTTP client.
    assert.deepEqual(urls.filter((u) => /\/node_modules\/(zod|undici|yaml)\//.test(u) || /\/dist\/api\//.test(u)), []);
  });

  it('`drover get --help` and `drover get clusters` load no server, driver, scheduler or heavy client', () => {
    const help = importsOf(['get', '--help']);
    assert.equal(help.status, 0);
    assert.deepEqual(heavyIn(help.urls), []);
    // Against a port nobody listens on: the command runs as far as its request.
    const get = importsOf(['--server', 'http://127.0.0.1:1', 'get', 'clusters']);
    assert.equal(get.status, 1);
    assert.ok(get.urls.some((u) => u.endsWith('/dist/client/remote-store.js')), 'get reached the client');
    assert.deepEqual(heavyIn(get.urls), []);
    // Printing "cannot reach" loads no schemas either.
    assert.deepEqual(schemasOrFullHttpClient(get.urls), []);
  });

  it('`drover get clusters`, `describe` and `delete` against a server load neither zod nor undici\'s index', async () => {
    const mem = new MemoryStore();
    const api = await startApiServer({ store: mem, listen: '127.0.0.1:0', tokens: [{ token: ADMIN, role: 'admin' }], processMetrics: false });
    try {
      await mem.create(cluster('east'));
      const get = await importsOfAsync(['--server', api.url, '--token', ADMIN, 'get', 'clusters']);
      assert.equal(get.status, 0, get.stderr);
      assert.match(get.stdout, /^NAME\b[^\n]*\neast\b/);
      assert.ok(get.urls.some((u) => u.endsWith('/dist/cli/format/render.js')), 'get printed through the table formatter');
      assert.deepEqual(schemasOrFullHttpClient(get.urls), []);

      const desc = await importsOfAsync(['--server', api.url, '--token', ADMIN, 'describe', 'cl', 'east']);
      assert.equal(desc.status, 0, desc.stderr);
      assert.match(desc.stdout, /east/);
      assert.deepEqual(schemasOrFullHttpClient(desc.urls), []);

      const del = await importsOfAsync(['--server', api.url, '--token', ADMIN, 'delete', 'cluster', 'east']);
      assert.equal(del.status, 0, del.stderr);
      assert.equal(await mem.get('Cluster', 'east'), undefined);
      assert.deepEqual(schemasOrFullHttpClient(del.urls), []);
    } finally {
      await api.close();
      await mem.close();
    }
  });

  it('loading every command module (`drover --help`) pulls in nothing heavy', () => {
    const { urls, status } = importsOf(['--help']);
    assert.equal(status, 0);
    assert.ok(urls.filter((u) => u.includes('/dist/cli/commands/')).length >= 15, 'every command module was loaded');
    assert.deepEqual(heavyIn(urls), []);
  });
});
