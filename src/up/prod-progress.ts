/** `drover up`'s progress on the fleets' Prods: counts by phase, and the wait for "all Ready". */
import type { Store } from '../store/store.js';

export interface ProdCounts {
  wanted: number;
  ready: number;
  byPhase: Record<string, number>;
}

/** Counts of the fleets' Prods by phase (retiring Prods left out); `wanted` is what the fleets ask for. */
export async function prodCounts(store: Store): Promise<ProdCounts> {
  const [fleets, prods] = await Promise.all([store.list('Fleet'), store.list('Prod')]);
  const wanted = fleets.items.reduce((n, f) => n + f.spec.prods, 0);
  const byPhase: Record<string, number> = {};
  let ready = 0;
  for (const p of prods.items) {
    if (p.spec.retire) continue;
    const phase = p.status?.phase ?? 'Pending';
    byPhase[phase] = (byPhase[phase] ?? 0) + 1;
    if (phase === 'Ready') ready++;
  }
  return { wanted, ready, byPhase };
}

/** Waits until every wanted Prod is Ready, printing a line whenever the counts change; false on timeout or stop. */
export async function waitForProds(store: Store, timeoutMs: number, out: (line: string) => void, stopped: () => boolean): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const c = await prodCounts(store);
    const line = `prods: ${c.ready}/${c.wanted} Ready (${Object.entries(c.byPhase).map(([k, v]) => `${v} ${k}`).join(', ') || 'none yet'})`;
    if (line !== last) out(line);
    last = line;
    if (c.wanted > 0 && c.ready >= c.wanted) return true;
    if (Date.now() > deadline || stopped()) return false;
    await new Promise((r) => setTimeout(r, 250));
  }
}
