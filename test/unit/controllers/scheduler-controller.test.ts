import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AnyResource, Cluster, Prod, Tenant } from '../../../src/api/index.js';
import { schedulerController } from '../../../src/controllers/scheduler-controller.js';
import { evacuationBlockedAnnotation } from '../../../src/scheduler/evacuation.js';
import { errors } from '../../../src/errors.js';
import type { ObjectCache, ReconcileContext } from '../../../src/runtime/reconciler.js';
import { MemoryStore } from '../../../src/store/memory/memory-store.js';
import type { Store } from '../../../src/store/store.js';
import { cluster, fleet, prod, tenant } from '../../helpers/fixtures.js';

interface Recorded {
  name: string;
  type: string;
  reason: string;
  message: string;
}

function context(store: MemoryStore): { ctx: ReconcileContext; events: Recorded[] } {
  const events: Recorded[] = [];
  const ctx: ReconcileContext = {
    store,
    cache: store.view(),
    signal: new AbortController().signal,
    recordEvent: async (obj: AnyResource, type, reason, message) => {
      events.push({ name: obj.metadata.name, type, reason, message });
    },
  };
  return { ctx, events };
}

async function seed(store: Store): Promise<void> {
  await store.create(fleet('web'));
  for (const [c, d] of [['tokyo', 'jp'], ['osaka', 'jp2'], ['virginia', 'us']] as const) {
    await store.create(cluster(c, { domain: d, phase: 'Ready' }));
    for (const i of [1, 2]) {
      const p = prod(`${c}-${i}`, { cluster: c, phase: 'Ready' });
      const created = await store.create(p);
      await store.updateStatus({ ...created, status: p.status });
    }
  }
  for (let i = 0; i < 30; i++) await store.create(tenant(`t${String(i).padStart(2, '0')}`, { users: 10 + i, redundancy: i % 3 === 0 ? 2 : 1 }));
}

async function tenants(store: Store): Promise<Tenant[]> {
  return (await store.list('Tenant')).items;
}

async function setClusterPhase(store: Store, name: string, phase: 'Ready' | 'NotReady'): Promise<void> {
  const c = await store.get('Cluster', name);
  assert.ok(c);
  await store.updateStatus({ ...c, status: { ...c.status, conditions: c.status?.conditions ?? [], prods: 0, phase } });
}

