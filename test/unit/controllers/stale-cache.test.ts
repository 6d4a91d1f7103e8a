/**
 * Controllers read the manager's cache, which lags their own writes: a pass that runs before the watch
 * delivered them must not take its own work for undone. Each test freezes the cache before the first
 * pass (it never shows what the controller writes) and runs the controller twice.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AnyResource } from '../../../src/api/resource.js';
import { fleetController } from '../../../src/controllers/fleet-controller.js';
import { referenceController } from '../../../src/controllers/reference-controller.js';
import type { ObjectCache, ReconcileContext } from '../../../src/runtime/reconciler.js';
import { MemoryStore } from '../../../src/store/memory/memory-store.js';
import type { Store } from '../../../src/store/store.js';
import { cluster, fleet, tenant } from '../../helpers/fixtures.js';

/** A cache holding `kinds` as the store has them now, never updated. */
async function frozenCache(store: Store, kinds: string[]): Promise<ObjectCache> {
  const frozen = new Map<string, AnyResource[]>();
  for (const kind of kinds) frozen.set(kind, (await store.list(kind)).items);
  return {
    list: <T extends AnyResource>(kind: string) => (frozen.get(kind) ?? []) as T[],
    get: <T extends AnyResource>(kind: string, name: string) => frozen.get(kind)?.find((o) => o.metadata.name === name) as T | undefined,
  };
}

function context(store: Store, cache: ObjectCache): ReconcileContext {
  return { store, cache, signal: new AbortController().signal, recordEvent: async () => undefined };
}

describe('controllers on a cache that lags their own writes', () => {
  it('the fleet controller does not create a Prod again that it created a pass ago', async () => {
    const store = new MemoryStore();
    await store.create(fleet('web', { app: { command: 'node' }, prods: 3 }));
    for (const [name, domain] of [['tokyo', 'jp'], ['osaka', 'jp2'], ['virginia', 'us']] as const) {
      const c = await store.create(cluster(name, { domain, capacity: 10, provider: 'local', phase: 'Ready' }));
      await store.updateStatus({ ...c, status: { phase: 'Ready', prods: 0, conditions: [], lastHeartbeat: new Date().toISOString() } });
    }
    const ctx = context(store, await frozenCache(store, ['Fleet', 'Cluster', 'Prod', 'Release']));
    const r = fleetController({ startupHoldMs: 0 });
    await r.reconcile(ctx, 'web');
    assert.equal((await store.list('Prod')).items.length, 3, 'the first pass creates the fleet');
    await r.reconcile(ctx, 'web');
    assert.equal((await store.list('Prod')).items.length, 3, 'the second pass, on the same stale cache, creates none');
  });

  it('the reference controller decides on the cache and writes only what the stored object lacks', async () => {
    const store = new MemoryStore();
    await store.create(tenant('t1', { fleet: 'nowhere' }));
    const ctx = context(store, await frozenCache(store, ['Tenant', 'Fleet', 'TrafficPolicy', 'Cluster']));
    const r = referenceController();
    await r.reconcile(ctx, 'Tenant/t1');
    const written = await store.get('Tenant', 't1');
    assert.equal(written?.status?.conditions.find((c) => c.type === 'FleetFound')?.status, 'False');
    // The cache still shows the tenant without the condition: the pass reads the store before it writes.
    await r.reconcile(ctx, 'Tenant/t1');
    assert.equal((await store.get('Tenant', 't1'))?.metadata.resourceVersion, written?.metadata.resourceVersion, 'no second write');
  });
});
