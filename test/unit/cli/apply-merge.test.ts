import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Cluster } from '../../../src/api/kinds/cluster.js';
import type { Fleet } from '../../../src/api/kinds/fleet.js';
import { applyDocument, lastAppliedAnnotation, prepareDocument } from '../../../src/client/apply-document.js';
import { resolveDocumentPaths } from '../../../src/client/document-paths.js';
import { threeWayMerge } from '../../../src/client/three-way-merge.js';
import { MemoryStore } from '../../../src/store/memory/memory-store.js';

describe('threeWayMerge', () => {
  it('keeps what others set and the file never mentioned', () => {
    assert.deepEqual(threeWayMerge({ region: 'a' }, { region: 'a' }, { region: 'a', cordoned: true }), { region: 'a', cordoned: true });
  });
  it('lets the file win where it speaks, over a live change', () => {
    assert.deepEqual(threeWayMerge({ prods: 2 }, { prods: 3 }, { prods: 5, cordoned: true }), { prods: 3, cordoned: true });
    assert.deepEqual(threeWayMerge({ cordoned: false }, { cordoned: false }, { cordoned: true }), { cordoned: false });
  });
  it('removes what the file set last time and no longer sets', () => {
    assert.deepEqual(threeWayMerge({ prods: 2, testProds: 1 }, { prods: 2 }, { prods: 2, testProds: 1, cordoned: true }), { prods: 2, cordoned: true });
  });
  it('merges nested objects key by key and replaces arrays whole', () => {
    const last = { app: { command: 'node', env: { A: '1', B: '2' }, args: ['a', 'b'] } };
    const desired = { app: { command: 'node', env: { A: '1' }, args: ['c'] } };
    const live = { app: { command: 'node', env: { A: '1', B: '2', C: 'operator' }, args: ['a', 'b'], port: 80 } };
    assert.deepEqual(threeWayMerge(last, desired, live), { app: { command: 'node', env: { A: '1', C: 'operator' }, args: ['c'], port: 80 } });
  });
  it('without a last-applied record is a two-way merge: the file wins, nothing is removed', () => {
    assert.deepEqual(threeWayMerge(undefined, { prods: 3 }, { prods: 5, version: 'v1' }), { prods: 3, version: 'v1' });
  });
  it('with fileChangesOnly, a field the file sets as last time keeps the live value; a field the file changed wins', () => {
    const opts = { fileChangesOnly: true };
    // A release set version v2; the file still says v1, as when it was applied.
    assert.deepEqual(threeWayMerge({ prods: 6, version: 'v1' }, { prods: 6, version: 'v1' }, { prods: 6, version: 'v2' }, opts), { prods: 6, version: 'v2' });
    // The file changed prods only: prods applies, the version stays.
    assert.deepEqual(threeWayMerge({ prods: 6, version: 'v1' }, { prods: 8, version: 'v1' }, { prods: 6, version: 'v2' }, opts), { prods: 8, version: 'v2' });
    // The file changed the version: it wins.
    assert.deepEqual(threeWayMerge({ prods: 6, version: 'v1' }, { prods: 6, version: 'v3' }, { prods: 6, version: 'v2' }, opts), { prods: 6, version: 'v3' });
    // Nested: only the changed key of an object applies; removals still remove.
    assert.deepEqual(
      threeWayMerge({ app: { env: { A: '1' }, port: 80 } }, { app: { env: { A: '2' } } }, { app: { env: { A: '1', B: 'op' }, port: 81 } }, opts),
      { app: { env: { A: '2', B: 'op' } } },
    );
    // Without a record of the last apply, the file wins everywhere, as without the option.
    assert.deepEqual(threeWayMerge(undefined, { version: 'v1' }, { version: 'v2' }, opts), { version: 'v1' });
  });
  it('does not modify its inputs', () => {
    const live = { a: { b: 1 } };
    threeWayMerge({ a: { b: 1 } }, { a: { c: 2 } }, live);
    assert.deepEqual(live, { a: { b: 1 } });
  });
});

const cluster = (spec: Record<string, unknown>) => ({ apiVersion: 'drover.dev/v1alpha1', kind: 'Cluster', metadata: { name: 'tokyo', labels: { site: 'aws' } }, spec });

