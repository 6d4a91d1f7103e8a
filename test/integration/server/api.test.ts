import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../../helpers/wait-for.js';
import { startServer, type ServerProcess } from './harness.js';

const fleet = (name: string, extra: { labels?: Record<string, string>; spec?: Record<string, unknown>; resourceVersion?: string } = {}) => ({
  apiVersion: 'drover.dev/v1alpha1',
  kind: 'Fleet',
  metadata: { name, labels: extra.labels ?? {}, ...(extra.resourceVersion ? { resourceVersion: extra.resourceVersion } : {}) },
  spec: { version: 'v1', app: { command: 'node' }, ...extra.spec },
});

interface Obj {
  kind: string;
  metadata: { name: string; resourceVersion: string; generation: number; labels: Record<string, string>; annotations: Record<string, string> };
  spec: Record<string, unknown>;
  status?: Record<string, unknown>;
}
interface ErrBody {
  code: string;
  message: string;
  field?: string;
  fix?: string;
}

/** Reads NDJSON lines from a streamed response. */
class LineReader {
  private buf = '';
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private readonly dec = new TextDecoder();
  constructor(res: Response) {
    this.reader = res.body!.getReader();
  }
  /** The next line, or undefined when the stream ended. */
  async next(timeoutMs = 5000): Promise<string | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const nl = this.buf.indexOf('\n');
      if (nl >= 0) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        if (line.trim() !== '') return line;
        continue;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('no line within the deadline');
      let timer: NodeJS.Timeout | undefined;
      const r = await Promise.race([
        this.reader.read(),
        new Promise<never>((_, rej) => (timer = setTimeout(() => rej(new Error('no data within the deadline')), left))),
      ]).finally(() => clearTimeout(timer));
      if (r.done) return undefined;
      this.buf += this.dec.decode(r.value, { stream: true });
    }
  }
  async nextEvent(timeoutMs?: number): Promise<{ type: string; object: Obj }> {
    const l = await this.next(timeoutMs);
    assert.ok(l !== undefined, 'stream ended');
    return JSON.parse(l) as { type: string; object: Obj };
  }
  /** Next non-BOOKMARK event. */
  async nextChange(): Promise<{ type: string; object: Obj }> {
    for (;;) {
      const e = await this.nextEvent();
      if (e.type !== 'BOOKMARK') return e;
    }
  }
  async cancel(): Promise<void> {
    await this.reader.cancel().catch(() => {});
  }
}

