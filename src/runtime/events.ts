/**
 * Events about objects (`drover describe` shows them). One Event object per (object, reason, message):
 * a repeat increments `count` and `lastTimestamp` instead of adding a new object.
 *
 * Names are `<involvedName>-<hash>`, not Kubernetes' `<name>.<hash>`: object
 * names here are DNS-1123 labels, which have no dots. The hash covers kind, reason and message.
 * Labels LABEL_INVOLVED_KIND and LABEL_INVOLVED_NAME (src/api/labels.ts) let a client list one object's events.
 */
import { createHash } from 'node:crypto';
import { LABEL_INVOLVED_KIND, LABEL_INVOLVED_NAME } from '../api/labels.js';
import { API_VERSION } from '../api/meta.js';
import type { Event } from '../api/kinds/event.js';
import type { AnyResource } from '../api/resource.js';
import { createOrUpdate } from '../store/mutate.js';
import type { Store } from '../store/store.js';

export const eventTypes = ['Normal', 'Warning'] as const;
export type EventType = (typeof eventTypes)[number];

export function eventName(obj: AnyResource, reason: string, message: string): string {
  const hash = createHash('sha256').update(`${obj.kind}\n${reason}\n${message}`).digest('hex').slice(0, 10);
  const base = obj.metadata.name.slice(0, 63 - hash.length - 1);
  return `${base}-${hash}`;
}

export interface RecordEventOptions {
  source?: string;
  now?: () => Date;
}

/** Writes (or bumps) the Event through createOrUpdate (a lost race re-reads and bumps). Throws only store errors. */
export async function recordEvent(
  store: Store,
  obj: AnyResource,
  type: EventType,
  reason: string,
  message: string,
  opts: RecordEventOptions = {},
): Promise<Event> {
  const name = eventName(obj, reason, message);
  const now = (opts.now ?? (() => new Date()))().toISOString();
  const first: Event = {
    apiVersion: API_VERSION,
    kind: 'Event',
    metadata: {
      name,
      labels: { [LABEL_INVOLVED_KIND]: obj.kind, [LABEL_INVOLVED_NAME]: obj.metadata.name },
      annotations: {},
      finalizers: [],
      ownerReferences: [],
    },
    spec: {
      involvedObject: { kind: obj.kind, name: obj.metadata.name, ...(obj.metadata.uid ? { uid: obj.metadata.uid } : {}) },
      type,
      reason,
      message,
      count: 1,
      firstTimestamp: now,
      lastTimestamp: now,
      source: opts.source ?? 'drover',
    },
  };
  return createOrUpdate(store, first, (existing) => {
    existing.spec = { ...existing.spec, count: existing.spec.count + 1, lastTimestamp: now };
  });
}
