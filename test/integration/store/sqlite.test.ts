import assert from 'node:assert/strict';
import type { AnyResource } from '../../../src/api/resource.js';
import { statSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { isDroverError } from '../../../src/errors.js';
import { openStore } from '../../../src/store/open-store.js';
import { SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import { collect, obj, rejectsWith, runStoreContract } from '../../store/contract.js';

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'drover-sqlite-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

let n = 0;
const freshDir = () => join(root, `s${++n}`);

runStoreContract('sqlite', async (opts = {}) => {
  const dataDir = freshDir();
  const store = await openStore({ backend: 'sqlite', dataDir, ...opts });
  return { store, cleanup: () => store.close() };
});

describe('SQLite store durability', () => {
  it('keeps objects, revisions and history across close and reopen', async () => {
    const dataDir = freshDir();
    let store = await openStore({ dataDir });
    const web = await store.create(obj('Fleet', 'web', { labels: { app: 'web' } }));
    const v2 = await store.update({ ...web, spec: { version: 'v2' } });
    await store.updateStatus({ ...v2, status: { phase: 'Ready' } });
    await store.create(obj('Prod', 'p1', { finalizers: ['drover.dev/x'] }));
    await store.delete('Prod', 'p1');
    const rev = await store.revision();
    const before = await store.get('Fleet', 'web');
    await store.close();

    store = await openStore({ dataDir });
    try {
      assert.equal(await store.revision(), rev);
      assert.deepEqual(await store.get('Fleet', 'web'), before);
      assert.ok((await store.get('Prod', 'p1'))?.metadata.deletionTimestamp, 'the finalizer still holds p1');
      assert.deepEqual(
        (await store.list('Fleet', { labelSelector: 'app=web' })).items.map((o) => o.metadata.name),
        ['web'],
      );
      // Revisions continue after the last one, never reuse it.
      const next = await store.create(obj('Fleet', 'api'));
      assert.equal(next.metadata.resourceVersion, (BigInt(rev) + 1n).toString());
      // Watch replay reaches back across the reopen, in order.
      const events = await collect(store, { resourceVersion: '0' }, (s) => s.length >= 6);
      assert.deepEqual(
        events.map((e) => `${e.type} ${e.object.kind}/${e.object.metadata.name} ${e.object.metadata.resourceVersion}`),
        ['ADDED Fleet/web 1', 'MODIFIED Fleet/web 2', 'MODIFIED Fleet/web 3', 'ADDED Prod/p1 4', 'MODIFIED Prod/p1 5', 'ADDED Fleet/api 6'],
      );
    } finally {
      await store.close();
    }
  });

  it('keeps the compaction mark across reopen', async () => {
    const dataDir = freshDir();
    let store = await openStore({ dataDir, historySize: 3 });
    for (let i = 0; i < 8; i++) await store.create(obj('Fleet', `f${i}`));
    await store.close();
    store = await openStore({ dataDir, historySize: 3 });
    try {
      await rejectsWith(collect(store, { resourceVersion: '4' }, () => false), 'DROVER_E_GONE');
      const tail = await collect(store, { resourceVersion: '5' }, (s) => s.length >= 3);
      assert.deepEqual(
        tail.map((e) => e.object.metadata.name),
        ['f5', 'f6', 'f7'],
      );
    } finally {
      await store.close();
    }
    const db = new Database(join(dataDir, 'drover.db'), { readonly: true });
    try {
      assert.equal(db.prepare<[], { c: number }>('SELECT count(*) AS c FROM changes').get()?.c, 3);
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    } finally {
      db.close();
    }
  });

  it('commits concurrent writes in groups and still acknowledges each one', async () => {
    const dataDir = freshDir();
    const store = new SqliteStore(`${dataDir}.db`);
    try {
      const results = await Promise.all(Array.from({ length: 200 }, (_, i) => store.create(obj('Prod', `p${i}`))));
      assert.deepEqual(
        results.map((o) => Number(o.metadata.resourceVersion)),
        Array.from({ length: 200 }, (_, i) => i + 1),
      );
      assert.equal(store.stats().commits < 200, true, `200 writes took ${store.stats().commits} commits`);
    } finally {
      await store.close();
    }
  });

  it('refuses a second opener of the same data dir while the first holds it', async () => {
    const dataDir = freshDir();
    const first = await openStore({ dataDir });
    try {
      await assert.rejects(openStore({ dataDir }), (e: unknown) => isDroverError(e, 'DROVER_E_UNAVAILABLE'));
    } finally {
      await first.close();
    }
    const again = await openStore({ dataDir });
    await again.close();
  });

  it('rejects writes after close', async () => {
    const store = await openStore({ dataDir: freshDir() });
    await store.close();
    await rejectsWith(store.create(obj('Fleet', 'late')), 'DROVER_E_UNAVAILABLE');
  });
});

describe('SQLite history bounded by size', () => {
  it("keeps the history under its byte budget however often a large object is rewritten, and the file near the objects' size", async () => {
    const dataDir = freshDir();
    await mkdir(dataDir, { recursive: true });
    const file = join(dataDir, 'drover.db');
    const budget = 2 * 2 ** 20;
    const store = new SqliteStore(file, { historyBytes: budget });
    try {
      // A 200 kB object rewritten 200 times: 40 MB of history under a count-only bound (100,000 changes).
      const big = 'x'.repeat(200_000);
      let cur = await store.create(obj('TrafficPlan', 'web', { spec: { big, n: 0 } }));
      for (let i = 1; i <= 200; i++) cur = await store.update({ ...cur, spec: { big, n: i } });
      // The newest changes replay; one from before the cut is answered 410 Gone.
      const rev = BigInt(await store.revision());
      const seen = await collect(store, { kind: 'TrafficPlan', resourceVersion: (rev - 1n).toString() }, (evs) => evs.length >= 1);
      assert.equal((seen[0]?.object.spec as { n: number }).n, 200);
      await rejectsWith(
        (async () => {
          for await (const _ of store.watch({ kind: 'TrafficPlan', resourceVersion: '1' })) break;
        })(),
        'DROVER_E_GONE',
      );
    } finally {
      await store.close();
    }
    const db = new Database(file, { readonly: true, fileMustExist: true });
    const row = db.prepare('SELECT count(*) AS c, sum(length(CAST(json AS BLOB))) AS b FROM changes').get() as { c: number; b: number };
    db.close();
    assert.ok(row.b <= budget, `history holds ${row.b} bytes, over the ${budget} budget`);
    assert.ok(row.c >= 2, 'recent changes are kept for watches');
    // The file: the object, the bounded history and SQLite's free pages — not 200 copies (40 MB).
    const size = statSync(file).size;
    assert.ok(size < 3 * budget, `database is ${size} bytes`);
    // Reopened, the store counts the history it holds and keeps bounding it.
    const again = new SqliteStore(file, { historyBytes: budget });
    try {
      let o = (await again.get<AnyResource>('TrafficPlan', 'web'))!;
      for (let i = 0; i < 20; i++) o = await again.update({ ...o, spec: { big: 'y'.repeat(200_000), n: i } });
    } finally {
      await again.close();
    }
    const db2 = new Database(file, { readonly: true, fileMustExist: true });
    const b2 = (db2.prepare('SELECT sum(length(CAST(json AS BLOB))) AS b FROM changes').get() as { b: number }).b;
    db2.close();
    assert.ok(b2 <= budget, `after reopen the history holds ${b2} bytes`);
  });
});

describe('SQLite history bounded by the objects\' size', () => {
  it('keeps at most the objects\' own JSON size of history (above the floor), so the database stays O(objects)', async () => {
    const dataDir = freshDir();
    await mkdir(dataDir, { recursive: true });
    const file = join(dataDir, 'drover.db');
    const floor = 64 * 1024;
    const historyBytes = () => {
      const db = new Database(file, { readonly: true, fileMustExist: true });
      try {
        return (db.prepare('SELECT sum(length(CAST(json AS BLOB))) AS b FROM changes').get() as { b: number }).b;
      } finally {
        db.close();
      }
    };
    // The byte cap (64 MiB) is far away: only the objects' size can bound this history.
    let store = new SqliteStore(file, { historyFloorBytes: floor });
    const pad = 'x'.repeat(2_000);
    try {
      // 20 objects of ~2 kB (~40 kB, under the floor), each rewritten 20 times: ~840 kB of changes.
      for (let i = 0; i < 20; i++) {
        let cur = await store.create(obj('Tenant', `t${i}`, { spec: { pad, n: 0 } }));
        for (let k = 1; k <= 20; k++) cur = await store.update({ ...cur, spec: { pad, n: k } });
      }
    } finally {
      await store.close();
    }
    const small = historyBytes();
    assert.ok(small <= floor, `history ${small} bytes over the ${floor}-byte floor while the objects are smaller`);
    // More objects (~400 kB): the budget grows with them, and stays under their size.
    store = new SqliteStore(file, { historyFloorBytes: floor });
    try {
      for (let i = 20; i < 200; i++) await store.create(obj('Tenant', `t${i}`, { spec: { pad, n: 0 } }));
      for (let round = 0; round < 3; round++) {
        for (let i = 0; i < 200; i++) {
          const cur = await store.get<AnyResource>('Tenant', `t${i}`);
          assert.ok(cur);
          await store.update({ ...cur, spec: { pad, n: round + 100 } });
        }
      }
    } finally {
      await store.close();
    }
    const db = new Database(file, { readonly: true, fileMustExist: true });
    const objects = (db.prepare('SELECT sum(length(CAST(json AS BLOB))) AS b FROM objects').get() as { b: number }).b;
    db.close();
    const large = historyBytes();
    assert.ok(large > floor, `history ${large} bytes: the budget did not grow with the objects`);
    assert.ok(large <= objects, `history ${large} bytes over the objects' ${objects}`);
  });
});

describe('SQLite group commit: nothing is told before its fsync', () => {
  /** An fsync that waits until released, counting the calls. */
  function heldFsync() {
    const held: (() => void)[] = [];
    let calls = 0;
    let fail: Error | undefined;
    return {
      fsync: (_fd: number, done: (err: NodeJS.ErrnoException | null) => void) => {
        calls++;
        held.push(() => done(fail ?? null));
      },
      releaseOne: () => held.shift()?.(),
      get calls() {
        return calls;
      },
      get pending() {
        return held.length;
      },
      failWith(e: Error) {
        fail = e;
      },
    };
  }
  const turns = async (k = 5) => {
    for (let i = 0; i < k; i++) await new Promise((r) => setImmediate(r));
  };

  it('acknowledges writes, publishes their events and answers reads of them only after the fsync covering them', async () => {
    const h = heldFsync();
    const store = new SqliteStore(join(freshDir() + '.db'), { fsync: h.fsync });
    try {
      const seen: string[] = [];
      const ac = new AbortController();
      const watching = (async () => {
        for await (const e of store.watch({ kind: 'Fleet', signal: ac.signal })) seen.push(e.object.metadata.name);
      })();
      await turns();
      const acked: string[] = [];
      const first = ['a', 'b', 'c'].map((n) => store.create(obj('Fleet', n)).then(() => acked.push(n)));
      await turns();
      assert.equal(h.pending, 1, 'the first group is committed and its one fsync started');
      // Committed meanwhile: waits for the next fsync, not the one already running.
      const late = store.create(obj('Fleet', 'd')).then(() => acked.push('d'));
      await turns();
      // Read after "d" committed: d's state is not durable, so its reader waits; a read of an object
      // whose revision is durable does not wait for the others.
      let readDone = false;
      const read = store.get('Fleet', 'd').then((o) => ((readDone = true), o));
      await turns();
      assert.deepEqual(acked, [], 'no write acknowledged before its fsync returned');
      assert.deepEqual(seen, [], 'no watch event before the fsync');
      assert.equal(readDone, false, 'a read that saw a non-durable write waits for it');
      assert.equal(await store.revision(), '0', 'the revision a client may be told is the durable one');
      assert.equal(h.pending, 1, 'one fsync at a time');

      h.releaseOne();
      await Promise.all(first);
      await turns();
      assert.deepEqual(acked, ['a', 'b', 'c']);
      assert.equal((await store.get('Fleet', 'a'))?.metadata.name, 'a', 'a durable object is read while d waits for its fsync');
      assert.equal(h.pending, 1, 'the group committed during the first fsync gets the next one');
      assert.equal(readDone, false, 'the read of d waits for the fsync covering d');
      h.releaseOne();
      await Promise.all([late, read]);
      assert.deepEqual(acked, ['a', 'b', 'c', 'd']);
      await waitUntil(() => seen.length === 4);
      assert.deepEqual(seen, ['a', 'b', 'c', 'd']);
      assert.equal(await store.revision(), '4');
      ac.abort();
      await watching;
    } finally {
      const closing = store.close();
      while (h.pending > 0) h.releaseOne();
      await closing;
    }
  });

  it('after a failed fsync rejects the writes it covered and every later one', async () => {
    const h = heldFsync();
    const store = new SqliteStore(join(freshDir() + '.db'), { fsync: h.fsync });
    const w = store.create(obj('Fleet', 'a'));
    await turns();
    h.failWith(Object.assign(new Error('EIO: i/o error'), { code: 'EIO' }));
    h.releaseOne();
    await assert.rejects(w, (e) => isDroverError(e, 'DROVER_E_INTERNAL'));
    await assert.rejects(store.create(obj('Fleet', 'b')), (e) => isDroverError(e, 'DROVER_E_INTERNAL'));
  });

  it('a write acknowledged under group commit is in the file when reopened', async () => {
    const file = join(freshDir() + '.db');
    const store = new SqliteStore(file);
    const acked = await Promise.all(Array.from({ length: 300 }, (_, i) => store.create(obj('Prod', `p${i}`))));
    assert.ok(store.stats().syncs < acked.length, 'concurrent writes share fsyncs');
    await store.close();
    const again = new SqliteStore(file);
    try {
      assert.equal((await again.list('Prod')).items.length, 300);
    } finally {
      await again.close();
    }
  });
});

describe('SQLite list of many objects', () => {
  it('lets the event loop run between chunks of parsing, and still answers one consistent state', async () => {
    const store = new SqliteStore(join(freshDir() + '.db'));
    try {
      await Promise.all(Array.from({ length: 3000 }, (_, i) => store.create(obj('Tenant', `t${String(i).padStart(4, '0')}`))));
      let otherWorkRan = false;
      const listing = store.list('Tenant');
      setImmediate(() => (otherWorkRan = true));
      // Written after the list read its rows: not in its answer.
      const late = store.create(obj('Tenant', 'zz-late'));
      const { items, resourceVersion } = await listing;
      assert.equal(otherWorkRan, true, 'a turn of the event loop ran while the list was being parsed');
      assert.equal(items.length, 3000);
      assert.equal(resourceVersion, '3000');
      assert.deepEqual(
        items.map((o) => o.metadata.name),
        Array.from({ length: 3000 }, (_, i) => `t${String(i).padStart(4, '0')}`),
      );
      await late;
    } finally {
      await store.close();
    }
  });
});

async function waitUntil(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !cond(); i++) await new Promise((r) => setImmediate(r));
  assert.ok(cond());
}