describe('API server over HTTP', () => {
  let s: ServerProcess;
  const call = async (method: string, path: string, body?: unknown, opts: { token?: string | null; type?: string; raw?: string } = {}) => {
    const headers: Record<string, string> = {};
    const token = opts.token === undefined ? s.adminToken : opts.token;
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined || opts.raw !== undefined) headers['content-type'] = opts.type ?? 'application/json';
    const res = await fetch(`${s.url}${path}`, { method, headers, body: opts.raw ?? (body === undefined ? undefined : JSON.stringify(body)) });
    const text = await res.text();
    return { status: res.status, body: (text.startsWith('{') ? JSON.parse(text) : text) as unknown };
  };

  before(async () => {
    s = await startServer({ args: ['--no-controllers', '--history-size', '5', '--watch-heartbeat', '200'] });
  });
  after(async () => {
    await s?.stop('SIGKILL');
  });

  it('answers probes and metrics without a token', async () => {
    assert.equal((await call('GET', '/healthz', undefined, { token: null })).status, 200);
    assert.equal((await call('GET', '/readyz', undefined, { token: null })).status, 200);
    const m = await call('GET', '/metrics', undefined, { token: null });
    assert.equal(m.status, 200);
    assert.match(m.body as string, /drover_api_requests_total\{method="GET",route="\/readyz",code="200"\} 1/);
    assert.match(m.body as string, /drover_api_watchers 0/);
  });

  it('needs a token (401) and an admin token to write (403)', async () => {
    const none = await call('GET', '/api/v1/fleets', undefined, { token: null });
    assert.equal(none.status, 401);
    assert.equal((none.body as ErrBody).code, 'DROVER_E_UNAUTHORIZED');
    assert.equal((await call('GET', '/api/v1/fleets', undefined, { token: 'not-a-real-token' })).status, 401);
    assert.ok(s.readonlyToken);
    assert.equal((await call('GET', '/api/v1/fleets', undefined, { token: s.readonlyToken })).status, 200);
    const ro = await call('POST', '/api/v1/fleets', fleet('ro'), { token: s.readonlyToken });
    assert.equal(ro.status, 403);
    assert.deepEqual(ro.body, { code: 'DROVER_E_FORBIDDEN', message: 'a read-only token cannot create fleets', fix: 'use an admin token' });
    assert.equal((await call('GET', '/api/v1/fleets/ro')).status, 404);
  });

  it('refuses a body over the limit with 413', async () => {
    const big = JSON.stringify({ ...fleet('big'), spec: { version: 'v1', app: { command: 'x'.repeat(2 * 1024 * 1024) } } });
    const r = await call('POST', '/api/v1/fleets', undefined, { raw: big });
    assert.equal(r.status, 413);
    assert.equal((r.body as ErrBody).code, 'DROVER_E_TOO_LARGE');
    assert.equal((await call('GET', '/api/v1/fleets/big')).status, 404);
  });

  it('validates every write: 400 with field and fix, nothing stored', async () => {
    const typo = await call('POST', '/api/v1/fleets', fleet('typo', { spec: { prodz: 3 } }));
    assert.equal(typo.status, 400);
    assert.deepEqual(typo.body, { code: 'DROVER_E_INVALID', message: 'unknown field "spec.prodz"', field: 'spec.prodz', fix: 'did you mean "spec.prods"?' });
    const wrongKind = await call('POST', '/api/v1/tenants', fleet('wk'));
    assert.equal(wrongKind.status, 400);
    assert.match((wrongKind.body as ErrBody).message, /the body is a Fleet but the URL is for tenants/);
    const notJson = await call('POST', '/api/v1/fleets', undefined, { raw: '{"kind":' });
    assert.equal(notJson.status, 400);
    assert.equal((notJson.body as ErrBody).code, 'DROVER_E_BAD_REQUEST');
    const unknownType = await call('GET', '/api/v1/flets');
    assert.equal(unknownType.status, 404);
    for (const n of ['typo', 'wk']) assert.equal((await call('GET', `/api/v1/fleets/${n}`)).status, 404);
  });

  it('creates, conflicts (409 with re-read-and-retry), replaces status, merge-patches and deletes', async () => {
    const created = await call('POST', '/api/v1/fleets', fleet('web', { labels: { app: 'web' } }));
    assert.equal(created.status, 201);
    const web = created.body as Obj;
    assert.equal(web.metadata.generation, 1);
    const dup = await call('POST', '/api/v1/fleets', fleet('web'));
    assert.equal(dup.status, 409);
    assert.equal((dup.body as ErrBody).code, 'DROVER_E_ALREADY_EXISTS');

    const upd = await call('PUT', '/api/v1/fleets/web', fleet('web', { labels: { app: 'web' }, spec: { prods: 4 }, resourceVersion: web.metadata.resourceVersion }));
    assert.equal(upd.status, 200);
    const stale = await call('PUT', '/api/v1/fleets/web', fleet('web', { spec: { prods: 5 }, resourceVersion: web.metadata.resourceVersion }));
    assert.equal(stale.status, 409);
    assert.equal((stale.body as ErrBody).code, 'DROVER_E_CONFLICT');
    assert.equal((stale.body as ErrBody).fix, 're-read the object, re-apply your change and retry');
    const renamed = await call('PUT', '/api/v1/fleets/web', fleet('other'));
    assert.equal(renamed.status, 400);
    assert.equal((renamed.body as ErrBody).field, 'metadata.name');

    const st = await call('PUT', '/api/v1/fleets/web/status', { ...(upd.body as Obj), status: { readyProds: 2 } });
    assert.equal(st.status, 200);
    assert.equal((st.body as Obj).status?.readyProds, 2);
    assert.equal((st.body as Obj).metadata.generation, 2);

    const ann = await call('PATCH', '/api/v1/fleets/web', { metadata: { annotations: { a: '1', b: '2' } } }, { type: 'application/merge-patch+json' });
    assert.equal(ann.status, 200);
    const p = await call('PATCH', '/api/v1/fleets/web', { metadata: { labels: { tier: 'front' }, annotations: { a: null } }, spec: { prods: 6 } }, { type: 'application/merge-patch+json' });
    assert.equal(p.status, 200);
    const patched = p.body as Obj;
    assert.deepEqual(patched.metadata.labels, { app: 'web', tier: 'front' });
    assert.deepEqual(patched.metadata.annotations, { b: '2' });
    assert.equal(patched.spec.prods, 6);
    assert.equal(patched.spec.version, 'v1');
    assert.equal(patched.status?.readyProds, 2);
    const badPatch = await call('PATCH', '/api/v1/fleets/web', { spec: { prods: 'x' } }, { type: 'application/merge-patch+json' });
    assert.equal(badPatch.status, 400);
    assert.equal((badPatch.body as ErrBody).field, 'spec.prods');
    assert.equal((await call('PATCH', '/api/v1/fleets/web', { spec: {} })).status, 415);
    const stalePatch = await call('PATCH', '/api/v1/fleets/web', { metadata: { resourceVersion: web.metadata.resourceVersion }, spec: { prods: 1 } }, { type: 'application/merge-patch+json' });
    assert.equal(stalePatch.status, 409);
  });

  it('lists with a label selector, kubectl-style', async () => {
    assert.equal((await call('POST', '/api/v1/fleets', fleet('api', { labels: { app: 'api' } }))).status, 201);
    const r = await call('GET', `/api/v1/fleets?labelSelector=${encodeURIComponent('app in (web,x),tier')}`);
    assert.equal(r.status, 200);
    const list = r.body as { apiVersion: string; kind: string; metadata: { resourceVersion: string }; items: Obj[] };
    assert.equal(list.kind, 'List');
    assert.equal(list.apiVersion, 'drover.dev/v1alpha1');
    assert.match(list.metadata.resourceVersion, /^\d+$/);
    assert.deepEqual(list.items.map((i) => i.metadata.name), ['web']);
    const bad = await call('GET', `/api/v1/fleets?labelSelector=${encodeURIComponent('a b c')}`);
    assert.equal(bad.status, 400);
    assert.equal((bad.body as ErrBody).field, 'labelSelector');
  });

  it('lists the events of one object', async () => {
    const ev = (name: string, objName: string, at: string) => ({
      apiVersion: 'drover.dev/v1alpha1',
      kind: 'Event',
      metadata: { name },
      spec: { involvedObject: { kind: 'Fleet', name: objName }, type: 'Normal', reason: 'Scaled', message: `m-${name}`, firstTimestamp: at, lastTimestamp: at },
    });
    for (const [n, o, t] of [['e2', 'web', '2026-01-02T00:00:00Z'], ['e1', 'web', '2026-01-01T00:00:00Z'], ['e3', 'api', '2026-01-01T00:00:00Z']] as const) {
      assert.equal((await call('POST', '/api/v1/events', ev(n, o, t))).status, 201);
    }
    assert.equal((await call('POST', '/api/v1/events', ev('e4', 'web', '2026-01-01T00:00:00Z'), { token: s.readonlyToken })).status, 403);
    const r = await call('GET', '/api/v1/events?involvedObject=Fleet/web');
    assert.deepEqual((r.body as { items: Obj[] }).items.map((i) => i.metadata.name), ['e1', 'e2']);
  });

  it('streams watch events from a resourceVersion as NDJSON, with heartbeats, and 410 for a compacted one', async () => {
    const start = ((await call('GET', '/api/v1/fleets')).body as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
    const res = await fetch(`${s.url}/api/v1/fleets?watch=true&resourceVersion=${start}`, { headers: { authorization: `Bearer ${s.adminToken}` } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/x-ndjson');
    const lines = new LineReader(res);
    try {
      // A quiet stream carries BOOKMARK heartbeats with the resourceVersion it has reached.
      const hb = await lines.nextEvent();
      assert.equal(hb.type, 'BOOKMARK');
      assert.equal(hb.object.metadata.resourceVersion, start);
      await waitFor('watchers gauge', async () => /drover_api_watchers 1/.test((await call('GET', '/metrics', undefined, { token: null })).body as string));

      assert.equal((await call('POST', '/api/v1/fleets', fleet('w1'))).status, 201);
      assert.equal((await call('PATCH', '/api/v1/fleets/w1', { spec: { prods: 1 } }, { type: 'application/merge-patch+json' })).status, 200);
      assert.equal((await call('DELETE', '/api/v1/fleets/w1')).status, 200);
      const seen = [await lines.nextChange(), await lines.nextChange(), await lines.nextChange()];
      assert.deepEqual(seen.map((e) => `${e.type} ${e.object.metadata.name}`), ['ADDED w1', 'MODIFIED w1', 'DELETED w1']);
      assert.ok(seen.every((e, i) => i === 0 || BigInt(e.object.metadata.resourceVersion) > BigInt(seen[i - 1]!.object.metadata.resourceVersion)));

      // Replay: a second watch from the same revision sees the same changes.
      const replay = await fetch(`${s.url}/api/v1/fleets?watch=true&resourceVersion=${start}`, { headers: { authorization: `Bearer ${s.adminToken}` } });
      const rl = new LineReader(replay);
      assert.deepEqual([(await rl.nextChange()).type, (await rl.nextChange()).type, (await rl.nextChange()).type], ['ADDED', 'MODIFIED', 'DELETED']);
      await rl.cancel();
    } finally {
      await lines.cancel();
    }
    // History keeps 5 changes: revision 1 is long compacted.
    const gone = await call('GET', '/api/v1/fleets?watch=true&resourceVersion=1');
    assert.equal(gone.status, 410);
    assert.equal((gone.body as ErrBody).code, 'DROVER_E_GONE');
    assert.match((gone.body as ErrBody).fix ?? '', /list again/);
  });

  it('shuts down gracefully on SIGTERM: ends watches, exits 0', async () => {
    const res = await fetch(`${s.url}/api/v1/watch`, { headers: { authorization: `Bearer ${s.adminToken}` } });
    assert.equal(res.status, 200);
    const lines = new LineReader(res);
    assert.equal((await lines.nextEvent()).type, 'BOOKMARK');
    const code = await s.stop('SIGTERM');
    assert.equal(code, 0);
    for (;;) {
      const l = await lines.next().catch(() => undefined);
      if (l === undefined) break;
    }
    assert.match(s.output(), /SIGTERM: shutting down\nstopped\n/);
  });
});
