/** A simulated agent for controller tests (unit level: MemoryStore or SQLite), and a Prod lister. */
import type { Cluster } from '../../src/api/kinds/cluster.js';
import type { Prod } from '../../src/api/kinds/prod.js';
import { isDroverError } from '../../src/errors.js';
import type { Store } from '../../src/store/store.js';

export async function prodsOf(store: Store, fleetName: string): Promise<Prod[]> {
  return (await store.list('Prod')).items.filter((p) => p.spec.fleet === fleetName);
}

async function ignoringRaces(write: () => Promise<unknown>): Promise<void> {
  try {
    await write();
  } catch (e) {
    if (!isDroverError(e, 'DROVER_E_CONFLICT') && !isDroverError(e, 'DROVER_E_NOT_FOUND')) throw e;
  }
}

/**
 * Stands in for the agents of the clusters in `alive`: heartbeats, and reports each of their Prods Ready
 * at its spec version (when `ready(prod)` allows) and Retired once it is retired.
 */
export class FakeAgents {
  readonly alive = new Set<string>();
  ready: (p: Prod) => boolean = () => true;
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private inFlight: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: Store,
    private readonly everyMs = 25,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.inFlight = this.tick();
    }, this.everyMs);
  }

  /** Stops ticking and waits for a tick in flight, so the caller may close the store afterwards. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.inFlight;
  }

  async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const now = new Date().toISOString();
      for (const name of this.alive) {
        const c = await this.store.get('Cluster', name);
        if (c) await ignoringRaces(() => this.store.updateStatus<Cluster>({ ...c, status: { phase: 'Unknown', prods: 0, conditions: [], ...c.status, lastHeartbeat: now } }));
      }
      for (const p of (await this.store.list('Prod')).items) {
        if (!this.alive.has(p.spec.cluster)) continue;
        const st = p.status ?? { phase: 'Pending' as const, restarts: 0, warmupPassed: 0, conditions: [] };
        if (p.spec.retire && st.phase !== 'Retired') {
          await ignoringRaces(() => this.store.updateStatus<Prod>({ ...p, status: { ...st, phase: 'Retired' } }));
        } else if (!p.spec.retire && (st.phase === 'Pending' || st.phase === 'Provisioning') && this.ready(p)) {
          await ignoringRaces(() =>
            this.store.updateStatus<Prod>({ ...p, status: { ...st, phase: 'Ready', version: p.spec.version, endpoint: `http://127.0.0.1/${p.metadata.name}` } }),
          );
        }
      }
    } finally {
      this.busy = false;
    }
  }
}
