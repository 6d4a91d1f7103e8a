/**
 * The Store contract suite (src/store/store.ts), run against every backend. A backend passes when this
 * whole suite passes; backend-specific behaviour (durability, reopen) is tested next to each backend.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { AnyResource } from '../../src/api/resource.js';
import { isDroverError, type ErrorCode } from '../../src/errors.js';
import type { Store, WatchEvent, WatchOptions } from '../../src/store/store.js';
import { waitFor } from '../helpers/wait-for.js';

export interface ContractStoreOptions {
  /** Changes the store must retain for watch replay; the suite asks for a small one to test compaction. */
  historySize?: number;
}

export type MakeStore = (opts?: ContractStoreOptions) => Promise<{ store: Store; cleanup: () => Promise<void> }>;

export function obj(kind: string, name: string, opts: { labels?: Record<string, string>; spec?: unknown; finalizers?: string[] } = {}): AnyResource {
  return {
    apiVersion: 'drover.dev/v1alpha1',
    kind,
    metadata: { name, labels: opts.labels ?? {}, annotations: {}, finalizers: opts.finalizers ?? [], ownerReferences: [] },
    spec: opts.spec ?? { version: 'v1' },
  };
}

export async function rejectsWith(p: Promise<unknown>, code: ErrorCode): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isDroverError(e), `expected a DroverError ${code}, got ${String(e)}`);
    assert.equal(e.code, code);
    return true;
  });
}

const rv = (o: AnyResource): bigint => BigInt(o.metadata.resourceVersion ?? '0');

/** Reads events from a watch until `until` says stop, or fails after the deadline. */
export async function collect(
  store: Store,
  opts: WatchOptions,
  until: (seen: WatchEvent[]) => boolean,
  deadlineMs = 10_000,
): Promise<WatchEvent[]> {
  const ac = new AbortController();
  const seen: WatchEvent[] = [];
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`watch deadline: got ${seen.length} events`)), deadlineMs);
  });
  const read = (async () => {
    if (until(seen)) return seen;
    for await (const e of store.watch({ ...opts, signal: ac.signal })) {
      seen.push(e);
      if (until(seen)) return seen;
    }
    throw new Error(`watch ended after ${seen.length} events`);
  })();
  try {
    return await Promise.race([read, deadline]);
  } finally {
    clearTimeout(timer);
    ac.abort();
    await read.catch(() => undefined);
  }
}

