/**
 * Test doubles for controller tests over a MemoryStore: a reconcile context that records events, and
 * the effects of the other components (the agent marks Prods Ready on their version, the fleet
 * controller deletes Retired Prods) so that a release can run end to end in memory.
 */
import type { Prod } from '../../../src/api/kinds/prod.js';
import type { AnyResource } from '../../../src/api/resource.js';
import type { ReconcileContext, Reconciler } from '../../../src/runtime/reconciler.js';
import type { MemoryStore } from '../../../src/store/memory/memory-store.js';

export interface RecordedEvent {
  name: string;
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export function testContext(store: MemoryStore): ReconcileContext & { events: RecordedEvent[] } {
  const events: RecordedEvent[] = [];
  return {
    store,
    cache: store.view(),
    signal: new AbortController().signal,
    events,
    recordEvent: async (obj: AnyResource, type, reason, message) => {
      events.push({ name: obj.metadata.name, type, reason, message });
    },
  };
}

/** What the agent would do: run every live Prod and report it Ready on its spec'd version. */
export async function agentStep(store: MemoryStore, at: string, opts: { skip?: (p: Prod) => boolean } = {}): Promise<void> {
  for (const p of (await store.list('Prod')).items) {
    if (opts.skip?.(p)) continue;
    const want = p.spec.retire
      ? { phase: 'Retired' as const }
      : { phase: 'Ready' as const, version: p.spec.version, readySince: p.status?.phase === 'Ready' ? p.status.readySince : at };
    if (p.status?.phase === want.phase && p.status.observedGeneration === p.metadata.generation) continue;
    await store.updateStatus({ ...p, status: { conditions: [], restarts: 0, warmupPassed: 3, ...p.status, ...want, observedGeneration: p.metadata.generation } });
  }
}

export class Clock {
  constructor(public t = Date.now()) {}
  now = () => this.t;
  iso = () => new Date(this.t).toISOString();
}

/** Calls reconcile until `done` holds, letting the simulated world react and time pass on requeues. */
export async function drive(
  r: Reconciler,
  ctx: ReconcileContext,
  key: string,
  clock: Clock,
  done: () => Promise<boolean>,
  world: () => Promise<void> = async () => {},
  maxSteps = 300,
): Promise<number> {
  for (let i = 0; i < maxSteps; i++) {
    if (await done()) return i;
    await world();
    const res = await r.reconcile(ctx, key);
    clock.t += Math.max(res.requeueAfterMs ?? 0, 10);
  }
  throw new Error(`not done after ${maxSteps} reconciles`);
}
