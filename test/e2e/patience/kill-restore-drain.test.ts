/**
 * Issue 11 item 4 on `drover up` (real agents, workloads and CLI): `chaos kill-cluster osaka`,
 * `chaos restore osaka`, `cluster drain onprem`. Seen before: osaka Ready with 0 of 4 Prods, redundant
 * tenants on one domain, the test tenant without a Prod. Now: osaka keeps its Prods through a kill shorter
 * than the eviction timeout (they come back with it), and the drain builds before it moves — redundant
 * tenants keep two domains and the test tenant stays on a test Prod throughout.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Cluster } from '../../../src/api/kinds/cluster.js';
import type { Fleet } from '../../../src/api/kinds/fleet.js';
import type { Prod } from '../../../src/api/kinds/prod.js';
import { Tenant } from '../../../src/api/kinds/tenant.js';
import type { RemoteStore } from '../../../src/client/remote-store.js';
import { clustersFile, UpRun } from '../../helpers/drover-up.js';
import { waitFor } from '../../helpers/wait-for.js';

const up = new UpRun(clustersFile(6, 4));
let store: RemoteStore;

function tenant(name: string, spec: Record<string, unknown>): Tenant {
  return Tenant.parse({ apiVersion: 'drover.dev/v1alpha1', kind: 'Tenant', metadata: { name }, spec: { fleet: 'web', users: 10, match: { hosts: [`${name}.example`] }, ...spec } });
}

async function web(): Promise<{ prods: Map<string, Prod>; clusters: Map<string, Cluster>; tenants: Tenant[] }> {
  const [ps, cs, ts] = await Promise.all([store.list('Prod'), store.list('Cluster'), store.list('Tenant')]);
  return {
    prods: new Map(ps.items.filter((p) => p.spec.fleet === 'web').map((p) => [p.metadata.name, p])),
    clusters: new Map(cs.items.map((c) => [c.metadata.name, c])),
    tenants: ts.items,
  };
}

function spread(prods: Map<string, Prod>): Record<string, number> {
  const out: Record<string, number> = { onprem: 0, osaka: 0, tokyo: 0 };
  for (const p of prods.values()) if (!p.spec.retire) out[p.spec.cluster] = (out[p.spec.cluster] ?? 0) + 1;
  return out;
}

before(async () => {
  try {
    store = await up.running();
  } catch (e) {
    throw new Error(`${e instanceof Error ? e.message : String(e)}\n--- drover up said:\n${up.output.slice(-3000)}`);
  }
});

after(async () => {
  // A shutdown that hangs must not keep this run's processes (and the machine's heavy-test lock) alive.
  await Promise.race([up.stop(), new Promise((r) => setTimeout(r, 20_000).unref())]);
  up.cleanup();
});

describe('kill, restore, drain on drover up', () => {
  it('keeps redundancy and the test tenant on a test Prod', async () => {
    const f = (await store.get('Fleet', 'web'))!;
    await store.update<Fleet>({ ...f, spec: { ...f.spec, testProds: 1 } });
    for (const t of [tenant('bigmart', { redundancy: 2 }), tenant('megastore', { redundancy: 2 }), tenant('qa', { test: true }), tenant('corner', {})]) await store.create(t);
    const settled = async (what: string, extra: (w: Awaited<ReturnType<typeof web>>) => boolean, timeoutMs = 60_000) =>
      waitFor(
        what,
        async () => {
          const w = await web();
          const live = [...w.prods.values()];
          return live.length === 6 && live.every((p) => p.status?.phase === 'Ready' && !p.spec.retire) && extra(w) && w;
        },
        { timeoutMs, intervalMs: 200 },
      );
    const placed = (w: Awaited<ReturnType<typeof web>>) => w.tenants.every((t) => t.status?.prods.length === t.spec.redundancy);
    const before = await settled('6 Ready Prods, one of them test, 2/2/2, tenants placed', (w) => {
      const s = spread(w.prods);
      return s.onprem === 2 && s.osaka === 2 && s.tokyo === 2 && [...w.prods.values()].filter((p) => p.spec.role === 'test').length === 1 && placed(w);
    });

    await up.drover('chaos', 'kill-cluster', 'osaka');
    await waitFor('osaka NotReady', async () => (await web()).clusters.get('osaka')?.status?.phase === 'NotReady', { timeoutMs: 15_000 });
    await up.drover('chaos', 'restore', 'osaka');
    const restored = await settled('osaka back with its Prods', (w) => w.clusters.get('osaka')?.status?.phase === 'Ready' && spread(w.prods).osaka === 2 && placed(w));
    assert.deepEqual([...restored.prods.keys()].sort(), [...before.prods.keys()].sort(), 'a kill shorter than the eviction timeout deletes no Prod');

    // Watch the test tenant through the drain: always exactly one Prod, always a test Prod.
    const seen: string[] = [];
    let polling = true;
    const poll = (async () => {
      while (polling) {
        const w = await web();
        const qa = w.tenants.find((t) => t.metadata.name === 'qa');
        const prods = qa?.status?.prods ?? [];
        const roles = prods.map((n) => w.prods.get(n)?.spec.role ?? 'gone');
        if (prods.length !== 1 || roles.some((r) => r !== 'test')) seen.push(`${JSON.stringify(prods)} ${roles.join(',')}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    try {
      const { stdout } = await up.drover('cluster', 'drain', 'onprem', '--timeout', '90');
      assert.match(stdout, /onprem/);
    } finally {
      polling = false;
      await poll;
    }
    const drained = await settled('onprem drained, tenants in two domains', (w) => {
      if (spread(w.prods).onprem !== 0) return false;
      return w.tenants.every((t) => {
        const prods = t.status?.prods ?? [];
        const domains = new Set(prods.map((n) => w.prods.get(n)?.spec.cluster));
        return prods.length === t.spec.redundancy && domains.size === prods.length && !domains.has('onprem');
      });
    });
    assert.deepEqual(spread(drained.prods), { onprem: 0, osaka: 3, tokyo: 3 });
    const qa = drained.tenants.find((t) => t.metadata.name === 'qa')!;
    assert.equal(drained.prods.get(qa.status?.prods[0] ?? '')?.spec.role, 'test');
    assert.deepEqual(seen, [], 'the test tenant kept exactly one test Prod throughout the drain');
  });
});
