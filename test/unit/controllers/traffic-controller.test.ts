import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Cluster, Fleet, Prod, Tenant } from '../../../src/api/index.js';
import { TrafficController } from '../../../src/controllers/traffic-controller.js';
import { controllerFactories } from '../../../src/controllers/index.js';
import type { ReconcileContext } from '../../../src/runtime/reconciler.js';
import { waitFor } from '../../helpers/wait-for.js';
import { MemoryStore } from '../../../src/store/memory/memory-store.js';

const meta = (name: string) => ({ apiVersion: 'drover.dev/v1alpha1' as const, metadata: { name } });

async function setup() {
  const store = new MemoryStore();
  const ctx: ReconcileContext = { store, cache: store.view(), signal: new AbortController().signal, recordEvent: async () => {} };
  await store.create(Fleet.parse({ ...meta('web'), kind: 'Fleet', spec: { version: 'v1', app: { command: 'node' } } }));
  await store.create(Cluster.parse({ ...meta('c1'), kind: 'Cluster', spec: { region: 'tokyo' } }));
  const p = await store.create(Prod.parse({ ...meta('web-1'), kind: 'Prod', spec: { fleet: 'web', cluster: 'c1', version: 'v1' } }));
  await store.updateStatus({ ...p, status: Prod.shape.status.unwrap().parse({ phase: 'Ready', endpoint: 'http://127.0.0.1:9/' }) });
  const t = await store.create(Tenant.parse({ ...meta('shop'), kind: 'Tenant', spec: { fleet: 'web', match: { hosts: ['shop.test'] } } }));
  await store.updateStatus({ ...t, status: Tenant.shape.status.unwrap().parse({ prods: ['web-1'] }) });
  return { store, ctx };
}