describe('applyDocument', () => {
  it('re-applying a file keeps a cordon, and a field removed from the file is removed from the object', async () => {
    const store = new MemoryStore();
    const first = await applyDocument(store, cluster({ region: 'r1', domain: 'tokyo', capacity: { prods: 4 } }));
    assert.equal(first.outcome, 'created');
    assert.ok(first.object.metadata.annotations[lastAppliedAnnotation]);
    // What `drover cluster cordon` does: a write outside apply.
    const live = (await store.get('Cluster', 'tokyo'))!;
    await store.update<Cluster>({ ...live, spec: { ...live.spec, cordoned: true } });

    const again = await applyDocument(store, cluster({ region: 'r1', domain: 'tokyo', capacity: { prods: 4 } }));
    assert.equal(again.outcome, 'unchanged');
    assert.equal((await store.get('Cluster', 'tokyo'))!.spec.cordoned, true);

    // `domain` dropped from the file: removed (the schema's default, the region, applies again).
    const dropped = await applyDocument(store, cluster({ region: 'r1', capacity: { prods: 4 } }));
    assert.equal(dropped.outcome, 'configured');
    const c = (await store.get('Cluster', 'tokyo'))!;
    assert.equal(c.spec.domain, undefined);
    assert.equal(c.spec.cordoned, true);

    // The file setting the field wins.
    await applyDocument(store, cluster({ region: 'r1', capacity: { prods: 4 }, cordoned: false }));
    assert.equal((await store.get('Cluster', 'tokyo'))!.spec.cordoned, false);
  });

  it('applied again by `drover up` (fileChangesOnly), the file does not undo a release: the Fleet keeps v2 until the file itself changes the version', async () => {
    const fleetDoc = (spec: Record<string, unknown>) => ({ apiVersion: 'drover.dev/v1alpha1', kind: 'Fleet', metadata: { name: 'web' }, spec: { app: { command: 'node' }, ...spec } });
    const store = new MemoryStore();
    await applyDocument(store, fleetDoc({ prods: 6, version: 'v1' }), { fileChangesOnly: true });
    // What a release does when it succeeds.
    const live = (await store.get<Fleet>('Fleet', 'web'))!;
    await store.update<Fleet>({ ...live, spec: { ...live.spec, version: 'v2' } });

    const restart = await applyDocument(store, fleetDoc({ prods: 6, version: 'v1' }), { fileChangesOnly: true });
    assert.equal(restart.outcome, 'unchanged');
    assert.equal((await store.get<Fleet>('Fleet', 'web'))!.spec.version, 'v2');
    // The file edited elsewhere: that edit applies, the version stays.
    await applyDocument(store, fleetDoc({ prods: 8, version: 'v1' }), { fileChangesOnly: true });
    let f = (await store.get<Fleet>('Fleet', 'web'))!;
    assert.deepEqual([f.spec.prods, f.spec.version], [8, 'v2']);
    // The file's version edited: it wins.
    await applyDocument(store, fleetDoc({ prods: 8, version: 'v3' }), { fileChangesOnly: true });
    f = (await store.get<Fleet>('Fleet', 'web'))!;
    assert.equal(f.spec.version, 'v3');
    // `drover apply` keeps kubectl's rule: the file wins where it speaks.
    await store.update<Fleet>({ ...f, spec: { ...f.spec, version: 'v4' } });
    await applyDocument(store, fleetDoc({ prods: 8, version: 'v3' }));
    assert.equal((await store.get<Fleet>('Fleet', 'web'))!.spec.version, 'v3');
  });

  it('labels and annotations merge the same way; the record of the last apply is not part of the record', async () => {
    const store = new MemoryStore();
    await applyDocument(store, { ...cluster({}), metadata: { name: 'tokyo', labels: { site: 'aws', tier: 'a' } } });
    const live = (await store.get('Cluster', 'tokyo'))!;
    await store.update<Cluster>({ ...live, metadata: { ...live.metadata, annotations: { ...live.metadata.annotations, 'ops/note': 'keep' } } });
    await applyDocument(store, { ...cluster({}), metadata: { name: 'tokyo', labels: { site: 'aws' } } });
    const c = (await store.get('Cluster', 'tokyo'))!;
    assert.deepEqual(c.metadata.labels, { site: 'aws' });
    assert.equal(c.metadata.annotations['ops/note'], 'keep');
    const record = JSON.parse(c.metadata.annotations[lastAppliedAnnotation]!) as { metadata: { annotations?: Record<string, string> } };
    assert.equal(record.metadata.annotations, undefined);
  });

  it('an object created outside apply (an agent registered the cluster) is merged two-way on its first apply', async () => {
    const store = new MemoryStore();
    await store.create(prepareFree({ region: 'r1', cordoned: true, capacity: { prods: 2 } }));
    await applyDocument(store, cluster({ region: 'r1', capacity: { prods: 4 } }));
    const c = (await store.get('Cluster', 'tokyo'))!;
    assert.equal(c.spec.cordoned, true);
    assert.equal(c.spec.capacity.prods, 4);
  });
});

function prepareFree(spec: Record<string, unknown>): Cluster {
  return { apiVersion: 'drover.dev/v1alpha1', kind: 'Cluster', metadata: { name: 'tokyo', labels: {}, annotations: {}, finalizers: [], ownerReferences: [] }, spec } as unknown as Cluster;
}

describe('relative paths in documents', () => {
  const dir = mkdtempSync(join(tmpdir(), 'drover-paths-'));
  mkdirSync(join(dir, 'app'));
  writeFileSync(join(dir, 'app', 'server.mjs'), '');
  const fleet = (app: Record<string, unknown>) => ({ apiVersion: 'drover.dev/v1alpha1', kind: 'Fleet', metadata: { name: 'web' }, spec: { version: 'v1', app } });

  it('resolves args naming a file next to the document, and a command with a slash; leaves words and flags', () => {
    const out = resolveDocumentPaths(fleet({ command: './bin/run', args: ['app/server.mjs', '--port', 'server.js', '-e'] }), dir) as ReturnType<typeof fleet>;
    assert.deepEqual(out.spec.app, { command: join(dir, 'bin', 'run'), args: [join(dir, 'app', 'server.mjs'), '--port', 'server.js', '-e'] });
    const node = resolveDocumentPaths(fleet({ command: 'node' }), dir) as ReturnType<typeof fleet>;
    assert.equal(node.spec.app.command, 'node');
  });

  it('prepareDocument stores them absolute, whatever the current directory', () => {
    const p = prepareDocument(fleet({ command: 'node', args: ['app/server.mjs'] }), { baseDir: dir });
    assert.deepEqual((p.config.spec as Fleet['spec']).app.args, [join(dir, 'app', 'server.mjs')]);
  });
});
