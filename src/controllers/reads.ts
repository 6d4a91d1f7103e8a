/**
 * How a controller reads the kinds it watches: from the manager's cache (`ctx.cache`, informer-backed:
 * no store round trip, no parsing), or from the store when there is no cache (a reconciler called outside
 * the manager, as unit tests do). The cache lags the store by the watch's delivery: a pass does not see
 * its own writes yet (see own-writes.ts), so read the key's own object from the store where a stale copy
 * would redo a step (a Release's status).
 */
import type { KindMap, KindName } from '../api/kind-map.js';
import type { ReconcileContext } from '../runtime/reconciler.js';

export interface Reader {
  list<K extends KindName>(kind: K): Promise<KindMap[K][]>;
  get<K extends KindName>(kind: K, name: string): Promise<KindMap[K] | undefined>;
}

export function reader(ctx: Pick<ReconcileContext, 'cache' | 'store'>): Reader {
  const { cache, store } = ctx;
  if (cache) {
    return {
      list: async <K extends KindName>(kind: K) => cache.list<KindMap[K]>(kind),
      get: async <K extends KindName>(kind: K, name: string) => cache.get<KindMap[K]>(kind, name),
    };
  }
  return {
    list: async <K extends KindName>(kind: K) => (await store.list(kind)).items,
    get: <K extends KindName>(kind: K, name: string) => store.get(kind, name),
  };
}
