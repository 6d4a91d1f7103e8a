import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eventGcController } from '../../../src/controllers/event-gc-controller.js';
import { recordEvent } from '../../../src/runtime/events.js';
import { silentLogger } from '../../../src/runtime/logger.js';
import { Manager } from '../../../src/runtime/manager.js';
import { MemoryStore } from '../../../src/store/memory/memory-store.js';
import { cluster } from '../../helpers/fixtures.js';
import { waitFor } from '../../helpers/wait-for.js';

describe('event gc', () => {
  it('deletes events not repeated within the TTL and keeps fresh ones', async () => {
    const store = new MemoryStore();
    const c = await store.create(cluster('tokyo'));
    const now = Date.now();
    await recordEvent(store, c, 'Normal', 'Old', 'long ago', { now: () => new Date(now - 120_000) });
    await recordEvent(store, c, 'Normal', 'Repeated', 'again', { now: () => new Date(now - 120_000) });
    await recordEvent(store, c, 'Normal', 'Repeated', 'again', { now: () => new Date(now) });
    const m = new Manager({ store, reconcilers: [eventGcController({ ttlMs: 60_000 })], logger: silentLogger });
    m.start();
    try {
      const left = await waitFor('the old event to go', async () => {
        const items = (await store.list('Event')).items;
        return items.length === 1 ? items : undefined;
      });
      assert.equal(left[0]?.spec.reason, 'Repeated');
    } finally {
      await m.stop();
    }
  });
});