describe('scheduler controller', () => {
  it('assigns every tenant, redundant ones in two domains, and writes nothing the second time', async () => {
    const store = new MemoryStore();
    await seed(store);
    const { ctx, events } = context(store);
    const r = schedulerController();
    assert.deepEqual(await r.listKeys(ctx), ['web']);
    await r.reconcile(ctx, 'web');
    for (const t of await tenants(store)) {
      assert.equal(t.status?.prods.length, t.spec.redundancy, t.metadata.name);
      assert.equal(new Set(t.status?.domains).size, t.spec.redundancy);
      assert.equal(t.status?.conditions.find((c) => c.type === 'Scheduled')?.status, 'True');
    }
    const rev = await store.revision();
    await r.reconcile(ctx, 'web');
    assert.equal(await store.revision(), rev, 'a second reconcile must not write');
    assert.equal(events.length, 0, 'first assignment is not a move');
  });

  it('moves the tenants of a NotReady cluster at once and records one event', async () => {
    const store = new MemoryStore();
    await seed(store);
    const { ctx, events } = context(store);
    const r = schedulerController();
    await r.reconcile(ctx, 'web');
    const before = new Map((await tenants(store)).map((t) => [t.metadata.name, t.status?.prods ?? []]));
    const onOsaka = [...before].filter(([, ps]) => ps.some((p) => p.startsWith('osaka-'))).map(([n]) => n);
    assert.ok(onOsaka.length > 0);
    await setClusterPhase(store, 'osaka', 'NotReady');
    await r.reconcile(ctx, 'web');
    for (const t of await tenants(store)) {
      const now = t.status?.prods ?? [];
      assert.ok(!now.some((p) => p.startsWith('osaka-')), `${t.metadata.name} still on osaka`);
      if (!onOsaka.includes(t.metadata.name)) assert.deepEqual(now, before.get(t.metadata.name), `${t.metadata.name} moved needlessly`);
      assert.equal(now.length, t.spec.redundancy, 'two domains remain, so redundancy is kept');
    }
    assert.equal(events.length, 1);
    assert.equal(events[0]?.reason, 'TenantsMoved');
    assert.equal(events[0]?.message, `Moved ${onOsaka.length} tenants: cluster osaka NotReady`);
  });

  it("hands a retired Prod's tenants to its successor without counting a move", async () => {
    const store = new MemoryStore();
    await seed(store);
    const { ctx, events } = context(store);
    const r = schedulerController();
    await r.reconcile(ctx, 'web');
    const succ = prod('tokyo-1b', { cluster: 'tokyo', phase: 'Ready', replaces: 'tokyo-1' });
    await store.updateStatus({ ...(await store.create(succ)), status: succ.status });
    await r.reconcile(ctx, 'web');
    assert.ok(!(await tenants(store)).some((t) => t.status?.prods.includes('tokyo-1b')), 'successor waits for takeover');
    const onPred = (await tenants(store)).filter((t) => t.status?.prods.includes('tokyo-1')).map((t) => t.metadata.name);
    const pred = await store.get('Prod', 'tokyo-1');
    assert.ok(pred);
    await store.update({ ...pred, spec: { ...pred.spec, retire: true } });
    await r.reconcile(ctx, 'web');
    const onSucc = (await tenants(store)).filter((t) => t.status?.prods.includes('tokyo-1b')).map((t) => t.metadata.name);
    assert.deepEqual(onSucc, onPred);
    assert.equal(events.length, 0);
  });

  it('moves nobody for a cordon, everybody off a drained cluster once the fleet cannot replace its Prods, and follows the tenant spec', async () => {
    const store = new MemoryStore();
    await seed(store);
    const { ctx, events } = context(store);
    const r = schedulerController();
    await r.reconcile(ctx, 'web');
    const setSpec = async (name: string, patch: Partial<Cluster['spec']>) => {
      const c = await store.get('Cluster', name);
      assert.ok(c);
      await store.update({ ...c, spec: { ...c.spec, ...patch } });
    };
    await setSpec('tokyo', { cordoned: true });
    let rev = await store.revision();
    await r.reconcile(ctx, 'web');
    assert.equal(await store.revision(), rev, 'cordon: no new Prods there, tenants stay');
    await setSpec('virginia', { draining: true });
    rev = await store.revision();
    await r.reconcile(ctx, 'web');
    assert.equal(await store.revision(), rev, 'a drain builds first: tenants stay until a successor takes them or the fleet cannot build one');
    for (const p of (await store.list('Prod')).items.filter((x) => x.spec.cluster === 'virginia')) {
      await store.update<Prod>({ ...p, metadata: { ...p.metadata, annotations: { ...p.metadata.annotations, [evacuationBlockedAnnotation]: 'no room' } } });
    }
    await r.reconcile(ctx, 'web');
    assert.ok(!(await tenants(store)).some((t) => t.status?.prods.some((p) => p.startsWith('virginia-'))));
    assert.match(events.at(-1)?.message ?? '', /^Moved \d+ tenants?: cluster virginia draining$/);

    const t = await store.get('Tenant', 't01');
    assert.ok(t);
    assert.equal(t.status?.prods.length, 1);
    await store.update({ ...t, spec: { ...t.spec, redundancy: 2 } });
    rev = await store.revision();
    await r.reconcile(ctx, 'web');
    const after = await store.get('Tenant', 't01');
    assert.equal(after?.status?.prods.length, 2);
    assert.equal(after?.status?.prods[0], t.status?.prods[0], 'keeps its Prod and adds one');
    assert.equal(after?.status?.observedGeneration, after?.metadata.generation);
  });

  it('explains a tenant with no Prod', async () => {
    const store = new MemoryStore();
    await seed(store);
    await store.create(tenant('qa', { test: true }));
    const { ctx } = context(store);
    await schedulerController().reconcile(ctx, 'web');
    const qa = await store.get('Tenant', 'qa');
    assert.deepEqual(qa?.status?.prods, []);
    assert.match(qa?.status?.reason ?? '', /^NoServingProd/);
    assert.equal(qa?.status?.conditions[0]?.status, 'False');
  });

  it('is not woken by its own status writes, only by spec changes, arrivals and departures', async () => {
    const store = new MemoryStore();
    await seed(store);
    const { ctx } = context(store);
    const r = schedulerController();
    await r.reconcile(ctx, 'web');
    const watch = r.watches.find((w) => w.kind === 'Tenant');
    assert.ok(watch?.mapToKeys, 'tenants are watched through a mapping');
    assert.ok((watch.delayMs ?? 0) > 0, 'tenant changes wait to share a pass');
    assert.ok(!r.watches.some((w) => w.kind !== 'Tenant' && (w.delayMs ?? 0) > 0), 'Prod and Cluster changes do not wait');
    const t = await store.get('Tenant', 't01');
    assert.ok(t?.status, 't01 has a status');
    const keys = (obj: Tenant, type: 'ADDED' | 'MODIFIED' | 'DELETED') => watch.mapToKeys?.(obj, { type, store });
    assert.deepEqual(await keys(t, 'MODIFIED'), [], 'its own status write');
    const respec = await store.update({ ...t, spec: { ...t.spec, users: 99 } });
    assert.deepEqual(await keys(respec, 'MODIFIED'), ['web'], 'a spec change');
    assert.deepEqual(await keys(t, 'ADDED'), ['web'], 'an arrival');
    assert.deepEqual(await keys(t, 'DELETED'), ['web'], 'a departure');
  });

  it('is not woken by a heartbeat, only by what it reads of a Cluster', async () => {
    const store = new MemoryStore();
    await seed(store);
    const watch = schedulerController().watches.find((w) => w.kind === 'Cluster');
    assert.ok(watch?.mapToKeys);
    const keys = (obj: Cluster, type: 'ADDED' | 'MODIFIED') => watch.mapToKeys?.(obj, { type, store });
    const c = await store.get('Cluster', 'tokyo');
    assert.ok(c);
    assert.deepEqual(await keys(c, 'ADDED'), ['web']);
    const beat = await store.updateStatus<Cluster>({ ...c, status: { ...c.status!, lastHeartbeat: new Date().toISOString() } });
    assert.deepEqual(await keys(beat, 'MODIFIED'), [], 'a heartbeat');
    const down = await store.updateStatus<Cluster>({ ...beat, status: { ...beat.status!, phase: 'NotReady' } });
    assert.deepEqual(await keys(down, 'MODIFIED'), ['web'], 'NotReady');
    const draining = await store.update<Cluster>({ ...down, spec: { ...down.spec, draining: true } });
    assert.deepEqual(await keys(draining, 'MODIFIED'), ['web'], 'a drain');
  });

  it('writes statuses concurrently, so that the store can commit them together', async () => {
    const inner = new MemoryStore();
    await seed(inner);
    let inFlight = 0;
    let most = 0;
    const store: MemoryStore = Object.assign(Object.create(inner) as MemoryStore, {
      updateStatus: async <T extends AnyResource>(obj: T): Promise<T> => {
        most = Math.max(most, ++inFlight);
        await new Promise((r) => setTimeout(r, 1));
        try {
          return await inner.updateStatus(obj);
        } finally {
          inFlight--;
        }
      },
    });
    const { ctx } = context(store);
    await schedulerController().reconcile(ctx, 'web');
    assert.ok((await tenants(inner)).every((t) => (t.status?.prods.length ?? 0) > 0), 'every tenant written');
    assert.ok(most > 1, `writes went one at a time (${most} in flight at most)`);
  });

  it('reads a watch cache that lags its own writes without moving anyone', async () => {
    const store = new MemoryStore();
    await seed(store);
    // A cache frozen before the first pass: it never shows the statuses the controller writes.
    const frozen = new Map<string, AnyResource[]>();
    for (const kind of ['Fleet', 'Cluster', 'Prod', 'Tenant']) frozen.set(kind, (await store.list(kind)).items);
    const cache: ObjectCache = {
      list: <T extends AnyResource>(kind: string) => (frozen.get(kind) ?? []) as T[],
      get: <T extends AnyResource>(kind: string, name: string) => frozen.get(kind)?.find((o) => o.metadata.name === name) as T | undefined,
    };
    const { ctx, events } = context(store);
    ctx.cache = cache;
    const r = schedulerController();
    await r.reconcile(ctx, 'web');
    const first = new Map((await tenants(store)).map((t) => [t.metadata.name, t.status?.prods]));
    assert.ok([...first.values()].every((ps) => (ps?.length ?? 0) > 0), 'the first pass placed everybody');
    // A big tenant arrives; placed afresh, biggest first, the others would land elsewhere.
    const big = await store.create(tenant('big', { users: 60 }));
    frozen.set('Tenant', [...(frozen.get('Tenant') ?? []), big]);
    await r.reconcile(ctx, 'web');
    for (const t of await tenants(store)) {
      if (t.metadata.name === 'big') assert.equal(t.status?.prods.length, 1, 'the new tenant is placed');
      else assert.deepEqual(t.status?.prods, first.get(t.metadata.name), `${t.metadata.name} moved on a stale cache`);
    }
    assert.equal(events.length, 0, 'no move recorded');
  });

  it('rewrites a status that says anything else, and leaves alone one that says it all', async () => {
    const store = new MemoryStore();
    await seed(store);
    const { ctx } = context(store);
    const r = schedulerController();
    await r.reconcile(ctx, 'web');
    const other = { type: 'Routed', status: 'True' as const, reason: 'Ok', message: '', lastTransitionTime: '2026-01-01T00:00:00.000Z' };
    const edits: Record<string, (s: NonNullable<Tenant['status']>) => NonNullable<Tenant['status']>> = {
      t00: (s) => ({ ...s, conditions: [...s.conditions, other] }), // Scheduled no longer last
      t01: (s) => ({ ...s, conditions: s.conditions.map((c) => ({ ...c, message: 'stale' })) }),
      t02: (s) => ({ ...s, conditions: [...s.conditions, ...s.conditions] }), // Scheduled twice
      t03: (s) => ({ ...s, prods: [] }),
      t04: (s) => ({ ...s, conditions: [other, ...s.conditions] }), // another controller's condition, Scheduled last
      t05: (s) => ({ ...s, conditions: s.conditions.map((c) => ({ ...c, lastTransitionTime: '2026-01-01T00:00:00.000Z' })) }),
    };
    const rv = new Map<string, string | undefined>();
    for (const [name, edit] of Object.entries(edits)) {
      const t = await store.get('Tenant', name);
      assert.ok(t?.status, `${name} has a status`);
      rv.set(name, (await store.updateStatus({ ...t, status: edit(t.status) })).metadata.resourceVersion);
    }
    await r.reconcile(ctx, 'web');
    const rewritten = new Set<string>();
    for (const name of Object.keys(edits)) if ((await store.get('Tenant', name))?.metadata.resourceVersion !== rv.get(name)) rewritten.add(name);
    assert.deepEqual([...rewritten].sort(), ['t00', 't01', 't02', 't03'], 'rewritten exactly where the status says something else');
    const t00 = await store.get('Tenant', 't00');
    assert.deepEqual(t00?.status?.conditions.map((c) => c.type), ['Routed', 'Scheduled'], 'one Scheduled condition, last');
  });

  it('retries a status write on a resourceVersion conflict', async () => {
    const inner = new MemoryStore();
    await seed(inner);
    let conflicts = 0;
    const store: MemoryStore = Object.assign(Object.create(inner) as MemoryStore, {
      updateStatus: async <T extends AnyResource>(obj: T): Promise<T> => {
        if (obj.kind === 'Tenant' && conflicts < 2) {
          conflicts++;
          throw errors.conflict(obj.kind, obj.metadata.name, obj.metadata.resourceVersion ?? '', '?');
        }
        return inner.updateStatus(obj);
      },
    });
    const { ctx } = context(store);
    await schedulerController().reconcile(ctx, 'web');
    assert.equal(conflicts, 2);
    assert.ok((await tenants(inner)).every((t) => (t.status?.prods.length ?? 0) > 0));
  });
});
