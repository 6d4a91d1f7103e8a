/**
 * Writes from a copy in hand. A controller that decided on the cache's copy of an object writes that copy
 * at once (no read first: a fleet pass writes thousands of tenants or routes), and when the copy was
 * stale (a conflict) hands the change to src/store/mutate.ts, which reads, re-applies and retries under
 * the one conflict policy. `change` must decide afresh on the object it is given: on the retry path it
 * sees the stored object, which may already say what was wanted (return `false`: no write).
 */
import type { AnyResource } from '../api/resource.js';
import { isDroverError } from '../errors.js';
import { isWriteConflict, mutate, mutateStatus } from '../store/mutate.js';
import type { Store } from '../store/store.js';

type Change<T> = (obj: T) => boolean | void;

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
