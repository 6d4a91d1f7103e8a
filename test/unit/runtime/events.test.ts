/**
 * recordEvent writes through createOrUpdate: racing recorders of one (object, reason, message) end in one
 * Event whose count is the number of calls, however the create/update races fall.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LABEL_INVOLVED_KIND, LABEL_INVOLVED_NAME } from '../../../src/api/labels.js';
import { eventName, recordEvent } from '../../../src/runtime/events.js';
import { MemoryStore } from '../../../src/store/memory/memory-store.js';
import { fleet as fleetDoc } from '../../helpers/fixtures.js';

describe('recordEvent', () => {
  it('16 concurrent recorders of one event make one Event with count 16', async () => {
    const store = new MemoryStore();
    const fleet = fleetDoc('web', { app: { command: 'true', healthPath: '/healthz' }, prods: 1, warmup: { requests: 2 } });
    const at = new Date('2026-12-01T10:00:00Z');
    await Promise.all(Array.from({ length: 16 }, () => recordEvent(store, fleet, 'Normal', 'Scaled', 'to 3 Prods', { now: () => at })));
    const { items } = await store.list('Event');
    assert.equal(items.length, 1);
    const ev = items[0]!;
    assert.equal(ev.metadata.name, eventName(fleet, 'Scaled', 'to 3 Prods'));
    assert.equal(ev.spec.count, 16);
    assert.deepEqual(ev.metadata.labels, { [LABEL_INVOLVED_KIND]: 'Fleet', [LABEL_INVOLVED_NAME]: 'web' });
  });

  it('a repeat bumps count and lastTimestamp, keeps firstTimestamp', async () => {
    const store = new MemoryStore();
    const fleet = fleetDoc('web', { app: { command: 'true', healthPath: '/healthz' }, prods: 1, warmup: { requests: 2 } });
    await recordEvent(store, fleet, 'Warning', 'Failed', 'x', { now: () => new Date('2026-12-01T10:00:00Z') });
    const ev = await recordEvent(store, fleet, 'Warning', 'Failed', 'x', { now: () => new Date('2026-12-01T10:05:00Z') });
    assert.equal(ev.spec.count, 2);
    assert.equal(ev.spec.firstTimestamp, '2026-12-01T10:00:00.000Z');
    assert.equal(ev.spec.lastTimestamp, '2026-12-01T10:05:00.000Z');
  });
});
