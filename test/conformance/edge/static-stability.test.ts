/**
 * Conformance (Drover edge with its control-plane plan source): the traffic controller compiles plans
 * from Fleets/Prods/Tenants in a store, the edge follows them through the store's watch, keeps serving
 * its last plan while the control plane is unreachable, and picks up changes once it is back.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Cluster, Fleet, Prod, Tenant } from '../../../src/api/index.js';
import type { AnyResource } from '../../../src/api/resource.js';
import { TrafficController } from '../../../src/controllers/traffic-controller.js';
import { Edge } from '../../../src/edge/edge.js';
import { StorePlanSource } from '../../../src/edge/plan-source.js';
import { DroverError } from '../../../src/errors.js';
import type { ReconcileContext } from '../../../src/runtime/reconciler.js';
import { MemoryStore } from '../../../src/store/memory/memory-store.js';
import type { ListOptions, ListResult, Store, WatchEvent, WatchOptions } from '../../../src/store/store.js';
import { client, distribution, get } from './harness.js';
import { waitFor } from '../../helpers/wait-for.js';
import { startUpstream, type UpstreamServer } from './upstream.js';

/** A store whose server can go away: while down every call fails and open watches break. */
class UnreachableStore implements Store {
  down = false;
  private readonly watches = new Set<AbortController>();
  constructor(private readonly inner: MemoryStore) {}
  setDown(down: boolean): void {
    this.down = down;
    if (down) for (const w of this.watches) w.abort();
  }
  private check(): void {
    if (this.down) throw new DroverError('DROVER_E_UNAVAILABLE', 'connect ECONNREFUSED (control plane is down)');
  }
  async get<T extends AnyResource>(kind: string, name: string) {
    this.check();
    return this.inner.get<T>(kind, name);
  }
  async list<T extends AnyResource>(kind: string, opts?: ListOptions): Promise<ListResult<T>> {
    this.check();
    return this.inner.list<T>(kind, opts);
  }
  create<T extends AnyResource>(obj: T) {
    return this.inner.create(obj);
  }
  update<T extends AnyResource>(obj: T) {
    return this.inner.update(obj);
  }
  updateStatus<T extends AnyResource>(obj: T) {
    return this.inner.updateStatus(obj);
  }
  delete<T extends AnyResource>(kind: string, name: string, opts?: { resourceVersion?: string }) {
    return this.inner.delete<T>(kind, name, opts);
  }
  async *watch(opts: WatchOptions): AsyncIterable<WatchEvent> {
    this.check();
    const ac = new AbortController();
    this.watches.add(ac);
    opts.signal?.addEventListener('abort', () => ac.abort(), { once: true });
    try {
      yield* this.inner.watch({ ...opts, signal: ac.signal });
      if (!opts.signal?.aborted) throw new DroverError('DROVER_E_UNAVAILABLE', 'watch stream broke (control plane is down)');
    } finally {
      this.watches.delete(ac);
    }
  }
  revision() {
    return this.inner.revision();
  }
  close() {
    return this.inner.close();
  }
}

const meta = (name: string) => ({ apiVersion: 'drover.dev/v1alpha1' as const, metadata: { name } });

describe('control plane → edge (static stability)', () => {
  const memory = new MemoryStore();
  const store = new UnreachableStore(memory);
  const ctx: ReconcileContext = { store: memory, cache: memory.view(), signal: new AbortController().signal, recordEvent: async () => {} };
  const controller = new TrafficController();
  const ups: UpstreamServer[] = [];
  const agent = client();
  const source = new StorePlanSource(store, { fleets: ['web'], backoffMs: { min: 20, max: 100 } });
  let edge: Edge;
  let base = '';

  const readyProd = async (name: string, cluster: string, url: string) => {
    const p = await memory.create(Prod.parse({ ...meta(name), kind: 'Prod', spec: { fleet: 'web', cluster, version: 'v1' } }));
    await memory.updateStatus({ ...p, status: Prod.shape.status.unwrap().parse({ phase: 'Ready', endpoint: url }) });
  };

  before(async () => {
    for (const n of ['web-1', 'web-2']) ups.push(await startUpstream(n));
    await memory.create(Fleet.parse({ ...meta('web'), kind: 'Fleet', spec: { version: 'v1', app: { command: 'node' } } }));
    await memory.create(Cluster.parse({ ...meta('tokyo-1'), kind: 'Cluster', spec: { region: 'tokyo' } }));
    await memory.create(Cluster.parse({ ...meta('osaka-1'), kind: 'Cluster', spec: { region: 'osaka' } }));
    await readyProd('web-1', 'tokyo-1', ups[0]!.url);
    await readyProd('web-2', 'osaka-1', ups[1]!.url);
    const t = await memory.create(Tenant.parse({ ...meta('shop'), kind: 'Tenant', spec: { fleet: 'web', match: { hosts: ['shop.example.com'] } } }));
    await memory.updateStatus({ ...t, status: Tenant.shape.status.unwrap().parse({ prods: ['web-1'] }) });
    await controller.reconcile(ctx, 'web');
    edge = new Edge({ source, listen: { host: '127.0.0.1', port: 0 }, adminListen: false });
    base = (await edge.start()).url;
  });
  after(async () => {
    await edge.stop();
    await agent.close();
    for (const u of ups) await u.close();
  });

  it('serves the compiled plan: tenant to its Prod, the rest over both groups', async () => {
    assert.equal((await get(agent, base, '/', { host: 'shop.example.com' })).upstream, 'web-1');
    const d = await distribution(agent, base, 400);
    assert.ok((d.get('web-1') ?? 0) > 100 && (d.get('web-2') ?? 0) > 100, JSON.stringify([...d]));
  });

  it('keeps serving the last plan while the control plane is down, and follows it again when back', async () => {
    store.setDown(true);
    await waitFor('the edge notices the control plane is gone', () => source.status().connected === false, { timeoutMs: 3000 });
    // The scheduler moves the tenant meanwhile; the edge cannot know yet.
    const t = (await memory.get('Tenant', 'shop'))!;
    await memory.updateStatus({ ...t, status: { ...t.status!, prods: ['web-2'] } });
    // A tenant change is the tenant's own route (its key), not a rewrite of the fleet's plan.
    await controller.reconcile(ctx, 'tenant/shop');
    await controller.reconcile(ctx, 'web');
    for (let i = 0; i < 50; i++) assert.equal((await get(agent, base, '/', { host: 'shop.example.com' })).upstream, 'web-1', 'last plan still served');
    assert.equal(edge.currentPlans()[0]?.revision, 1);
    store.setDown(false);
    await waitFor('the edge follows the new plan', async () => (await get(agent, base, '/', { host: 'shop.example.com' })).upstream === 'web-2', { timeoutMs: 5000 });
    // The move reached the edge as the tenant's route (the fleet plan itself did not change).
    assert.deepEqual(edge.currentPlans()[0]?.tenants.find((x) => x.name === 'shop')?.prods, ['web-2']);
  });
});
