/**
 * The one list/watch loop: re-list and diff on 410 and on a too-large revision, reconnect from the last
 * revision with capped, jittered backoff while keeping the cache, one shared informer per kind serving
 * every handler, and the label-selector option.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AnyResource } from '../../../src/api/resource.js';
import { DroverError } from '../../../src/errors.js';
import { backoffDelay, Informer, newerOf } from '../../../src/runtime/informer.js';
import { InformerCache, startCache } from '../../../src/runtime/object-cache.js';
import { MemoryStore } from '../../../src/store/memory/memory-store.js';
import type { ListOptions, ListResult, Store, WatchEvent, WatchOptions } from '../../../src/store/store.js';
import { cluster } from '../../helpers/fixtures.js';
import { waitFor } from '../../helpers/wait-for.js';

/** A store whose control plane can go away (every call fails, open watches break), counting lists and watches. */
class Outage implements Store {
  down = false;
  lists = 0;
  watches = 0;
  /** Thrown by the next watch call instead of watching (once). */
  nextWatchError: Error | undefined;
  private readonly open = new Set<AbortController>();
  constructor(readonly inner: MemoryStore) {}
  setDown(down: boolean): void {
    this.down = down;
    if (down) for (const ac of this.open) ac.abort();
  }
  private check(): void {
    if (this.down) throw new DroverError('DROVER_E_UNAVAILABLE', 'connect ECONNREFUSED (test: control plane down)');
  }
  async get<T extends AnyResource = AnyResource>(kind: string, name: string): Promise<T | undefined> {
    this.check();
    return this.inner.get<T>(kind, name);
  }
  async list<T extends AnyResource = AnyResource>(kind: string, opts?: ListOptions): Promise<ListResult<T>> {
    this.check();
    this.lists++;
    return this.inner.list<T>(kind, opts);
  }
  create<T extends AnyResource>(obj: T): Promise<T> {
    return this.inner.create(obj);
  }
  update<T extends AnyResource>(obj: T): Promise<T> {
    return this.inner.update(obj);
  }
  updateStatus<T extends AnyResource>(obj: T): Promise<T> {
    return this.inner.updateStatus(obj);
  }
  delete<T extends AnyResource = AnyResource>(kind: string, name: string, opts?: { resourceVersion?: string }): Promise<T> {
    return this.inner.delete<T>(kind, name, opts);
  }
  async *watch(opts: WatchOptions): AsyncIterable<WatchEvent> {
    this.check();
    this.watches++;
    if (this.nextWatchError !== undefined) {
      const e = this.nextWatchError;
      this.nextWatchError = undefined;
      throw e;
    }
    const ac = new AbortController();
    this.open.add(ac);
    if (opts.signal?.aborted) ac.abort();
    opts.signal?.addEventListener('abort', () => ac.abort(), { once: true });
    try {
      yield* this.inner.watch({ ...opts, signal: ac.signal });
      if (!opts.signal?.aborted) throw new DroverError('DROVER_E_UNAVAILABLE', 'watch stream broke (test: control plane down)');
    } finally {
      this.open.delete(ac);
    }
  }
  async revision(): Promise<string> {
    this.check();
    return this.inner.revision();
  }
  async close(): Promise<void> {}
}

function recorder(inf: Informer): string[] {
  const log: string[] = [];
  inf.addHandler({
    onAdd: (o) => log.push(`add ${o.metadata.name}`),
    onUpdate: (_old, o) => log.push(`update ${o.metadata.name}`),
    onDelete: (o) => log.push(`delete ${o.metadata.name}`),
  });
  return log;
}

const names = (objs: AnyResource[]) => objs.map((o) => o.metadata.name).sort();

