import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AnyResource } from '../../../src/api/resource.js';
import { recordEvent } from '../../../src/runtime/events.js';
import type { Leadership, LeaderElector } from '../../../src/runtime/leader-election.js';
import type { Logger, LogLevel } from '../../../src/runtime/logger.js';
import { Manager } from '../../../src/runtime/manager.js';
import { reconcileTotal } from '../../../src/runtime/metrics.js';
import { TerminalError, type Reconciler } from '../../../src/runtime/reconciler.js';
import { MemoryStore } from '../../../src/store/memory/memory-store.js';
import type { ListOptions, ListResult, Store, WatchEvent, WatchOptions } from '../../../src/store/store.js';
import { cluster } from '../../helpers/fixtures.js';
import { waitFor } from '../../helpers/wait-for.js';

class CapturingLogger implements Logger {
  readonly lines: { level: LogLevel; msg: string }[] = [];
  log(level: LogLevel, msg: string): void {
    this.lines.push({ level, msg });
  }
}

async function count(controller: string, result: string): Promise<number> {
  const m = await reconcileTotal.get();
  return m.values.find((v) => v.labels.controller === controller && v.labels.result === result)?.value ?? 0;
}

function reconciler(name: string, reconcile: Reconciler['reconcile'], extra: Partial<Reconciler> = {}): Reconciler {
  return { name, watches: [{ kind: 'Cluster' }], listKeys: async () => [], reconcile, ...extra };
}

