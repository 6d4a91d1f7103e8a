import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AnyResource } from '../../../src/api/resource.js';
import { OwnWrites } from '../../../src/controllers/own-writes.js';

function obj(name: string, rv: number, note = ''): AnyResource {
  return { apiVersion: 'drover.dev/v1alpha1', kind: 'Prod', metadata: { name, resourceVersion: String(rv), labels: {}, annotations: { note }, finalizers: [], ownerReferences: [] }, spec: {} } as unknown as AnyResource;
}
const names = (xs: AnyResource[]) => xs.map((x) => `${x.metadata.name}@${x.metadata.resourceVersion ?? ''}`).sort();

describe('OwnWrites: a controller sees its own writes before its cache does', () => {
  it('shows a created object the cache does not have yet, until the cache has it', () => {
    const w = new OwnWrites<AnyResource>();
    w.created(obj('a', 5));
    assert.deepEqual(names(w.overlay([obj('b', 1)])), ['a@5', 'b@1']);
    assert.deepEqual(names(w.overlay([obj('a', 5), obj('b', 1)])), ['a@5', 'b@1']);
    // Once the cache showed it, a later stale view no longer resurrects it.
    assert.deepEqual(names(w.overlay([obj('b', 1)])), ['b@1']);
  });

  it('lays an update over an older cached copy, and yields to a copy at least as new', () => {
    const w = new OwnWrites<AnyResource>();
    w.updated(obj('a', 7, 'mine'));
    assert.equal(w.current('a', obj('a', 3))?.metadata.resourceVersion, '7');
    assert.equal(w.current('a', obj('a', 9))?.metadata.resourceVersion, '9');
    assert.equal(w.current('a', obj('a', 3))?.metadata.resourceVersion, '3', 'forgotten once the cache caught up');
  });

  it('drops an update of an object the cache no longer has (deleted by someone else): no ghost', () => {
    const w = new OwnWrites<AnyResource>();
    w.updated(obj('a', 7));
    assert.deepEqual(w.overlay([]), []);
  });

  it('hides a deleted object until the cache drops it', () => {
    const w = new OwnWrites<AnyResource>();
    w.deleted(obj('a', 4));
    assert.deepEqual(names(w.overlay([obj('a', 4), obj('b', 1)])), ['b@1']);
    assert.deepEqual(names(w.overlay([obj('b', 1)])), ['b@1']);
    assert.deepEqual(names(w.overlay([obj('a', 4)])), ['a@4'], 'forgotten once the cache dropped it');
  });

  it('forgets a write after its time limit (a create deleted before the cache saw it is no ghost for ever)', () => {
    let now = 0;
    const w = new OwnWrites<AnyResource>(1000, () => now);
    w.created(obj('a', 5));
    now = 999;
    assert.deepEqual(names(w.overlay([])), ['a@5']);
    now = 1001;
    assert.deepEqual(w.overlay([]), []);
  });
});