describe('Informer', () => {
  it('re-lists after 410 Gone and emits the adds, updates and deletes that happened meanwhile', async () => {
    const inner = new MemoryStore({ historySize: 3 });
    for (const n of ['a', 'b', 'c']) await inner.create(cluster(n));
    const store = new Outage(inner);
    const expired: boolean[] = [];
    const inf = new Informer(store, 'Cluster', { minBackoffMs: 5, maxBackoffMs: 20, onError: (_e, next) => expired.push(next.relist) });
    const log = recorder(inf);
    inf.start();
    try {
      await inf.waitForSync({ timeoutMs: 5000 });
      assert.deepEqual(log.sort(), ['add a', 'add b', 'add c']);
      log.length = 0;

      store.setDown(true);
      await waitFor('the informer to notice the outage', () => inf.status().connected === false);
      // More changes than the history holds: the informer's revision is compacted away.
      await inner.delete('Cluster', 'b');
      const a = (await inner.get('Cluster', 'a'))!;
      await inner.update({ ...a, metadata: { ...a.metadata, labels: { touched: 'yes' } } });
      for (const n of ['d', 'e', 'f']) await inner.create(cluster(n));
      assert.deepEqual(names(inf.list()), ['a', 'b', 'c'], 'the cache keeps its last state meanwhile');

      store.setDown(false);
      await waitFor('the re-list', () => inf.get('b') === undefined && inf.get('f') !== undefined);
      assert.deepEqual(log.sort(), ['add d', 'add e', 'add f', 'delete b', 'update a']);
      assert.equal(inf.status().lists, 2, 'one re-list after the 410');
      assert.ok(expired.includes(true), 'the 410 asked for a re-list');
      assert.equal(inf.resourceVersion, await inner.revision());
      assert.equal(inf.status().connected, true);

      // The watch resumed from the re-list's revision: live changes flow again.
      await inner.delete('Cluster', 'c');
      await waitFor('a live delete', () => inf.get('c') === undefined);
      assert.equal(log.at(-1), 'delete c');
    } finally {
      await inf.stop();
    }
  });

  it('re-lists when the store is behind its revision (DROVER_E_RESOURCE_VERSION_TOO_LARGE)', async () => {
    const inner = new MemoryStore();
    await inner.create(cluster('a'));
    const store = new Outage(inner);
    const inf = new Informer(store, 'Cluster', { minBackoffMs: 5, maxBackoffMs: 20 });
    const log = recorder(inf);
    inf.start();
    try {
      await inf.waitForSync({ timeoutMs: 5000 });
      // As after a restore from an older backup: the next watch refuses our revision, and `a` is gone.
      store.nextWatchError = new DroverError('DROVER_E_RESOURCE_VERSION_TOO_LARGE', 'resource version 99 is newer than the store (test)');
      store.setDown(true);
      await inner.delete('Cluster', 'a');
      await inner.create(cluster('z'));
      store.setDown(false);
      await waitFor('the re-list', () => inf.get('a') === undefined && inf.get('z') !== undefined);
      assert.equal(inf.status().lists, 2);
      assert.deepEqual(log.sort(), ['add a', 'add z', 'delete a']);
    } finally {
      await inf.stop();
    }
  });

  it('reconnects with capped exponential backoff from its last revision, keeping the cache, without a re-list', async () => {
    const inner = new MemoryStore();
    for (const n of ['a', 'b']) await inner.create(cluster(n));
    const store = new Outage(inner);
    const delays: number[] = [];
    // random() = 1: the top of the jitter range, so the delays show the cap.
    const inf = new Informer(store, 'Cluster', { minBackoffMs: 10, maxBackoffMs: 40, random: () => 1, onError: (_e, next) => delays.push(next.retryInMs) });
    const log = recorder(inf);
    inf.start();
    try {
      await inf.waitForSync({ timeoutMs: 5000 });
      store.setDown(true);
      await waitFor('five failed attempts', () => delays.length >= 5);
      assert.deepEqual(delays.slice(0, 5), [10, 20, 40, 40, 40], 'doubles, then holds at the cap');
      assert.deepEqual(names(inf.list()), ['a', 'b'], 'static stability: the cache still answers');
      assert.equal(inf.status().connected, false);
      assert.match(inf.status().lastError ?? '', /control plane down/);

      await inner.delete('Cluster', 'a');
      await inner.create(cluster('c'));
      store.setDown(false);
      await waitFor('the changes made during the outage', () => inf.get('a') === undefined && inf.get('c') !== undefined);
      assert.equal(store.lists, 1, 'history still held the revision: watched from it, no re-list');
      assert.deepEqual(log.slice(2), ['delete a', 'add c']);
      assert.equal(inf.status().connected, true);
    } finally {
      await inf.stop();
    }
  });

  it('jitters each delay within the upper half of its capped value', () => {
    for (const [n, cap] of [[1, 100], [2, 200], [3, 400], [10, 1000]] as const) {
      assert.equal(backoffDelay(n, 100, 1000, () => 0), cap / 2);
      assert.equal(backoffDelay(n, 100, 1000, () => 0.999999), cap);
    }
  });

  it('is shared per kind: one list and one watch serve every handler, and a late handler sees the cache as adds', async () => {
    const inner = new MemoryStore();
    for (const n of ['a', 'b']) await inner.create(cluster(n));
    const store = new Outage(inner);
    const cache = new InformerCache(store);
    const first = recorder(cache.informer('Cluster'));
    assert.equal(cache.informer('Cluster'), cache.informer('Cluster'), 'one informer per kind');
    cache.start();
    try {
      await cache.waitForSync({ timeoutMs: 5000 });
      const second = recorder(cache.informer('Cluster'));
      assert.deepEqual(second.sort(), ['add a', 'add b'], 'a late handler is told the cache');
      await inner.create(cluster('c'));
      await waitFor('both handlers told', () => first.includes('add c') && second.includes('add c'));
      assert.equal(store.lists, 1);
      assert.equal(store.watches, 1);
      assert.deepEqual(names(cache.list('Cluster')), ['a', 'b', 'c']);
      assert.throws(() => cache.scopedTo('reconciler "x"', ['Prod']).list('Cluster'), /does not watch it/);
    } finally {
      await cache.stop();
    }
  });

  it('follows only the objects its label selector matches; the cache filters by selector too', async () => {
    const inner = new MemoryStore();
    await inner.create(cluster('a', { labels: { tier: 'gold' } }));
    await inner.create(cluster('b', { labels: { tier: 'bronze' } }));
    const inf = new Informer(inner, 'Cluster', { labelSelector: 'tier=gold' });
    inf.start();
    const cache = await startCache(inner, ['Cluster']);
    try {
      await inf.waitForSync({ timeoutMs: 5000 });
      assert.deepEqual(names(inf.list()), ['a']);
      await inner.create(cluster('c', { labels: { tier: 'gold' } }));
      await inner.create(cluster('d'));
      await waitFor('the matching object', () => inf.get('c') !== undefined);
      assert.equal(inf.get('d'), undefined);
      await waitFor('the cache', () => cache.list('Cluster').length === 4);
      assert.deepEqual(names(cache.list('Cluster', { labelSelector: 'tier in (gold)' })), ['a', 'c']);
    } finally {
      await inf.stop();
      await cache.stop();
    }
  });

  it('waitForSync gives up on timeout and on abort, and resolves at once once synced', async () => {
    const store = new Outage(new MemoryStore());
    store.setDown(true);
    const inf = new Informer(store, 'Cluster', { minBackoffMs: 5, maxBackoffMs: 10 });
    inf.start();
    try {
      await assert.rejects(inf.waitForSync({ timeoutMs: 30 }), /did not sync within 30 ms/);
      const ac = new AbortController();
      const waiting = inf.waitForSync({ signal: ac.signal });
      ac.abort();
      await assert.rejects(waiting, /aborted/);
      assert.equal(inf.hasSynced(), false);
      store.setDown(false);
      await inf.waitForSync({ timeoutMs: 5000 });
      assert.equal(inf.hasSynced(), true);
    } finally {
      await inf.stop();
    }
  });

  it('newerOf picks the copy with the higher revision', () => {
    const at = (rv: string) => ({ ...cluster('x'), metadata: { ...cluster('x').metadata, resourceVersion: rv } }) as AnyResource;
    assert.equal(newerOf(at('9'), at('10'))?.metadata.resourceVersion, '10');
    assert.equal(newerOf(at('10'), at('9'))?.metadata.resourceVersion, '10');
    assert.equal(newerOf(undefined, at('3'))?.metadata.resourceVersion, '3');
  });
});
