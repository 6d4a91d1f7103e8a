/**
 * What create/update/updateStatus/delete mean for an object, written once and shared by every backend,
 * so that backends differ only in how they persist and order changes.
 */
import { randomUUID } from 'node:crypto';
import type { AnyResource } from '../api/resource.js';
import { errors } from '../errors.js';

export function nowIso(): string {
  return new Date().toISOString();
}

/** JSON with sorted keys, so that equal values compare equal as strings. */
export function canonicalJson(v: unknown): string {
  return JSON.stringify(v, (_k, val: unknown) => {
    if (val && typeof val === 'object' && !Array.isArray(val)) {
      return Object.fromEntries(Object.entries(val as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    }
    return val;
  });
}

export function prepareCreate<T extends AnyResource>(obj: T, rev: string): T {
  return {
    ...obj,
    metadata: {
      ...obj.metadata,
      uid: randomUUID(),
      generation: 1,
      resourceVersion: rev,
      creationTimestamp: nowIso(),
      deletionTimestamp: undefined,
    },
  };
}

export function checkVersion(stored: AnyResource, expected: string | undefined): void {
  const actual = stored.metadata.resourceVersion ?? '';
  if (expected !== undefined && expected !== '' && expected !== actual) {
    throw errors.conflict(stored.kind, stored.metadata.name, expected, actual);
  }
}

export type UpdateOutcome<T> = { op: 'put'; obj: T } | { op: 'delete'; obj: T } | { op: 'noop'; obj: T };

/** A spec/metadata update. Removing the last finalizer of an object being deleted deletes it. */
export function prepareUpdate<T extends AnyResource>(stored: T, incoming: T, rev: string): UpdateOutcome<T> {
  checkVersion(stored, incoming.metadata.resourceVersion);
  const specChanged = canonicalJson(stored.spec) !== canonicalJson(incoming.spec);
  const next: T = {
    ...stored,
    spec: incoming.spec,
    metadata: {
      ...stored.metadata,
      labels: incoming.metadata.labels,
      annotations: incoming.metadata.annotations,
      finalizers: incoming.metadata.finalizers,
      ownerReferences: incoming.metadata.ownerReferences,
      generation: (stored.metadata.generation ?? 1) + (specChanged ? 1 : 0),
      resourceVersion: rev,
    },
  };
  if (stored.metadata.deletionTimestamp && next.metadata.finalizers.length === 0) return { op: 'delete', obj: next };
  if (!specChanged && canonicalJson(stored.metadata) === canonicalJson({ ...next.metadata, resourceVersion: stored.metadata.resourceVersion })) {
    return { op: 'noop', obj: stored };
  }
  return { op: 'put', obj: next };
}

export function prepareUpdateStatus<T extends AnyResource>(stored: T, incoming: T, rev: string): UpdateOutcome<T> {
  checkVersion(stored, incoming.metadata.resourceVersion);
  if (canonicalJson(stored.status ?? null) === canonicalJson(incoming.status ?? null)) return { op: 'noop', obj: stored };
  return { op: 'put', obj: { ...stored, status: incoming.status, metadata: { ...stored.metadata, resourceVersion: rev } } };
}

export function prepareDelete<T extends AnyResource>(stored: T, rev: string, expected?: string): UpdateOutcome<T> {
  checkVersion(stored, expected);
  if (stored.metadata.finalizers.length > 0) {
    if (stored.metadata.deletionTimestamp) return { op: 'noop', obj: stored };
    return { op: 'put', obj: { ...stored, metadata: { ...stored.metadata, deletionTimestamp: nowIso(), resourceVersion: rev } } };
  }
  return { op: 'delete', obj: { ...stored, metadata: { ...stored.metadata, resourceVersion: rev } } };
}
