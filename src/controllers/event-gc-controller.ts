/**
 * Event garbage collection: Prods are cattle, and each one leaves a handful of Events behind. Events not
 * repeated for `ttlMs` (default 1 h) are deleted, as Kubernetes' event TTL does.
 */
import type { Event } from '../api/kinds/event.js';
import { isDroverError } from '../errors.js';
import type { Reconciler, Result } from '../runtime/reconciler.js';

export interface EventGcOptions {
  ttlMs?: number;
  /** How often to sweep. Default: a tenth of the TTL. */
  everyMs?: number;
  now?: () => number;
}

/** Names of the events whose last occurrence is older than the TTL. */
export function expiredEvents(events: readonly Event[], nowMs: number, ttlMs: number): string[] {
  return events.filter((e) => Date.parse(e.spec.lastTimestamp) + ttlMs <= nowMs).map((e) => e.metadata.name);
}

const sweepKey = 'events';

export function eventGcController(opts: EventGcOptions = {}): Reconciler {
  const ttlMs = opts.ttlMs ?? 3_600_000;
  const everyMs = opts.everyMs ?? Math.max(1000, Math.floor(ttlMs / 10));
  const now = opts.now ?? Date.now;
  return {
    name: 'event-gc',
    watches: [],
    async listKeys() {
      return [sweepKey];
    },
    // Reads the store, not a cache: a sweep every `everyMs` costs less than watching the busiest kind.
    async reconcile({ store }): Promise<Result> {
      const { items } = await store.list('Event');
      for (const name of expiredEvents(items, now(), ttlMs)) {
        try {
          await store.delete('Event', name);
        } catch (e) {
          if (!isDroverError(e, 'DROVER_E_NOT_FOUND')) throw e;
        }
      }
      return { requeueAfterMs: everyMs };
    },
  };
}
