/**
 * The API server under hostile requests: what used to answer 500 (a 23-digit resourceVersion, bad
 * percent-encoding, a 100k-deep merge patch) answers 400/401 with a catalogued code and no stack trace; a
 * watch from a future revision is refused; a too-large document reaches the client as the catalogued 413
 * (never as a connection error); and a little fuzzing of paths, query strings and bodies finds no 500.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { RemoteStore } from '../../../src/client/remote-store.js';
import { isDroverError } from '../../../src/errors.js';
import { startApiServer, type ApiServer } from '../../../src/server/api-server.js';
import { openStore } from '../../../src/store/open-store.js';
import type { Store } from '../../../src/store/store.js';
import { tempDir } from './harness.js';

const TOKEN = 'admin-token-for-tests';
const auth = { authorization: `Bearer ${TOKEN}` };
const fleet = (name: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'drover.dev/v1alpha1',
  kind: 'Fleet',
  metadata: { name, ...extra },
  spec: { version: 'v1', app: { command: 'node' } },
});

interface Reply {
  status: number;
  text: string;
}

/** One request over a raw socket: any bytes as the request target, which fetch would normalise or refuse. */
function raw(url: string, method: string, target: string, headers: Record<string, string>, body?: string): Promise<Reply> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const s = net.connect(Number(u.port), u.hostname);
    let text = '';
    s.setEncoding('latin1');
    s.on('data', (d: string) => (text += d));
    s.on('error', reject);
    s.on('close', () => {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? NaN);
      resolve({ status, text: text.slice(text.indexOf('\r\n\r\n') + 4) });
    });
    const h = Object.entries({ host: 'drover.test', connection: 'close', ...headers, ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}) })
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('');
    s.write(`${method} ${target} HTTP/1.1\r\n${h}\r\n`);
    if (body !== undefined) s.write(body);
  });
}

function assertCatalogued(r: Reply, status: number, code: string): void {
  assert.equal(r.status, status, r.text);
  const body = JSON.parse(r.text) as { code: string; message: string };
  assert.equal(body.code, code);
  assert.doesNotMatch(r.text, /\bat .+:\d+:\d+|node:internal|\.ts:\d+/, 'no stack trace in the answer');
}