export function runStoreContract(name: string, makeStore: MakeStore): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    beforeEach(async () => {
      ({ store, cleanup } = await makeStore());
    });
    afterEach(async () => {
      await cleanup();
    });

    describe('create, get, list', () => {
      it('create fills the server-owned metadata and get returns the same object', async () => {
        const created = await store.create(obj('Fleet', 'web'));
        assert.ok(created.metadata.uid, 'uid is set');
        assert.equal(created.metadata.generation, 1);
        assert.ok(created.metadata.creationTimestamp, 'creationTimestamp is set');
        assert.equal(created.metadata.deletionTimestamp, undefined);
        assert.equal(created.metadata.resourceVersion, await store.revision());
        assert.deepEqual(await store.get('Fleet', 'web'), created);
        assert.equal(await store.get('Fleet', 'nope'), undefined);
        assert.equal(await store.get('Tenant', 'web'), undefined);
      });

      it('the stored object does not alias the caller object', async () => {
        const mine = obj('Fleet', 'web', { spec: { version: 'v1' } });
        const created = await store.create(mine);
        (mine.spec as { version: string }).version = 'mutated';
        (created.spec as { version: string }).version = 'mutated';
        assert.deepEqual((await store.get('Fleet', 'web'))?.spec, { version: 'v1' });
      });

      it('create of an existing name fails with AlreadyExists and changes nothing', async () => {
        await store.create(obj('Fleet', 'web'));
        const rev = await store.revision();
        await rejectsWith(store.create(obj('Fleet', 'web', { spec: { version: 'v2' } })), 'DROVER_E_ALREADY_EXISTS');
        assert.equal(await store.revision(), rev);
        assert.deepEqual((await store.get('Fleet', 'web'))?.spec, { version: 'v1' });
        // Names are per kind.
        await store.create(obj('Tenant', 'web'));
      });

      it('list returns one kind sorted by name, with the revision it was read at', async () => {
        for (const n of ['c', 'a-2', 'b', 'a', 'a-1']) await store.create(obj('Fleet', n));
        await store.create(obj('Tenant', 'x'));
        const l = await store.list('Fleet');
        assert.deepEqual(
          l.items.map((o) => o.metadata.name),
          ['a', 'a-1', 'a-2', 'b', 'c'],
        );
        assert.equal(l.resourceVersion, await store.revision());
        assert.deepEqual((await store.list('Cluster')).items, []);
      });

      it('list filters by label selector', async () => {
        await store.create(obj('Prod', 'p1', { labels: { app: 'web', env: 'prod' } }));
        await store.create(obj('Prod', 'p2', { labels: { app: 'web', env: 'stage', legacy: 'yes' } }));
        await store.create(obj('Prod', 'p3', { labels: { app: 'api', env: 'dev' } }));
        await store.create(obj('Prod', 'p4', {}));
        const names = async (labelSelector: string) => (await store.list('Prod', { labelSelector })).items.map((o) => o.metadata.name);
        assert.deepEqual(await names(''), ['p1', 'p2', 'p3', 'p4']);
        assert.deepEqual(await names('app=web'), ['p1', 'p2']);
        assert.deepEqual(await names('app==api'), ['p3']);
        assert.deepEqual(await names('app!=web'), ['p3', 'p4']);
        assert.deepEqual(await names('env in (prod, stage)'), ['p1', 'p2']);
        assert.deepEqual(await names('env notin (prod)'), ['p2', 'p3', 'p4']);
        assert.deepEqual(await names('legacy'), ['p2']);
        assert.deepEqual(await names('!legacy'), ['p1', 'p3', 'p4']);
        assert.deepEqual(await names('app=web,!legacy'), ['p1']);
        await rejectsWith(store.list('Prod', { labelSelector: 'app=(' }), 'DROVER_E_INVALID');
      });
    });

    describe('update and updateStatus', () => {
      it('update with a stale resourceVersion conflicts; with the current one or none it applies', async () => {
        const v1 = await store.create(obj('Fleet', 'web'));
        const v2 = await store.update({ ...v1, spec: { version: 'v2' } });
        assert.ok(rv(v2) > rv(v1), 'revision increases');
        await rejectsWith(store.update({ ...v1, spec: { version: 'v3' } }), 'DROVER_E_CONFLICT');
        assert.deepEqual((await store.get('Fleet', 'web'))?.spec, { version: 'v2' });
        const v3 = await store.update({ ...v2, spec: { version: 'v3' } });
        const unconditional = { ...v1, spec: { version: 'v4' }, metadata: { ...v1.metadata, resourceVersion: undefined } };
        const v4 = await store.update(unconditional);
        assert.ok(rv(v4) > rv(v3), 'revision increases');
        assert.deepEqual(v4.spec, { version: 'v4' });
        const empty = await store.update({ ...v4, spec: { version: 'v5' }, metadata: { ...v4.metadata, resourceVersion: '' } });
        assert.deepEqual(empty.spec, { version: 'v5' });
      });

      it('update, updateStatus and delete of a missing object fail with NotFound', async () => {
        const rev = await store.revision();
        await rejectsWith(store.update(obj('Fleet', 'ghost')), 'DROVER_E_NOT_FOUND');
        await rejectsWith(store.updateStatus(obj('Fleet', 'ghost')), 'DROVER_E_NOT_FOUND');
        await rejectsWith(store.delete('Fleet', 'ghost'), 'DROVER_E_NOT_FOUND');
        assert.equal(await store.revision(), rev);
      });

      it('generation increases only when spec changes', async () => {
        const v1 = await store.create(obj('Fleet', 'web'));
        const relabelled = await store.update({ ...v1, metadata: { ...v1.metadata, labels: { team: 'a' } } });
        assert.equal(relabelled.metadata.generation, 1);
        assert.ok(rv(relabelled) > rv(v1), 'revision increases');
        assert.deepEqual(relabelled.metadata.labels, { team: 'a' });
        const respecced = await store.update({ ...relabelled, spec: { version: 'v2' } });
        assert.equal(respecced.metadata.generation, 2);
        const status = await store.updateStatus({ ...respecced, status: { observedGeneration: 2 } });
        assert.equal(status.metadata.generation, 2);
      });

      it('update never changes status; updateStatus never changes spec or metadata', async () => {
        const v1 = await store.create(obj('Fleet', 'web'));
        assert.equal(v1.status, undefined);
        const s = await store.updateStatus({ ...v1, status: { phase: 'Ready' }, spec: { version: 'ignored' }, metadata: { ...v1.metadata, labels: { ignored: 'x' } } });
        assert.deepEqual(s.status, { phase: 'Ready' });
        assert.deepEqual(s.spec, { version: 'v1' });
        assert.deepEqual(s.metadata.labels, {});
        assert.ok(rv(s) > rv(v1), 'revision increases');
        const u = await store.update({ ...s, spec: { version: 'v2' }, status: { phase: 'Hacked' } });
        assert.deepEqual(u.status, { phase: 'Ready' });
        assert.deepEqual(u.spec, { version: 'v2' });
        await rejectsWith(store.updateStatus({ ...s, status: { phase: 'Stale' } }), 'DROVER_E_CONFLICT');
        assert.deepEqual(await store.get('Fleet', 'web'), u);
      });

      it('update does not let the client set server-owned metadata', async () => {
        const v1 = await store.create(obj('Fleet', 'web'));
        const u = await store.update({ ...v1, spec: { version: 'v2' }, metadata: { ...v1.metadata, uid: 'forged', generation: 99, creationTimestamp: '1999-01-01T00:00:00.000Z' } });
        assert.equal(u.metadata.uid, v1.metadata.uid);
        assert.equal(u.metadata.generation, 2);
        assert.equal(u.metadata.creationTimestamp, v1.metadata.creationTimestamp);
      });

      it('a no-op update or updateStatus keeps resourceVersion and takes no revision', async () => {
        const v1 = await store.create(obj('Fleet', 'web', { labels: { a: 'b' } }));
        const s = await store.updateStatus({ ...v1, status: { phase: 'Ready' } });
        const rev = await store.revision();
        const same = await store.update({ ...s, spec: { version: 'v1' }, metadata: { ...s.metadata, labels: { a: 'b' } } });
        assert.equal(same.metadata.resourceVersion, s.metadata.resourceVersion);
        const sameStatus = await store.updateStatus({ ...s, status: { phase: 'Ready' } });
        assert.equal(sameStatus.metadata.resourceVersion, s.metadata.resourceVersion);
        assert.equal(await store.revision(), rev);
      });
    });

    describe('delete and finalizers', () => {
      it('delete without finalizers removes the object and emits DELETED', async () => {
        const v1 = await store.create(obj('Fleet', 'web'));
        const from = await store.revision();
        const gone = await store.delete('Fleet', 'web');
        assert.equal(gone.metadata.uid, v1.metadata.uid);
        assert.ok(rv(gone) > rv(v1), 'revision increases');
        assert.equal(await store.get('Fleet', 'web'), undefined);
        assert.deepEqual((await store.list('Fleet')).items, []);
        const [e] = await collect(store, { resourceVersion: from }, (s) => s.length >= 1);
        assert.equal(e?.type, 'DELETED');
        assert.equal(e?.object.metadata.name, 'web');
        assert.equal(e?.object.metadata.resourceVersion, gone.metadata.resourceVersion);
        // The name is free again.
        const again = await store.create(obj('Fleet', 'web'));
        assert.notEqual(again.metadata.uid, v1.metadata.uid);
      });

      it('delete with a stale resourceVersion conflicts', async () => {
        const v1 = await store.create(obj('Fleet', 'web'));
        const v2 = await store.update({ ...v1, spec: { version: 'v2' } });
        await rejectsWith(store.delete('Fleet', 'web', { resourceVersion: v1.metadata.resourceVersion! }), 'DROVER_E_CONFLICT');
        assert.ok(await store.get('Fleet', 'web'), 'object still exists');
        await store.delete('Fleet', 'web', { resourceVersion: v2.metadata.resourceVersion! });
        assert.equal(await store.get('Fleet', 'web'), undefined);
      });

      it('finalizers hold a deleted object until the last one is removed', async () => {
        const v1 = await store.create(obj('Prod', 'p1', { finalizers: ['drover.dev/a', 'drover.dev/b'] }));
        const from = await store.revision();
        const marked = await store.delete('Prod', 'p1');
        assert.ok(marked.metadata.deletionTimestamp, 'deletionTimestamp is set');
        assert.ok(rv(marked) > rv(v1), 'revision increases');
        assert.deepEqual(await store.get('Prod', 'p1'), marked);
        // Deleting again changes nothing.
        const again = await store.delete('Prod', 'p1');
        assert.equal(again.metadata.resourceVersion, marked.metadata.resourceVersion);
        const one = await store.update({ ...marked, metadata: { ...marked.metadata, finalizers: ['drover.dev/b'] } });
        assert.ok(one.metadata.deletionTimestamp, 'deletionTimestamp is set');
        assert.ok(await store.get('Prod', 'p1'), 'object still exists');
        const last = await store.update({ ...one, metadata: { ...one.metadata, finalizers: [] } });
        assert.equal(await store.get('Prod', 'p1'), undefined);
        const events = await collect(store, { resourceVersion: from }, (s) => s.length >= 3);
        assert.deepEqual(
          events.map((e) => e.type),
          ['MODIFIED', 'MODIFIED', 'DELETED'],
        );
        assert.ok(events[0]?.object.metadata.deletionTimestamp, 'deletionTimestamp is set');
        assert.equal(events[2]?.object.metadata.resourceVersion, last.metadata.resourceVersion);
      });
    });

    describe('revisions and concurrency', () => {
      it('revisions strictly increase, one per change, also for concurrent writes', async () => {
        const start = BigInt(await store.revision());
        const created = await Promise.all(Array.from({ length: 40 }, (_, i) => store.create(obj('Fleet', `f${i}`))));
        // Concurrent writes may commit in any order, but each takes its own revision after `start`.
        const revs = created.map(rv).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
        assert.deepEqual(
          revs,
          Array.from({ length: 40 }, (_, i) => start + 1n + BigInt(i)),
        );
        assert.equal(await store.revision(), (start + 40n).toString());
        let prev = BigInt(await store.revision());
        for (let i = 0; i < 5; i++) {
          const u = await store.update({ ...created[i]!, spec: { version: `v${i + 2}` } });
          assert.ok(rv(u) > prev, 'revision increases');
          prev = rv(u);
        }
      });

      it('concurrent writes get their own outcomes: a failed one does not affect the others', async () => {
        const y = await store.create(obj('Fleet', 'y'));
        const results = await Promise.allSettled([
          store.create(obj('Fleet', 'x')),
          store.create(obj('Fleet', 'x')),
          store.update({ ...y, spec: { version: 'v2' } }),
          store.update({ ...y, spec: { version: 'v3' } }),
          store.delete('Fleet', 'ghost'),
          store.create(obj('Fleet', 'z')),
        ]);
        const codes = results.map((r) => (r.status === 'fulfilled' ? 'ok' : isDroverError(r.reason) ? r.reason.code : String(r.reason)));
        // Which of two racing writes wins is up to the backend; that exactly one does is the contract.
        assert.deepEqual([codes[0], codes[1]].sort(), ['DROVER_E_ALREADY_EXISTS', 'ok']);
        assert.deepEqual([codes[2], codes[3]].sort(), ['DROVER_E_CONFLICT', 'ok']);
        assert.deepEqual([codes[4], codes[5]], ['DROVER_E_NOT_FOUND', 'ok']);
        const won = codes[2] === 'ok' ? 'v2' : 'v3';
        assert.deepEqual((await store.get('Fleet', 'y'))?.spec, { version: won });
        assert.deepEqual(
          (await store.list('Fleet')).items.map((o) => o.metadata.name),
          ['x', 'y', 'z'],
        );
        assert.equal(await store.revision(), (rv(y) + 3n).toString());
      });
    });

    describe('watch', () => {
      it('replays from a revision in order, then streams live, with no gap or duplicate under concurrent writes', async () => {
        await store.create(obj('Fleet', 'before'));
        const from = BigInt(await store.revision());
        const total = 150;
        const writer = (async () => {
          for (let i = 0; i < total; i += 3) {
            // Bursts of three so that backends that batch commit several at once.
            await Promise.all([0, 1, 2].map((k) => store.create(obj('Fleet', `w${i + k}`))));
          }
        })();
        // Start watching while the writer runs: part replay, part live.
        await waitFor('30 writes committed', async () => BigInt(await store.revision()) >= from + 30n);
        const events = await collect(store, { resourceVersion: from.toString() }, (s) => s.length >= total);
        await writer;
        assert.deepEqual(
          events.map(rvOf),
          Array.from({ length: total }, (_, i) => from + 1n + BigInt(i)),
        );
        assert.ok(events.every((e) => e.type === 'ADDED'), 'all events are ADDED');
        assert.deepEqual(
          events.map((e) => e.object.metadata.name).sort(),
          Array.from({ length: total }, (_, i) => `w${i}`).sort(),
        );
      });

      it('without a resourceVersion starts at the current revision', async () => {
        await store.create(obj('Fleet', 'old'));
        const ac = new AbortController();
        const iter = store.watch({ signal: ac.signal })[Symbol.asyncIterator]();
        const first = iter.next();
        // A backend may start the watch asynchronously (etcd), so keep writing until it sees one.
        let got: IteratorResult<WatchEvent> | undefined;
        void first.then((r) => (got = r));
        for (let i = 0; got === undefined; i++) {
          await store.create(obj('Fleet', `new-${i}`));
          await waitFor('the first watch event', () => got !== undefined, { timeoutMs: 200 }).catch(() => undefined);
        }
        ac.abort();
        assert.equal(got.done, false);
        assert.match(got.value.object.metadata.name, /^new-/);
      });

      it('filters by kind, name and label selector', async () => {
        const from = await store.revision();
        await store.create(obj('Fleet', 'web', { labels: { tier: 'front' } }));
        await store.create(obj('Prod', 'web', { labels: { tier: 'front' } }));
        await store.create(obj('Prod', 'p2', { labels: { tier: 'back' } }));
        const p2 = await store.create(obj('Prod', 'p3', {}));
        await store.update({ ...p2, spec: { version: 'v2' } });
        const end = await store.create(obj('Cluster', 'end'));
        const upTo = (s: WatchEvent[]) => s.some((e) => rv(e.object) >= rv(end));
        const all = await collect(store, { resourceVersion: from }, upTo);
        assert.equal(all.length, 6);
        const names = (evs: WatchEvent[]) => evs.map((e) => `${e.type} ${e.object.kind}/${e.object.metadata.name}`);
        const prods = await collect(store, { resourceVersion: from, kind: 'Prod' }, (s) => s.length >= 4);
        assert.deepEqual(names(prods), ['ADDED Prod/web', 'ADDED Prod/p2', 'ADDED Prod/p3', 'MODIFIED Prod/p3']);
        const one = await collect(store, { resourceVersion: from, kind: 'Prod', name: 'p3' }, (s) => s.length >= 2);
        assert.deepEqual(names(one), ['ADDED Prod/p3', 'MODIFIED Prod/p3']);
        // No kind: the name matches across kinds.
        const byName = await collect(store, { resourceVersion: from, name: 'web' }, (s) => s.length >= 2);
        assert.deepEqual(names(byName), ['ADDED Fleet/web', 'ADDED Prod/web']);
        const front = await collect(store, { resourceVersion: from, kind: 'Prod', labelSelector: 'tier=front' }, (s) => s.length >= 1);
        assert.deepEqual(names(front), ['ADDED Prod/web']);
        const notBack = await collect(store, { resourceVersion: from, kind: 'Prod', labelSelector: 'tier notin (back)' }, (s) => s.length >= 3);
        assert.deepEqual(names(notBack), ['ADDED Prod/web', 'ADDED Prod/p3', 'MODIFIED Prod/p3']);
        // Filtered watches also receive live changes.
        const liveFrom = await store.revision();
        const live = collect(store, { resourceVersion: liveFrom, kind: 'Prod', name: 'p2' }, (s) => s.length >= 1);
        await store.create(obj('Prod', 'p9'));
        await store.delete('Prod', 'p2');
        assert.deepEqual(names(await live), ['DELETED Prod/p2']);
      });

      it('aborting the signal ends the iterator', async () => {
        const ac = new AbortController();
        const rev = await store.revision();
        let received = 0;
        const consumer = (async () => {
          for await (const _ of store.watch({ resourceVersion: rev, signal: ac.signal })) received++;
          return 'ended';
        })();
        await store.create(obj('Fleet', 'a'));
        await waitFor('one event received', async () => received === 1);
        ac.abort();
        assert.equal(await withDeadline(consumer, 5_000, 'watch did not end after abort'), 'ended');
        await store.create(obj('Fleet', 'b'));
        assert.equal(received, 1);
      });

      it('closing the store ends open watches', async () => {
        const rev = await store.revision();
        const seen: string[] = [];
        const consumer = (async () => {
          for await (const e of store.watch({ resourceVersion: rev })) seen.push(e.object.metadata.name);
          return seen;
        })();
        await store.create(obj('Fleet', 'a'));
        await waitFor('one event seen', () => seen.length === 1);
        await store.close();
        assert.deepEqual(await withDeadline(consumer, 5_000, 'watch did not end on close'), ['a']);
      });

      it('a malformed resourceVersion or label selector is rejected as invalid', async () => {
        await rejectsWith(collect(store, { resourceVersion: 'abc' }, () => false), 'DROVER_E_INVALID');
        await rejectsWith(collect(store, { labelSelector: 'a in (' }, () => false), 'DROVER_E_INVALID');
      });

      it('a revision the store has not reached (or a 23-digit one) fails with DROVER_E_RESOURCE_VERSION_TOO_LARGE instead of delivering nothing', async () => {
        const a = await store.create(obj('Fleet', 'a'));
        const ahead = (rv(a) + 1000n).toString();
        await rejectsWith(collect(store, { resourceVersion: ahead }, () => false, 3000), 'DROVER_E_RESOURCE_VERSION_TOO_LARGE');
        await rejectsWith(collect(store, { kind: 'Fleet', resourceVersion: '12345678901234567890123' }, () => false, 3000), 'DROVER_E_RESOURCE_VERSION_TOO_LARGE');
        // The current revision itself is fine: nothing yet, then the next change.
        const next = collect(store, { kind: 'Fleet', resourceVersion: rv(a).toString() }, (s) => s.length === 1);
        await store.create(obj('Fleet', 'b'));
        assert.deepEqual((await next).map((e) => e.object.metadata.name), ['b']);
      });

      it('a compacted revision throws DROVER_E_GONE; the oldest retained one still replays', async () => {
        await cleanup();
        ({ store, cleanup } = await makeStore({ historySize: 5 }));
        const base = BigInt(await store.revision());
        for (let i = 0; i < 12; i++) await store.create(obj('Fleet', `f${i}`));
        const last = base + 12n;
        assert.equal(await store.revision(), last.toString());
        await rejectsWith(collect(store, { resourceVersion: (base + 1n).toString() }, () => false), 'DROVER_E_GONE');
        await rejectsWith(collect(store, { resourceVersion: (last - 6n).toString() }, () => false), 'DROVER_E_GONE');
        const tail = await collect(store, { resourceVersion: (last - 5n).toString() }, (s) => s.length >= 5);
        assert.deepEqual(
          tail.map(rvOf),
          [4n, 3n, 2n, 1n, 0n].map((d) => last - d),
        );
        // A list then watch from its revision is always possible.
        const l = await store.list('Fleet');
        const next = collect(store, { resourceVersion: l.resourceVersion }, (s) => s.length >= 1);
        await store.create(obj('Fleet', 'after'));
        assert.equal((await next)[0]?.object.metadata.name, 'after');
      });
    });
  });
}

const rvOf = (e: WatchEvent): bigint => rv(e.object);

export async function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(what)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