describe('Manager', () => {
  it('maps each outcome to a queue action and a metric', async () => {
    const store = new MemoryStore();
    const calls = new Map<string, number>();
    const logger = new CapturingLogger();
    const r = reconciler('outcomes', async (_ctx, key) => {
      const n = (calls.get(key) ?? 0) + 1;
      calls.set(key, n);
      if (key === 'later' && n === 1) return { requeueAfterMs: 20 };
      if (key === 'flaky' && n <= 2) throw new Error('boom');
      if (key === 'fatal') throw new TerminalError('cannot ever work');
      return {};
    }, { listKeys: async () => ['ok', 'later', 'flaky', 'fatal'] });
    const m = new Manager({ store, reconcilers: [r], logger });
    m.start();
    try {
      await waitFor('flaky to succeed and later to come back', async () => calls.get('flaky') === 3 && calls.get('later') === 2);
      await new Promise((r) => setTimeout(r, 50)); // give a wrong retry of `fatal` the chance to show
      assert.equal(calls.get('ok'), 1);
      assert.equal(calls.get('fatal'), 1, 'a terminal error is not retried');
      assert.equal(await count('outcomes', 'success'), 3);
      assert.equal(await count('outcomes', 'requeue_after'), 1);
      assert.equal(await count('outcomes', 'error'), 2);
      assert.equal(await count('outcomes', 'terminal'), 1);
      assert.equal(logger.lines.filter((l) => l.level === 'error').length, 3);
    } finally {
      await m.stop();
    }
  });

  it('re-lists after DROVER_E_GONE and loses no change, deletions included', async () => {
    const inner = new MemoryStore({ historySize: 3 });
    await inner.create(cluster('a'));
    await inner.create(cluster('b'));
    let burst = true;
    // After the first list, more changes than the history holds happen before the watch starts.
    const store: Store = Object.assign(Object.create(inner) as Store, {
      list: async <T extends AnyResource>(kind: string, opts?: ListOptions): Promise<ListResult<T>> => {
        const res = await inner.list<T>(kind, opts);
        if (burst) {
          burst = false;
          const a = (await inner.get('Cluster', 'a'))!;
          await inner.update({ ...a, metadata: { ...a.metadata, labels: { touched: 'yes' } } });
          await inner.delete('Cluster', 'b');
          for (const n of ['c', 'd', 'e']) await inner.create(cluster(n));
        }
        return res;
      },
    });
    const seen = new Map<string, string>();
    const r = reconciler('gone', async ({ store }, key) => {
      const c = await store.get('Cluster', key);
      seen.set(key, c ? JSON.stringify(c.metadata.labels) : 'deleted');
      return {};
    });
    const logger = new CapturingLogger();
    const m = new Manager({ store, reconcilers: [r], logger, watch: { backoff: { baseMs: 5, maxMs: 50 } } });
    m.start();
    try {
      await waitFor('every change after the re-list', async () =>
        seen.get('a') === '{"touched":"yes"}' && seen.get('b') === 'deleted' && ['c', 'd', 'e'].every((n) => seen.has(n)),
      );
      assert.ok(logger.lines.some((l) => l.msg.startsWith('watch expired')), 'the watch did expire');
      // And the resumed watch still delivers live changes.
      await inner.create(cluster('f'));
      await waitFor('a live change after the re-list', async () => seen.has('f'));
    } finally {
      await m.stop();
    }
  });

  it('re-lists after a broken watch stream and sees what changed meanwhile', async () => {
    const inner = new MemoryStore();
    await inner.create(cluster('a'));
    let breakNext = true;
    const store: Store = Object.assign(Object.create(inner) as Store, {
      watch: (opts: WatchOptions): AsyncIterable<WatchEvent> => {
        if (!breakNext) return inner.watch(opts);
        breakNext = false;
        return (async function* () {
          // The connection drops; a change lands before the watcher lists again.
          await inner.create(cluster('during-outage'));
          yield* [];
          throw new Error('connection reset');
        })();
      },
    });
    const seen = new Set<string>();
    const r = reconciler('broken', async (_ctx, key) => {
      seen.add(key);
      return {};
    });
    const logger = new CapturingLogger();
    const m = new Manager({ store, reconcilers: [r], logger, watch: { backoff: { baseMs: 5, maxMs: 50 } } });
    m.start();
    try {
      await waitFor('the change made during the outage', async () => seen.has('a') && seen.has('during-outage'));
      assert.ok(logger.lines.some((l) => l.level === 'error' && l.msg.startsWith('watch failed')));
      await inner.create(cluster('after'));
      await waitFor('a live change after recovery', async () => seen.has('after'));
    } finally {
      await m.stop();
    }
  });

  it('hands reconcilers a cache of their watched kinds, listed before the first pass', async () => {
    const store = new MemoryStore();
    for (const n of ['a', 'b', 'c']) await store.create(cluster(n));
    const atFirstPass: string[][] = [];
    let unwatched: unknown;
    const r = reconciler(
      'cached',
      async ({ cache }) => {
        assert.ok(cache, 'the manager sets a cache');
        atFirstPass.push(cache.list('Cluster').map((c) => c.metadata.name).sort());
        try {
          cache.list('Prod');
        } catch (e) {
          unwatched = e;
        }
        return {};
      },
      { listKeys: async () => ['x'] },
    );
    const m = new Manager({ store, reconcilers: [r], logger: new CapturingLogger() });
    m.start();
    try {
      await waitFor('the first pass', async () => atFirstPass.length > 0);
      assert.deepEqual(atFirstPass[0], ['a', 'b', 'c'], 'the first pass sees every existing object');
      assert.match(String(unwatched), /does not watch it/, 'an unwatched kind is an error, not an empty list');
      await store.create(cluster('d'));
      await waitFor('the new cluster in the cache', async () => atFirstPass.some((names) => names.includes('d')));
    } finally {
      await m.stop();
    }
  });

  it('makes one pass for a burst of changes to a kind watched with a delay', async () => {
    const store = new MemoryStore();
    let passes = 0;
    let seenAtPass = 0;
    const r = reconciler(
      'batched',
      async ({ store: s }) => {
        passes++;
        seenAtPass = (await s.list('Cluster')).items.length;
        return {};
      },
      { watches: [{ kind: 'Cluster', mapToKeys: () => ['all'], delayMs: 100 }] },
    );
    const m = new Manager({ store, reconcilers: [r], logger: new CapturingLogger() });
    m.start();
    try {
      // Each create is its own change, in its own tick: without the delay each could start a pass.
      for (const n of ['a', 'b', 'c', 'd', 'e']) await store.create(cluster(n));
      await waitFor('the batched pass', async () => passes > 0);
      await new Promise((r) => setTimeout(r, 150)); // room for a wrong second pass to show
      assert.equal(passes, 1, 'one pass for the burst');
      assert.equal(seenAtPass, 5, 'the pass saw the whole burst');
    } finally {
      await m.stop();
    }
  });

  it('runs reconcilers only while leading, and stop drains the pass in flight', async () => {
    const store = new MemoryStore();
    await store.create(cluster('a'));
    let grant: (l: Leadership) => void = () => {};
    const elector: LeaderElector = { acquire: () => new Promise<Leadership>((r) => (grant = r)) };
    let started = 0;
    let finished = 0;
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const r = reconciler('leader', async () => {
      started++;
      await gate;
      finished++;
      return {};
    });
    const m = new Manager({ store, reconcilers: [r], leaderElector: elector, logger: new CapturingLogger() });
    m.start();
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(started, 0, 'nothing runs before leadership');
    grant({ lost: new AbortController().signal, release: async () => {} });
    await waitFor('a pass to start', async () => started === 1);
    const stopping = m.stop();
    let stopped = false;
    void stopping.then(() => (stopped = true));
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(stopped, false, 'stop waits for the pass in flight');
    release();
    await stopping;
    assert.equal(finished, 1);
  });

  it('stops reconcilers when leadership is lost', async () => {
    const store = new MemoryStore();
    const lost = new AbortController();
    let acquired = 0;
    const elector: LeaderElector = {
      acquire: (signal) => {
        acquired++;
        if (acquired === 1) return Promise.resolve({ lost: lost.signal, release: async () => {} });
        return new Promise((_r, reject) => signal.addEventListener('abort', () => reject(new Error('stopped'))));
      },
    };
    let passes = 0;
    const r = reconciler('lose', async () => {
      passes++;
      return {};
    });
    const m = new Manager({ store, reconcilers: [r], leaderElector: elector, logger: new CapturingLogger() });
    m.start();
    await store.create(cluster('a'));
    await waitFor('a pass while leading', async () => passes === 1 && m.isLeading);
    lost.abort();
    await waitFor('leadership to be given up', async () => !m.isLeading && acquired === 2);
    await store.create(cluster('b'));
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(passes, 1, 'no pass runs after leadership is lost');
    await m.stop();
  });
});

