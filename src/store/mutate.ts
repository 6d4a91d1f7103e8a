/**
 * The one write path for read-modify-write: read the object, apply a change, write it back with its
 * resourceVersion (compare-and-swap), and on a conflict read again and re-apply. Every controller, the CLI
 * and the lifecycle commands write through these, so there is one retry policy to reason about.
 *
 * The change function returns `false` to say "nothing to write" (no write is made, the current object is
 * returned). It must be a pure function of the object it is given: it runs again on every retry.
 */
import type { AnyResource } from '../api/resource.js';
import { canonicalJson } from './object-semantics.js';
import { DroverError, isDroverError } from '../errors.js';
import type { Store } from './store.js';

/** Attempts before a conflict is handed to the caller (a reconciler then requeues with backoff). */
export const CONFLICT_ATTEMPTS = 5;

export function isWriteConflict(e: unknown): boolean {
  return isDroverError(e, 'DROVER_E_CONFLICT');
}

/**
 * Runs `attempt` again on a write conflict, up to CONFLICT_ATTEMPTS times. `attempt` must read what it
 * writes afresh each time. For writes that are not a plain update (the API's merge patch with admission).
 */
export async function retryOnConflict<R>(attempt: () => Promise<R>): Promise<R> {
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (e) {
      if (!isWriteConflict(e) || n >= CONFLICT_ATTEMPTS) throw e;
      // A short, jittered pause so that two writers racing on one object do not collide in lockstep.
      await new Promise((r) => setTimeout(r, Math.random() * 5 * n));
    }
  }
}

type Change<T> = (obj: T) => boolean | void;

/** Change metadata/spec of `kind/name`. Returns undefined when the object does not exist. */
export function mutate<T extends AnyResource>(store: Store, kind: string, name: string, change: Change<T>): Promise<T | undefined> {
  return retryOnConflict(async () => {
    const obj = await store.get<T>(kind, name);
    if (!obj) return undefined;
    if (change(obj) === false) return obj;
    return store.update(obj);
  });
}

/** Change the status of `kind/name`. Returns undefined when the object does not exist. */
export function mutateStatus<T extends AnyResource>(store: Store, kind: string, name: string, change: Change<T>): Promise<T | undefined> {
  return retryOnConflict(async () => {
    const obj = await store.get<T>(kind, name);
    if (!obj) return undefined;
    if (change(obj) === false) return obj;
    return store.updateStatus(obj);
  });
}

/**
 * Create `desired`, or when it exists, let `change` bring the stored object to what is desired (default:
 * take desired's labels, annotations and spec). Returns the stored object.
 */
export function createOrUpdate<T extends AnyResource>(store: Store, desired: T, change?: Change<T>): Promise<T> {
  const apply: Change<T> = change ?? ((cur) => {
    const before = canonicalJson({ l: cur.metadata.labels, a: cur.metadata.annotations, s: (cur as { spec?: unknown }).spec });
    cur.metadata.labels = desired.metadata.labels;
    cur.metadata.annotations = desired.metadata.annotations;
    (cur as { spec?: unknown }).spec = (desired as { spec?: unknown }).spec;
    return canonicalJson({ l: cur.metadata.labels, a: cur.metadata.annotations, s: (cur as { spec?: unknown }).spec }) !== before;
  });
  return retryOnConflict(async () => {
    const cur = await store.get<T>(desired.kind, desired.metadata.name);
    if (!cur) {
      try {
        return await store.create(structuredClone(desired));
      } catch (e) {
        // Someone created it between our read and our create: go round again as an update.
        if (isDroverError(e, 'DROVER_E_ALREADY_EXISTS')) throw new DroverError('DROVER_E_CONFLICT', `${desired.kind} ${desired.metadata.name} was created concurrently`);
        throw e;
      }
    }
    if (apply(cur) === false) return cur;
    return store.update(cur);
  });
}

/**
 * Write `status` only when it differs from what is stored (by canonical JSON), so a reconcile that
 * changes nothing makes no write and wakes no watcher.
 */
export async function writeStatusIfChanged<T extends AnyResource & { status?: unknown }>(store: Store, obj: T, status: T['status']): Promise<T> {
  if (canonicalJson(obj.status ?? null) === canonicalJson(status ?? null)) return obj;
  return store.updateStatus({ ...obj, status });
}

/*
 * Writes from a copy in hand. A controller that decided on the cache's copy of an object writes that copy
 * at once (no read first: a fleet pass writes thousands of tenants or routes), and when the copy was
 * stale (a conflict) hands the change to `mutate`, which reads, re-applies and retries under the one
 * conflict policy. `change` must decide afresh on the object it is given: on the retry path it sees the
 * stored object, which may already say what was wanted (return `false`: no write).
 */

/** Update `next` (the copy in hand, already changed); on a conflict, `change` the stored object instead. */
export async function updateOrMutate<T extends AnyResource>(store: Store, next: T, change: Change<T>): Promise<T | undefined> {
  try {
    return await store.update(next);
  } catch (e) {
    if (!isWriteConflict(e)) throw e;
  }
  return mutate<T>(store, next.kind, next.metadata.name, change);
}

/** Status flavour of `updateOrMutate`. */
export async function updateStatusOrMutate<T extends AnyResource>(store: Store, next: T, change: Change<T>): Promise<T | undefined> {
  try {
    return await store.updateStatus(next);
  } catch (e) {
    if (!isWriteConflict(e)) throw e;
  }
  return mutateStatus<T>(store, next.kind, next.metadata.name, change);
}

/**
 * Create `desired`; when it exists already (the cache had not shown it), `change` the stored object.
 * Create first, read only on a clash: a fleet pass creates thousands of objects the store never had.
 */
export async function createOrMutate<T extends AnyResource>(store: Store, desired: T, change: Change<T>): Promise<T | undefined> {
  try {
    return await store.create(desired);
  } catch (e) {
    if (!isDroverError(e, 'DROVER_E_ALREADY_EXISTS')) throw e;
  }
  return mutate<T>(store, desired.kind, desired.metadata.name, change);
}
