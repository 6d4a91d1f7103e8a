/**
 * The world of the release tests that run the real fleet and release controllers on a MemoryStore with
 * the agent simulated: Ready clusters with a fresh heartbeat, the fleet `shop`, and an agent loop that
 * reports every Prod Ready on its version (Retired once retired).
 */
import type { Cluster } from '../../src/api/kinds/cluster.js';
import type { Fleet } from '../../src/api/kinds/fleet.js';
import type { Prod } from '../../src/api/kinds/prod.js';
import { API_VERSION } from '../../src/api/meta.js';
import type { Store } from '../../src/store/store.js';

const meta = (name: string) => ({ name, labels: {}, annotations: {}, finalizers: [], ownerReferences: [] });

/** A local cluster in its own region, Ready with a heartbeat just now and a grace long enough for any test. */
export async function addReadyCluster(store: Store, name: string, capacity: number): Promise<void> {
  const c: Cluster = { apiVersion: API_VERSION, kind: 'Cluster', metadata: meta(name), spec: { provider: 'local', region: name, capacity: { prods: capacity }, cordoned: false, draining: false, heartbeatGraceMs: 600_000 } };
  await store.updateStatus({ ...(await store.create(c)), status: { conditions: [], phase: 'Ready', lastHeartbeat: new Date().toISOString(), prods: 0 } });
}

/** The fleet `shop`: 6 Prods (one a test Prod) of v1, spread by domain, warm-up of 3 requests. */
export function shopFleet(): Fleet {
  return {
    apiVersion: API_VERSION,
    kind: 'Fleet',
    metadata: meta('shop'),
    spec: { prods: 6, testProds: 1, version: 'v1', app: { command: 'node', args: [], env: {}, port: 8080, healthPath: '/healthz', replicas: 1 }, placement: { spreadBy: 'domain', avoidProviders: [] }, warmup: { requests: 3 } },
  };
}

export interface SimulatedAgent {
  /** Ends the loop after its pass in flight. */
  stop(): Promise<void>;
}

/**
 * Every 10 ms, reports each Prod Ready at its spec version (or Retired once retired), with the endpoint
 * `endpoint(p)` gives, if any; `seen(p)` is called for each Prod of each pass. Write conflicts are ignored.
 */
export function simulateAgent(store: Store, opts: { endpoint?: (p: Prod) => string | undefined; seen?: (p: Prod) => void } = {}): SimulatedAgent {
  let on = true;
  const loop = (async () => {
    while (on) {
      for (const p of (await store.list('Prod')).items) {
        opts.seen?.(p);
        const want = p.spec.retire ? 'Retired' : 'Ready';
        const endpoint = opts.endpoint?.(p);
        if (p.status?.phase === want && p.status.observedGeneration === p.metadata.generation && p.status.endpoint === endpoint) continue;
        await store
          .updateStatus({ ...p, status: { conditions: [], restarts: 0, warmupPassed: 3, phase: want, version: p.spec.version, readySince: p.status?.readySince ?? new Date().toISOString(), observedGeneration: p.metadata.generation, ...(endpoint ? { endpoint } : {}) } })
          .catch(() => undefined);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  return {
    async stop() {
      on = false;
      await loop;
    },
  };
}
