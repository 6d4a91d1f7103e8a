import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateResource } from '../../../src/api/validate.js';
import { referenceController } from '../../../src/controllers/reference-controller.js';
import type { ReconcileContext } from '../../../src/runtime/reconciler.js';
import { MemoryStore } from '../../../src/store/memory/memory-store.js';

const doc = (kind: string, name: string, spec: Record<string, unknown>) => validateResource({ apiVersion: 'drover.dev/v1alpha1', kind, metadata: { name }, spec }).resource;

describe('reference controller', () => {
  it('marks a tenant whose fleet does not exist, and flips the condition when the fleet is applied', async () => {
    const store = new MemoryStore();
    const ctx: ReconcileContext = { store, cache: store.view(), signal: new AbortController().signal, recordEvent: async () => {} };
    const c = referenceController({ now: () => 0 });
    await store.create(doc('Tenant', 'early', { fleet: 'shop' }));
    await c.reconcile(ctx, 'Tenant/early');
    const cond = () => store.get('Tenant', 'early').then((t) => t!.status?.conditions.find((x) => x.type === 'FleetFound'));
    assert.equal((await cond())?.status, 'False');
    assert.equal((await cond())?.reason, 'FleetNotFound');

    await store.create(doc('Fleet', 'shop', { version: 'v1', app: { command: 'x' } }));
    assert.deepEqual(await c.watches.find((w) => w.kind === 'Fleet')!.mapToKeys!((await store.get('Fleet', 'shop'))!, { type: 'ADDED', store }), ['Tenant/early']);
    await c.reconcile(ctx, 'Tenant/early');
    assert.equal((await cond())?.status, 'True');
  });

  it('writes nothing for a tenant whose fleet exists (no write per tenant at start)', async () => {
    const store = new MemoryStore();
    const ctx: ReconcileContext = { store, cache: store.view(), signal: new AbortController().signal, recordEvent: async () => {} };
    await store.create(doc('Fleet', 'web', { version: 'v1', app: { command: 'x' } }));
    const t = await store.create(doc('Tenant', 'a', { fleet: 'web' }));
    await referenceController().reconcile(ctx, 'Tenant/a');
    assert.equal((await store.get('Tenant', 'a'))!.metadata.resourceVersion, t.metadata.resourceVersion);
  });

  it('marks a policy naming a domain with no cluster', async () => {
    const store = new MemoryStore();
    const ctx: ReconcileContext = { store, cache: store.view(), signal: new AbortController().signal, recordEvent: async () => {} };
    await store.create(doc('Fleet', 'web', { version: 'v1', app: { command: 'x' } }));
    await store.create(doc('Cluster', 'tokyo', { domain: 'tokyo' }));
    await store.create(doc('TrafficPolicy', 'web', { fleet: 'web', endpointGroups: [{ domain: 'tokyo' }, { domain: 'mars' }] }));
    const c = referenceController();
    await c.reconcile(ctx, 'TrafficPolicy/web');
    const p = (await store.get('TrafficPolicy', 'web'))!;
    const d = p.status?.conditions.find((x) => x.type === 'DomainsKnown');
    assert.equal(d?.status, 'False');
    assert.match(d?.message ?? '', /mars/);
    assert.equal(p.status?.conditions.find((x) => x.type === 'FleetFound'), undefined, 'a True condition is not written for nothing');
    await store.create(doc('Cluster', 'mars1', { domain: 'mars' }));
    await c.reconcile(ctx, 'TrafficPolicy/web');
    assert.equal((await store.get('TrafficPolicy', 'web'))!.status?.conditions.find((x) => x.type === 'DomainsKnown')?.status, 'True');
  });
});
