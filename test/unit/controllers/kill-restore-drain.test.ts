/**
 * Issue 11 item 4 as a sequence, on the real cluster, fleet, prod and scheduler controllers with
 * simulated agents: `chaos kill-cluster osaka`, `chaos restore osaka`, `cluster drain onprem`. After the
 * restore the fleet uses osaka again (spread back); the drain builds before it moves, so the redundant tenants keep
 * two failure domains and the test tenant is only ever on a test Prod, and is never left without one
 * while the drain runs.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clusterDomain, type Cluster } from '../../../src/api/kinds/cluster.js';
import type { Prod } from '../../../src/api/kinds/prod.js';
import { Tenant } from '../../../src/api/kinds/tenant.js';
import { clusterController } from '../../../src/controllers/cluster-controller.js';
import { fleetController } from '../../../src/controllers/fleet-controller.js';
import { prodController } from '../../../src/controllers/prod-controller.js';
import { schedulerController } from '../../../src/controllers/scheduler-controller.js';
import { setClusterState } from '../../../src/lifecycle/cluster-ops.js';
import { silentLogger } from '../../../src/runtime/logger.js';
import { Manager } from '../../../src/runtime/manager.js';
import { MemoryStore } from '../../../src/store/memory/memory-store.js';
import { FakeAgents, prodsOf } from '../../helpers/fake-agents.js';
import { cluster, fleet } from '../../helpers/fixtures.js';
import { waitFor } from '../../helpers/wait-for.js';

const grace = 1000;

function tenant(name: string, spec: Record<string, unknown>): Tenant {
  return Tenant.parse({ apiVersion: 'drover.dev/v1alpha1', kind: 'Tenant', metadata: { name }, spec: { fleet: 'web', users: 10, match: { hosts: [`${name}.example`] }, ...spec } });
}

describe('kill, restore, drain', () => {
  it('uses the restored domain again, and a drain keeps redundancy and test tenants on test Prods', async () => {
    const store = new MemoryStore();
    for (const n of ['tokyo', 'osaka', 'onprem']) {
      await store.create(cluster(n, { spec: { region: n, domain: n, heartbeatGraceMs: grace, evictionTimeoutMs: 1500, capacity: { prods: 4 } } }));
    }
    const agents = new FakeAgents(store);
    for (const n of ['tokyo', 'osaka', 'onprem']) agents.alive.add(n);
    agents.start();
    const m = new Manager({
      store,
      reconcilers: [clusterController(), fleetController({ retireTimeoutMs: 10_000, unplaceableRetryMs: 50 }), prodController(), schedulerController()],
      logger: silentLogger,
    });
    m.start();
    const watching = new AbortController();
    try {
      await store.create(fleet('web', { spec: { prods: 6, testProds: 1 } }));
      for (const t of [tenant('bigmart', { redundancy: 2 }), tenant('megastore', { redundancy: 2 }), tenant('qa', { test: true }), tenant('corner', {}), tenant('deli', {})]) {
        await store.create(t);
      }
      const prodsNow = new Map<string, Prod>();
      const clustersNow = new Map<string, Cluster>();
      const refresh = async () => {
        prodsNow.clear();
        for (const p of await prodsOf(store, 'web')) prodsNow.set(p.metadata.name, p);
        clustersNow.clear();
        for (const c of (await store.list('Cluster')).items) clustersNow.set(c.metadata.name, c);
      };
      const spread = () => {
        const out: Record<string, number> = {};
        for (const p of [...prodsNow.values()].sort((a, b) => a.spec.cluster.localeCompare(b.spec.cluster))) if (!p.spec.retire) out[p.spec.cluster] = (out[p.spec.cluster] ?? 0) + 1;
        return out;
      };
      const settled = async (what: string, extra: () => boolean) =>
        waitFor(
          what,
          async () => {
            await refresh();
            const live = [...prodsNow.values()].filter((p) => !p.spec.retire);
            return prodsNow.size === 6 && live.length === 6 && live.every((p) => p.status?.phase === 'Ready') && extra();
          },
          { timeoutMs: 20_000 },
        );
      const tenantsServed = async () => {
        const ts = (await store.list('Tenant')).items;
        return ts.every((t) => (t.status?.prods.length ?? 0) === t.spec.redundancy);
      };

      // Every write of the test tenant's status: only ever test Prods.
      const qaHistory: string[][] = [];
      const violations: string[] = [];
      const watch = (async () => {
        const rv = await store.revision();
        for await (const ev of store.watch({ kind: 'Tenant', resourceVersion: rv, signal: watching.signal })) {
          const t = ev.object as Tenant;
          if (t.metadata.name !== 'qa' || ev.type === 'DELETED') continue;
          const prods = t.status?.prods ?? [];
          qaHistory.push(prods);
          for (const name of prods) {
            const p = prodsNow.get(name) ?? (await store.get('Prod', name));
            if (p?.spec.role !== 'test') violations.push(`qa assigned to ${name}, a ${p?.spec.role ?? 'vanished'} Prod`);
          }
        }
      })();

      await settled('6 Prods spread 2/2/2', () => JSON.stringify(spread()) === JSON.stringify({ onprem: 2, osaka: 2, tokyo: 2 }));
      await waitFor('every tenant placed', tenantsServed, { timeoutMs: 10_000 });

      // chaos kill-cluster osaka: its Prods are replaced after its eviction timeout.
      agents.alive.delete('osaka');
      await settled('osaka evicted', () => (spread().osaka ?? 0) === 0);

      // chaos restore osaka: the fleet spreads back over it.
      agents.alive.add('osaka');
      await settled('spread back to 2/2/2', () => JSON.stringify(spread()) === JSON.stringify({ onprem: 2, osaka: 2, tokyo: 2 }));
      await waitFor('every tenant placed again', tenantsServed, { timeoutMs: 10_000 });

      // cluster drain: successors first, then tenants move. The issue drained onprem; here the cluster of
      // the test Prod is drained (whichever it is), so that the test tenant's Prod is always among those moved.
      const drained = [...prodsNow.values()].find((p) => p.spec.role === 'test')?.spec.cluster ?? 'onprem';
      const drainStart = qaHistory.length;
      await setClusterState(store, drained, 'drain');
      await settled(`${drained} drained`, () => (spread()[drained] ?? 0) === 0 && prodsNow.size === 6);
      await waitFor(
        'tenants off onprem with their redundancy',
        async () => {
          await refresh();
          const ts = (await store.list('Tenant')).items;
          return ts.every((t) => {
            const prods = t.status?.prods ?? [];
            const domains = new Set(prods.map((n) => clusterDomain(clustersNow.get(prodsNow.get(n)?.spec.cluster ?? '') ?? cluster('x'))));
            return prods.length === t.spec.redundancy && domains.size === prods.length && prods.every((n) => prodsNow.get(n)?.spec.cluster !== drained);
          });
        },
        { timeoutMs: 10_000 },
      );
      const duringDrain = qaHistory.slice(drainStart);
      assert.ok(duringDrain.every((prods) => prods.length === 1), `qa kept a test Prod throughout the drain: ${JSON.stringify(duringDrain)}`);
      assert.deepEqual(Object.values(spread()), [3, 3], 'the drained cluster\'s Prods rebuilt on the other two');
      watching.abort();
      await watch;
      assert.deepEqual(violations, [], 'the test tenant only ever on test Prods');
      assert.ok(qaHistory.length > 0);
    } finally {
      watching.abort();
      await agents.stop();
      await m.stop();
    }
  });
});
