/**
 * PATCH without a resourceVersion is re-applied to the fresh object when a concurrent write wins the race
 * (the shared conflict policy of src/store/mutate.ts); a PATCH pinned to a resourceVersion is never
 * re-applied: a stale one is a conflict (409) and nothing is written.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import type { Fleet } from '../../../src/api/kinds/fleet.js';
import { kindByKind } from '../../../src/api/registry.js';
import type { AnyResource } from '../../../src/api/resource.js';
import { isDroverError } from '../../../src/errors.js';
import { patchObject, type HandlerContext } from '../../../src/server/resource-handlers.js';
import { MemoryStore } from '../../../src/store/memory/memory-store.js';
import { fleet as fleetDoc } from '../../helpers/fixtures.js';

const req = { headers: { 'content-type': 'application/merge-patch+json' } } as unknown as IncomingMessage;

/** A store where another writer changes the Fleet's labels right before each of our first `races` updates. */
async function racingStore(races: number): Promise<{ store: MemoryStore; inner: MemoryStore; updates: () => number }> {
  const inner = new MemoryStore();
  await inner.create(fleetDoc('web', { app: { command: 'true', healthPath: '/healthz' }, prods: 1, warmup: { requests: 2 } }));
  let n = 0;
  const store = Object.create(inner) as MemoryStore;
  store.update = async <T extends AnyResource>(obj: T): Promise<T> => {
    if (n++ < races) {
      const cur = (await inner.get('Fleet', 'web'))!;
      await inner.update<Fleet>({ ...cur, metadata: { ...cur.metadata, labels: { ...cur.metadata.labels, [`other-${n}`]: 'x' } } });
    }
    return inner.update(obj);
  };
  return { store, inner, updates: () => n };
}

function ctx(store: MemoryStore, body: unknown): HandlerContext {
  return { store, role: 'admin', info: kindByKind('Fleet'), readBody: async () => body };
}

describe('PATCH conflict policy', () => {
  it('re-applies an unpinned patch after a lost race, keeping the other writer’s change', async () => {
    const { store, inner, updates } = await racingStore(2);
    const a = await patchObject(ctx(store, { spec: { prods: 7 } }), req, 'web', false);
    assert.equal(a.status, 200);
    assert.equal(updates(), 3);
    const f = (await inner.get('Fleet', 'web'))!;
    assert.equal(f.spec.prods, 7);
    assert.deepEqual(f.metadata.labels, { 'other-1': 'x', 'other-2': 'x' });
  });

  it('answers a pinned patch that lost the race with a conflict, without retrying or writing', async () => {
    const { store, inner, updates } = await racingStore(1);
    const rv = (await inner.get('Fleet', 'web'))!.metadata.resourceVersion;
    await assert.rejects(patchObject(ctx(store, { metadata: { resourceVersion: rv }, spec: { prods: 7 } }), req, 'web', false), (e) => isDroverError(e, 'DROVER_E_CONFLICT'));
    assert.equal(updates(), 1);
    assert.equal((await inner.get('Fleet', 'web'))!.spec.prods, 1);
  });
});