for (const backend of ['sqlite', 'memory'] as const) {
  describe(`API server under hostile requests (${backend})`, () => {
    let store: Store;
    let server: ApiServer;
    let url: string;

    before(async () => {
      store = await openStore({ backend, dataDir: tempDir() });
      server = await startApiServer({ store, listen: '127.0.0.1:0', tokens: [{ token: TOKEN, role: 'admin' }], processMetrics: false, log: () => {} });
      url = server.url;
      const r = await fetch(`${url}/api/v1/fleets`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(fleet('f1')) });
      assert.equal(r.status, 201);
    });
    after(async () => {
      await server.close({ graceMs: 100 });
      await store.close();
    });

    it('a 23-digit or future resourceVersion on a watch is refused with 400, not 500 or silence', async () => {
      for (const rv of ['12345678901234567890123', '999999']) {
        const r = await raw(url, 'GET', `/api/v1/fleets?watch=true&resourceVersion=${rv}`, auth);
        assertCatalogued(r, 400, 'DROVER_E_RESOURCE_VERSION_TOO_LARGE');
      }
      const all = await raw(url, 'GET', '/api/v1/watch?resourceVersion=12345678901234567890123', auth);
      assertCatalogued(all, 400, 'DROVER_E_RESOURCE_VERSION_TOO_LARGE');
    });

    it('bad percent-encoding: 401 without a token (before any parsing), 400 with one', async () => {
      assertCatalogued(await raw(url, 'GET', '/api/v1/fleets/%', {}), 401, 'DROVER_E_UNAUTHORIZED');
      assertCatalogued(await raw(url, 'GET', '/api/v1/%zz/x', {}), 401, 'DROVER_E_UNAUTHORIZED');
      assertCatalogued(await raw(url, 'GET', '/api/v1/fleets/%', auth), 400, 'DROVER_E_BAD_REQUEST');
      assertCatalogued(await raw(url, 'GET', '/api/v1/fleets/%E0%A4%A', auth), 400, 'DROVER_E_BAD_REQUEST');
      // Probes stay open to anyone.
      assert.equal((await raw(url, 'GET', '/healthz', {})).status, 200);
    });

    it('a 100k-deep merge patch or body is refused with 400', async () => {
      const deep = '{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000);
      assertCatalogued(await raw(url, 'PATCH', '/api/v1/fleets/f1', { ...auth, 'content-type': 'application/merge-patch+json' }, deep), 400, 'DROVER_E_BAD_REQUEST');
      assertCatalogued(await raw(url, 'POST', '/api/v1/fleets', { ...auth, 'content-type': 'application/json' }, `{"kind":"Fleet","spec":${deep}}`), 400, 'DROVER_E_BAD_REQUEST');
      const arrays = '['.repeat(50_000) + ']'.repeat(50_000);
      assertCatalogued(await raw(url, 'PATCH', '/api/v1/fleets/f1', { ...auth, 'content-type': 'application/merge-patch+json' }, `{"spec":${arrays}}`), 400, 'DROVER_E_BAD_REQUEST');
      // Brackets inside strings are not nesting.
      const r = await fetch(`${url}/api/v1/fleets/f1`, { method: 'PATCH', headers: { ...auth, 'content-type': 'application/merge-patch+json' }, body: JSON.stringify({ metadata: { annotations: { x: '{'.repeat(1000) } } }) });
      assert.equal(r.status, 200);
    });

    it('fuzzed paths, query strings and bodies never answer 500', async () => {
      const segment = fc.oneof(
        fc.constantFrom('api', 'v1', 'fleets', 'prods', 'tenants', 'status', 'watch', '%', '%zz', '%00', '%E0%A4%A', '..', '.', '', 'f1'),
        fc.stringMatching(/^[!-~]{0,12}$/).map((s) => s.replace(/[?#]/g, '')),
      );
      const path = fc.array(segment, { minLength: 0, maxLength: 6 }).map((parts) => `/${parts.join('/')}`);
      const query = fc.oneof(
        fc.constant(''),
        fc
          .array(
            fc.tuple(
              fc.constantFrom('watch', 'resourceVersion', 'labelSelector', 'name', 'involvedObject', 'x'),
              fc.oneof(fc.constantFrom('true', '1', '0', '99999999999999999999999', '-1', '%', 'a in (', 'a=b,c!=d', ''), fc.stringMatching(/^[!-~]{0,10}$/)),
            ),
            { maxLength: 3 },
          )
          .map((kv) => `?${kv.map(([k, v]) => `${k}=${v.replace(/[#\s]/g, '')}`).join('&')}`),
      );
      const body = fc.oneof(
        fc.constant(undefined),
        fc.json({ maxDepth: 4 }),
        fc.string({ maxLength: 40 }),
        fc.constant('{"kind":"Fleet","metadata":{"name":"f1","resourceVersion":"12345678901234567890123"},"spec":{}}'),
      );
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE'),
          fc.oneof(fc.constant('/api/v1/fleets'), fc.constant('/api/v1/fleets/f1'), path),
          query,
          body,
          fc.boolean(),
          fc.constantFrom('application/json', 'application/merge-patch+json', 'text/plain'),
          async (method, p, q, b, withToken, type) => {
            // Never delete the fixture: the interesting answers need it there.
            if (method === 'DELETE' && p === '/api/v1/fleets/f1') return;
            // A watch that is accepted streams until closed: read only its head.
            const target = `${p}${q}`;
            const r = await Promise.race([
              raw(url, method, target, { ...(withToken ? auth : {}), 'content-type': type }, b),
              new Promise<Reply>((resolve) => setTimeout(() => resolve({ status: 0, text: '' }), 2000)),
            ]);
            assert.notEqual(r.status, 500, `${method} ${target} ${b ?? ''} → 500 ${r.text}`);
            if (r.status >= 400) assert.doesNotMatch(r.text, /node:internal|\.ts:\d+/);
          },
        ),
        { numRuns: 300, seed: process.env.PROPERTY_SEED === 'random' ? undefined : 11 },
      );
    });
  });
}

describe('a too-large document', () => {
  it('reaches the client as the catalogued 413 with the limit, every time', async () => {
    const store = await openStore({ backend: 'memory' });
    const server = await startApiServer({ store, listen: '127.0.0.1:0', tokens: [{ token: TOKEN, role: 'admin' }], processMetrics: false, log: () => {} });
    const rs = new RemoteStore({ server: server.url, token: TOKEN });
    try {
      const big = fleet('big', { annotations: { x: 'y'.repeat(5 * 1024 * 1024) } });
      for (let i = 0; i < 10; i++) {
        await assert.rejects(rs.create(big as never), (e: unknown) => {
          assert.ok(isDroverError(e, 'DROVER_E_TOO_LARGE'), `attempt ${i}: ${String(e)}`);
          assert.match(e.message, /document too large/);
          assert.match(e.message, /1048576 bytes/);
          assert.match(e.fix ?? '', /--body-limit/);
          return true;
        });
      }
      // The connection survived the refusals: a normal write right after works.
      await rs.create(fleet('small') as never);
    } finally {
      await rs.close();
      await server.close({ graceMs: 100 });
      await store.close();
    }
  });

  it('is reported as too large when the server cuts the connection while the body is still being sent', async () => {
    // A server that resets any large upload before answering (as a proxy in front of Drover might), and
    // advertises its limit in discovery like Drover's.
    const srv = http.createServer((req, res) => {
      if (req.method === 'GET' && req.url === '/api/v1') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ metadata: { resourceVersion: '1' }, limits: { bodyBytes: 1000 } }));
        return;
      }
      req.socket.resetAndDestroy();
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const rs = new RemoteStore({ server: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`, token: TOKEN });
    try {
      await assert.rejects(rs.create(fleet('big', { annotations: { x: 'y'.repeat(2 * 1024 * 1024) } }) as never), (e: unknown) => {
        assert.ok(isDroverError(e, 'DROVER_E_TOO_LARGE'), String(e));
        assert.match(e.message, /limit of 1000 bytes/);
        return true;
      });
    } finally {
      await rs.close();
      srv.closeAllConnections();
      await new Promise<void>((r) => srv.close(() => r()));
    }
  });
});