describe('Manager across leadership terms', () => {
  it('builds reconcilers from their factories afresh for each term, and reuses an instance given as such', async () => {
    const store = new MemoryStore();
    await store.create(cluster('a'));
    let lost = new AbortController();
    let grant: (() => void) | undefined;
    const elector: LeaderElector = {
      acquire: (signal) =>
        new Promise((resolve, reject) => {
          grant = () => {
            lost = new AbortController();
            resolve({ lost: lost.signal, release: async () => {} });
          };
          signal.addEventListener('abort', () => reject(new Error('stopped')), { once: true });
        }),
    };
    // Each built instance notes the terms it ran passes in: a reused one would show two.
    let term = 0;
    const built: Set<number>[] = [];
    const fresh = () => {
      const mine = new Set<number>();
      built.push(mine);
      return reconciler('fresh', async () => {
        mine.add(term);
        return {};
      });
    };
    const sharedTerms = new Set<number>();
    const shared = reconciler('shared', async () => {
      sharedTerms.add(term);
      return {};
    });
    const m = new Manager({ store, reconcilers: [fresh, shared], leaderElector: elector, logger: new CapturingLogger() });
    m.start();
    try {
      for (term = 1; term <= 3; term++) {
        await waitFor(`a campaign for term ${term}`, () => grant !== undefined);
        const go = grant!;
        grant = undefined;
        go();
        await waitFor(`passes in term ${term}`, () => built[term - 1]?.has(term) === true && sharedTerms.has(term) && m.isLeading);
        lost.abort();
        await waitFor(`term ${term} to end`, () => !m.isLeading);
      }
      term = 0;
      assert.deepEqual(
        built.map((terms) => [...terms]),
        [[1], [2], [3]],
        'one instance per term, each running in its own term only',
      );
      assert.deepEqual([...sharedTerms], [1, 2, 3]);
    } finally {
      await m.stop();
    }
  });
});

describe('recordEvent', () => {
  it('bumps count and lastTimestamp when the same event repeats', async () => {
    const store = new MemoryStore();
    const c = await store.create(cluster('tokyo'));
    const t = (s: number) => () => new Date(Date.UTC(2026, 0, 1, 0, 0, s));
    const e1 = await recordEvent(store, c, 'Warning', 'NotReady', 'no heartbeat', { now: t(1) });
    const e2 = await recordEvent(store, c, 'Warning', 'NotReady', 'no heartbeat', { now: t(5) });
    const other = await recordEvent(store, c, 'Normal', 'Ready', 'heartbeat', { now: t(6) });
    assert.equal(e1.metadata.name, e2.metadata.name);
    assert.match(e1.metadata.name, /^tokyo-[0-9a-f]{10}$/);
    assert.notEqual(other.metadata.name, e1.metadata.name);
    const stored = (await store.get('Event', e1.metadata.name))!;
    assert.equal(stored.spec.count, 2);
    assert.equal(stored.spec.firstTimestamp, t(1)().toISOString());
    assert.equal(stored.spec.lastTimestamp, t(5)().toISOString());
    assert.equal(stored.spec.involvedObject.name, 'tokyo');
  });
});
