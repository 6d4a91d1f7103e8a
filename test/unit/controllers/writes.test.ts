import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Prod } from '../../../src/api/kinds/prod.js';
import { createOrMutate, updateOrMutate } from '../../../src/store/mutate.js';
import { MemoryStore } from '../../../src/store/memory/memory-store.js';
import { prod } from '../../helpers/fixtures.js';

describe('writes from a copy in hand', () => {
  it('updateOrMutate writes the copy, and on a stale copy re-applies the change to the stored object', async () => {
    const store = new MemoryStore();
    const seen = await store.create(prod('web-1', { cluster: 'tokyo', phase: 'Ready' }));
    // Someone else writes meanwhile: the copy in hand is stale.
    await store.update<Prod>({ ...seen, metadata: { ...seen.metadata, annotations: { other: 'x' } } });
    let calls = 0;
    const w = await updateOrMutate<Prod>(store, { ...seen, spec: { ...seen.spec, takeover: true } }, (cur) => {
      calls++;
      cur.spec.takeover = true;
    });
    assert.equal(calls, 1, 'the change ran on the stored object');
    const stored = await store.get('Prod', 'web-1');
    assert.equal(stored?.spec.takeover, true);
    assert.equal(stored?.metadata.annotations.other, 'x', 'the other writer’s change is kept');
    assert.equal(w?.metadata.resourceVersion, stored?.metadata.resourceVersion);
  });

  it('updateOrMutate writes nothing more when the stored object already says it', async () => {
    const store = new MemoryStore();
    const seen = await store.create(prod('web-1', { cluster: 'tokyo', phase: 'Ready' }));
    const done = await store.update<Prod>({ ...seen, spec: { ...seen.spec, takeover: true } });
    const w = await updateOrMutate<Prod>(store, { ...seen, spec: { ...seen.spec, takeover: true } }, (cur) => (cur.spec.takeover ? false : void (cur.spec.takeover = true)));
    assert.equal(w?.metadata.resourceVersion, done.metadata.resourceVersion, 'no second write');
  });

  it('createOrMutate creates, and changes the stored object when it exists already', async () => {
    const store = new MemoryStore();
    const desired = prod('web-1', { cluster: 'tokyo', phase: 'Ready' });
    await createOrMutate<Prod>(store, desired, () => false);
    assert.ok(await store.get('Prod', 'web-1'));
    await createOrMutate<Prod>(store, { ...desired, spec: { ...desired.spec, cluster: 'osaka' } }, (cur) => void (cur.spec.cluster = 'osaka'));
    assert.equal((await store.get('Prod', 'web-1'))?.spec.cluster, 'osaka');
  });
});
