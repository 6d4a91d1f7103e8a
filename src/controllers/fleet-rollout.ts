/**
 * Rollout rules of the fleet plan (rule 4 of fleet-plan.ts): which order Prods roll in, when a successor
 * stops the rollout of its revision, and which revision new Prods get while a rollout is stopped.
 */
import type { Cluster } from '../api/kinds/cluster.js';
import type { Fleet } from '../api/kinds/fleet.js';
import type { Prod, ProdTemplate } from '../api/kinds/prod.js';

export const stallReasons = ['SuccessorFailed', 'SuccessorNotReady'] as const;
export type StallReason = (typeof stallReasons)[number];

/** Why a successor will not serve its revision: Failed on a cluster that is up, or not Ready in time. */
export function successorFailure(s: Prod, cluster: Cluster | undefined, nowMs: number, deadlineMs: number): { reason: StallReason; message: string } | undefined {
  const phase = s.status?.phase ?? 'Pending';
  if (phase === 'Ready') return undefined;
  // A Prod of a cluster that is down is Failed for its cluster's sake, not its template's.
  if (phase === 'Failed' && cluster?.status?.phase === 'Ready') return { reason: 'SuccessorFailed', message: `failed: ${s.status?.message ?? 'no message'}` };
  const created = Date.parse(s.metadata.creationTimestamp ?? '');
  if (!Number.isNaN(created) && nowMs - created > deadlineMs) {
    return { reason: 'SuccessorNotReady', message: `was not Ready within ${Math.round(deadlineMs / 1000)} s (${phase}${s.status?.message ? `: ${s.status.message}` : ''})` };
  }
  return undefined;
}

/** The stop recorded by an earlier pass, as its condition says it. */
export function previousStall(fleet: Fleet): { reason: StallReason; message: string } {
  const c = fleet.status?.conditions?.find((x) => x.type === 'RolloutStalled' && x.status === 'True');
  const reason = (stallReasons as readonly string[]).includes(c?.reason ?? '') ? (c!.reason as StallReason) : 'SuccessorFailed';
  return { reason, message: c?.message ?? `rollout of template ${fleet.status?.stalledTemplate ?? '?'} stopped` };
}

/** The revision most of these Prods run (ties: the first in name order), for new Prods while a rollout is stopped. */
export function commonRevision(prods: readonly Prod[]): { version: string; template: ProdTemplate } | undefined {
  const n = new Map<string, { count: number; version: string; template: ProdTemplate }>();
  for (const p of [...prods].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))) {
    const t = p.spec.template;
    if (!t) continue;
    const e = n.get(t.hash) ?? { count: 0, version: p.spec.version, template: t };
    e.count++;
    n.set(t.hash, e);
  }
  let best: { count: number; version: string; template: ProdTemplate } | undefined;
  for (const e of n.values()) if (!best || e.count > best.count) best = e;
  return best && { version: best.version, template: best.template };
}

/** Test Prods roll first (as releases do), then by name for a stable order. */
export function rollOrder(a: Prod, b: Prod): number {
  const r = (p: Prod) => (p.spec.role === 'test' ? 0 : 1);
  return r(a) - r(b) || a.metadata.name.localeCompare(b.metadata.name);
}
