/**
 * The Informer against the real thing: a SQLite store with a short history behind the real API server,
 * read through a RemoteStore. While the server is away the informer keeps its cache; the store compacts
 * past the informer's revision meanwhile, so the reconnecting watch gets a 410 over HTTP, and the
 * re-list must emit the delete that happened in the gap. The edge's plan source, on the same informers,
 * keeps its last plans through the outage and drops the deleted route after it.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TrafficPlan, TrafficRoute, type TrafficPlanSpec } from '../../../src/api/kinds/traffic-plan.js';
import { RemoteStore } from '../../../src/client/remote-store.js';
import { StorePlanSource } from '../../../src/edge/plan-source.js';
import { Informer } from '../../../src/runtime/informer.js';
import { startApiServer, type ApiServer } from '../../../src/server/api-server.js';
import { openStore } from '../../../src/store/open-store.js';
import { compilePlan } from '../../../src/traffic/compile-plan.js';
import type { Store } from '../../../src/store/store.js';
import { waitFor } from '../../helpers/wait-for.js';
import { cluster, fleet } from '../../helpers/fixtures.js';

const TOKEN = 'admin-token-informer-410';
const HISTORY = 5;

const plan = (name: string) =>
  TrafficPlan.parse({ apiVersion: 'drover.dev/v1alpha1', kind: 'TrafficPlan', metadata: { name }, spec: compilePlan({ fleet: fleet(name), prods: [], clusters: [], tenants: [], revision: 1 }) });
const route = (name: string, fleetName: string) =>
  TrafficRoute.parse({ apiVersion: 'drover.dev/v1alpha1', kind: 'TrafficRoute', metadata: { name }, spec: { fleet: fleetName, name, hosts: [`${name}.example.com`], redundancy: 1, prods: [] } });

describe('Informer over the API server and a SQLite store with a short history', () => {
  let dir = '';
  let store: Store;
  let api: ApiServer;
  let remote: RemoteStore;

  const serve = async (listen: string) => {
    api = await startApiServer({ store, listen, tokens: [{ token: TOKEN, role: 'admin' }], processMetrics: false, log: () => {} });
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'drover-informer-'));
    store = await openStore({ backend: 'sqlite', dataDir: dir, historySize: HISTORY });
    await serve('127.0.0.1:0');
    remote = new RemoteStore({ server: api.url, token: TOKEN });
  });
  after(async () => {
    await remote.close();
    await api.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('re-lists after the 410 the server answers for a compacted revision, emitting the deletes of the gap', async () => {
    for (const n of ['a', 'b', 'c']) await store.create(cluster(n));
    await store.create(plan('web'));
    for (const r of ['shop', 'blog']) await store.create(route(r, 'web'));

    const log: string[] = [];
    const errors: string[] = [];
    const informer = new Informer(remote, 'Cluster', { minBackoffMs: 20, maxBackoffMs: 200, onError: (e) => errors.push(String(e)) });
    informer.addHandler({
      onAdd: (o) => log.push(`add ${o.metadata.name}`),
      onUpdate: (_old, o) => log.push(`update ${o.metadata.name}`),
      onDelete: (o) => log.push(`delete ${o.metadata.name}`),
    });
    let plans: readonly TrafficPlanSpec[] = [];
    const source = new StorePlanSource(remote, { backoffMs: { min: 20, max: 200 }, coalesceMs: 1 });
    informer.start();
    try {
      await source.start((p) => (plans = p));
      await informer.waitForSync({ timeoutMs: 10_000 });
      assert.deepEqual(plans[0]?.tenants.map((t) => t.name).sort(), ['blog', 'shop']);
      assert.deepEqual(log.sort(), ['add a', 'add b', 'add c']);
      const rvBefore = informer.resourceVersion!;
      log.length = 0;

      const port = api.port;
      await api.close({ graceMs: 0 });
      await waitFor('the informer to notice the server is gone', () => informer.status().connected === false && errors.length > 0);
      await waitFor('the plan source to notice', () => source.status().connected === false);

      // While the server is away: a delete, then enough writes to compact the informer's revision away.
      await store.delete('Cluster', 'b');
      await store.delete('TrafficRoute', 'blog');
      for (let i = 0; i < HISTORY + 3; i++) await store.create(cluster(`n${i}`));
      assert.ok(BigInt(await store.revision()) - BigInt(rvBefore) > BigInt(HISTORY));
      assert.ok(informer.get('b'), 'static stability: the cache still has b');
      assert.deepEqual(plans[0]?.tenants.map((t) => t.name).sort(), ['blog', 'shop'], 'the edge keeps its last plan');

      await serve(`127.0.0.1:${port}`);
      await waitFor('the re-list', () => informer.get('b') === undefined && informer.get(`n${HISTORY + 2}`) !== undefined, { timeoutMs: 15_000 });
      assert.ok(log.includes('delete b'), `the delete of the gap is emitted: ${log.join(', ')}`);
      assert.equal(log.filter((l) => l.startsWith('add n')).length, HISTORY + 3);
      assert.equal(informer.status().lists, 2, 'one re-list, after the 410');
      assert.equal(informer.resourceVersion, await store.revision());
      assert.ok(errors.some((e) => /GONE|too old|compacted/i.test(e)), `the server answered 410: ${errors.join(' | ')}`);
      await waitFor('the plan source drops the deleted route', () => plans[0]?.tenants.map((t) => t.name).join() === 'shop', { timeoutMs: 15_000 });

      // And it follows live changes through the server again.
      await remote.delete('Cluster', 'a');
      await waitFor('a live delete after the re-list', () => informer.get('a') === undefined);
    } finally {
      await source.stop();
      await informer.stop();
    }
  });
});
