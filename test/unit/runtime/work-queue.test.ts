import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ExponentialBackoff, MaxOfLimiters, TokenBucket } from '../../../src/runtime/rate-limiter.js';
import { WorkQueue } from '../../../src/runtime/work-queue.js';

describe('WorkQueue', () => {
  it('queues a key once however often it is added', async () => {
    const q = new WorkQueue();
    q.add('a');
    q.add('a');
    q.add('b');
    q.add('a');
    assert.equal(q.length, 2);
    assert.equal(await q.get(), 'a');
    assert.equal(await q.get(), 'b');
    assert.equal(q.length, 0);
    q.shutdown();
  });

  it('never hands out a key that is being processed; re-queues it on done', async () => {
    const q = new WorkQueue();
    q.add('a');
    const a = await q.get();
    assert.equal(a, 'a');
    q.add('a'); // while processing
    q.add('b');
    assert.equal(q.length, 1);
    assert.equal(await q.get(), 'b');
    assert.equal(q.length, 0);
    q.done('a');
    assert.equal(q.length, 1);
    assert.equal(await q.get(), 'a');
    q.shutdown();
  });

  it('never processes a key concurrently with itself under several workers', async () => {
    const q = new WorkQueue();
    const inFlight = new Set<string>();
    let overlaps = 0;
    let processed = 0;
    const worker = async () => {
      for (;;) {
        const k = await q.get();
        if (k === undefined) return;
        if (inFlight.has(k)) overlaps++;
        inFlight.add(k);
        await new Promise((r) => setImmediate(r));
        if (processed < 200) for (const x of ['a', 'b', 'c']) q.add(x);
        processed++;
        inFlight.delete(k);
        q.done(k);
        if (processed >= 200 && q.length === 0) q.shutdown();
      }
    };
    q.add('a');
    await Promise.all([worker(), worker(), worker(), worker()]);
    assert.equal(overlaps, 0);
    assert.ok(processed >= 200);
  });

  it('addAfter delays an add and the earliest pending delay wins', async () => {
    const q = new WorkQueue();
    const t0 = Date.now();
    q.addAfter('a', 2000);
    q.addAfter('a', 30);
    q.addAfter('a', 1000);
    assert.equal(q.length, 0);
    assert.equal(await q.get(), 'a');
    const waited = Date.now() - t0;
    assert.ok(waited >= 25 && waited < 900, `waited ${waited} ms`);
    q.shutdown();
  });

  it('addRateLimited backs off per key; forget resets it', async () => {
    const q = new WorkQueue({ rateLimiter: new ExponentialBackoff(20, 1000) });
    q.addRateLimited('a');
    assert.equal(q.retries('a'), 1);
    assert.equal(q.length, 0);
    assert.equal(await q.get(), 'a');
    q.done('a');
    q.addRateLimited('a');
    assert.equal(q.retries('a'), 2);
    q.forget('a');
    assert.equal(q.retries('a'), 0);
    q.shutdown();
  });

  it('shutdown releases waiting getters and drops delayed adds', async () => {
    const q = new WorkQueue();
    const waiting = q.get();
    q.addAfter('x', 10_000);
    q.shutdown();
    assert.equal(await waiting, undefined);
    q.add('y');
    assert.equal(await q.get(), undefined);
  });
});

describe('rate limiters', () => {
  it('exponential backoff doubles per failure up to the cap, per key', () => {
    const b = new ExponentialBackoff(10, 80);
    assert.deepEqual([1, 2, 3, 4, 5].map(() => b.when('k')), [10, 20, 40, 80, 80]);
    assert.equal(b.when('other'), 10);
    b.forget('k');
    assert.equal(b.when('k'), 10);
  });

  it('token bucket allows a burst, then spaces retries by its rate', () => {
    let now = 0;
    const t = new TokenBucket(10, 2, () => now);
    assert.equal(t.when('a'), 0);
    assert.equal(t.when('b'), 0);
    assert.equal(t.when('c'), 100);
    assert.equal(t.when('d'), 200);
    now = 1000;
    assert.equal(t.when('e'), 0);
  });

  it('max-of takes the longest delay', () => {
    let now = 0;
    const l = new MaxOfLimiters(new ExponentialBackoff(5, 1000), new TokenBucket(1, 1, () => now));
    assert.equal(l.when('a'), 5);
    assert.equal(l.when('a'), 1000);
    now = 10_000;
    assert.equal(l.retries('a'), 2);
  });
});
