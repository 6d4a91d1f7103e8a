/**
 * Change filters for `WatchSpec.mapToKeys` (as controller-runtime's predicates): skip changes that do not
 * touch what a reconciler cares about, e.g. a Cluster's heartbeat when only its phase matters.
 */
import type { AnyResource } from '../api/resource.js';
import type { WatchChange } from './reconciler.js';

type MapToKeys = (obj: AnyResource, change: WatchChange) => string[] | Promise<string[]>;

/**
 * Calls `then` only when `fingerprint(obj)` differs from the last one seen for that name, and always for
 * ADDED and DELETED changes. Periodic resync still covers anything filtered here.
 */
export function whenChanged(fingerprint: (obj: AnyResource) => string, then: MapToKeys): MapToKeys {
  const last = new Map<string, string>();
  return (obj, change) => {
    const name = obj.metadata.name;
    if (change.type === 'DELETED') {
      last.delete(name);
      return then(obj, change);
    }
    const fp = fingerprint(obj);
    if (change.type !== 'ADDED' && last.get(name) === fp) return [];
    last.set(name, fp);
    return then(obj, change);
  };
}