describe('TrafficController', () => {
  it('is registered', () => {
    assert.ok(controllerFactories.some((f) => f({ store: new MemoryStore() }).name === 'traffic'));
  });

  it('writes one plan per fleet and bumps the revision only when content changes', async () => {
    const { store, ctx } = await setup();
    const c = new TrafficController();
    assert.deepEqual(await c.listKeys(ctx), ['web']);
    await c.reconcile(ctx, 'web');
    const first = await store.get('TrafficPlan', 'web');
    assert.ok(first);
    assert.equal(first.spec.revision, 1);
    // Tenants are not in the plan object: each has its own TrafficRoute.
    assert.deepEqual(first.spec.tenants, []);
    const route = await store.get('TrafficRoute', 'shop');
    assert.deepEqual(route?.spec.prods, ['web-1']);
    assert.equal(route?.spec.fleet, 'web');
    assert.equal(first.metadata.ownerReferences[0]?.name, 'web');

    await c.reconcile(ctx, 'web');
    const same = await store.get('TrafficPlan', 'web');
    assert.equal(same?.metadata.resourceVersion, first.metadata.resourceVersion);

    const cl = await store.get('Cluster', 'c1');
    await store.update({ ...cl!, spec: { ...cl!.spec, cordoned: true } });
    assert.deepEqual(c.watches.find((w) => w.kind === 'Cluster')?.mapToKeys?.(cl!, { type: 'MODIFIED', store }), ['web']);
    await c.reconcile(ctx, 'web');
    const second = await store.get('TrafficPlan', 'web');
    assert.equal(second?.spec.revision, 2);
    assert.equal(second?.spec.endpoints[0]?.failoverTarget, false);
  });

  it('deletes the plan when the fleet goes', async () => {
    const { store, ctx } = await setup();
    const c = new TrafficController();
    await c.reconcile(ctx, 'web');
    await store.delete('Fleet', 'web');
    await c.reconcile(ctx, 'web');
    assert.equal(await store.get('TrafficPlan', 'web'), undefined);
    assert.equal(await store.get('TrafficRoute', 'shop'), undefined);
  });

  it('a tenant change rewrites that tenant\'s route only, and leaves the plan alone', async () => {
    const { store, ctx } = await setup();
    for (let i = 0; i < 20; i++) {
      const t = await store.create(Tenant.parse({ ...meta(`t${i}`), kind: 'Tenant', spec: { fleet: 'web', match: { hosts: [`t${i}.test`] } } }));
      await store.updateStatus({ ...t, status: Tenant.shape.status.unwrap().parse({ prods: ['web-1'] }) });
    }
    const c = new TrafficController();
    await c.reconcile(ctx, 'web');
    const plan = await store.get('TrafficPlan', 'web');
    const rev = await store.revision();
    const t = await store.get('Tenant', 't3');
    await store.update({ ...t!, spec: { ...t!.spec, match: { hosts: ['new.test'] } } });
    const before = await store.revision();
    const changes: string[] = [];
    const ac = new AbortController();
    const seen = (async () => {
      for await (const ev of store.watch({ kind: 'TrafficRoute', resourceVersion: before, signal: ac.signal })) changes.push(ev.object.metadata.name);
    })();
    assert.deepEqual(c.watches.filter((w) => w.kind === 'Tenant' && !w.delayMs).flatMap((w) => w.mapToKeys?.(t!, { type: 'MODIFIED', store }) as string[]), ['tenant/t3']);
    await c.reconcile(ctx, 'tenant/t3');
    assert.deepEqual((await store.get('TrafficRoute', 't3'))?.spec.hosts, ['new.test']);
    assert.equal(BigInt(await store.revision()) - BigInt(before), 1n, 'one write: the route of t3');
    assert.equal((await store.get('TrafficPlan', 'web'))?.metadata.resourceVersion, plan?.metadata.resourceVersion);
    await waitFor('the route event', () => changes.length >= 1);
    ac.abort();
    await seen.catch(() => {});
    assert.deepEqual(changes, ['t3']);
    assert.ok(BigInt(rev) < BigInt(before));
  });
  it("writes a new tenant's route once, when the scheduler has placed it, and without a placement after a bounded wait", async (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: 1_000_000 });
    const { store, ctx } = await setup();
    const c = new TrafficController();
    await c.reconcile(ctx, 'web');
    const created = await store.create(Tenant.parse({ ...meta('new'), kind: 'Tenant', spec: { fleet: 'web', match: { hosts: ['new.test'] } } }));
    const writes: string[] = [];
    const counting: ReconcileContext = {
      ...ctx,
      store: Object.assign(Object.create(store) as MemoryStore, {
        create: (o: Parameters<MemoryStore['create']>[0]) => (writes.push(`create ${o.kind}`), store.create(o)),
        update: (o: Parameters<MemoryStore['update']>[0]) => (writes.push(`update ${o.kind}`), store.update(o)),
      }),
    };
    // Not placed yet: no route, come back within the wait.
    const r1 = await c.reconcile(counting, 'tenant/new');
    assert.ok((r1.requeueAfterMs ?? 0) > 0 && (r1.requeueAfterMs ?? 0) <= 1_000, `requeue after ${r1.requeueAfterMs}`);
    assert.equal(await store.get('TrafficRoute', 'new'), undefined);
    // Placed: one route write, naming its Prod.
    await store.updateStatus({ ...created, status: Tenant.shape.status.unwrap().parse({ prods: ['web-1'] }) });
    assert.deepEqual(await c.reconcile(counting, 'tenant/new'), {});
    assert.deepEqual((await store.get('TrafficRoute', 'new'))?.spec.prods, ['web-1']);
    assert.deepEqual(writes, ['create TrafficRoute']);

    // A tenant the scheduler never places still gets its route once the wait is over.
    await store.create(Tenant.parse({ ...meta('orphan'), kind: 'Tenant', spec: { fleet: 'web', match: { hosts: ['orphan.test'] } } }));
    assert.ok(((await c.reconcile(counting, 'tenant/orphan')).requeueAfterMs ?? 0) > 0);
    t.mock.timers.tick(1_000);
    assert.deepEqual(await c.reconcile(counting, 'tenant/orphan'), {});
    assert.deepEqual((await store.get('TrafficRoute', 'orphan'))?.spec.prods, []);
  });
});
