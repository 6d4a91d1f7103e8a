/**
 * Which tenants changed Prods between the stored status and a new assignment, and why. A hand-over from a
 * retired Prod to its successor is not a move; a new tenant getting its first Prods is not a move.
 */
import { SlotHow, type AssignResult } from './model.js';
import { tenantPlacement, type FleetSnapshot } from './snapshot.js';

export interface TenantMove {
  tenant: string;
  from: string[];
  to: string[];
  /** Why the tenant left a Prod, e.g. "cluster osaka NotReady". */
  cause: string;
  /** Fewer Prods than before (but at least one). */
  lostRedundancy: boolean;
  /** No Prod at all any more. */
  unassigned: boolean;
}

export function diffPlacements(snap: FleetSnapshot, result: AssignResult): TenantMove[] {
  const moves: TenantMove[] = [];
  const index = new Map(snap.prodInfo.map((p, i) => [p.name, i]));
  for (let t = 0; t < snap.tenantNames.length; t++) {
    const stored = snap.storedPrev[t] ?? [];
    if (stored.length === 0) continue;
    const before = stored.map((n) => snap.handOver.get(n) ?? n);
    const now = tenantPlacement(snap, result, t).prods;
    const left = before.filter((n) => !now.includes(n));
    if (left.length === 0 && now.length >= before.length) continue;
    moves.push({
      tenant: snap.tenantNames[t] ?? '',
      from: before,
      to: now,
      cause: left.length ? causeOfLeaving(left[0] ?? '', t, snap, result, index) : 'redundancy changed',
      lostRedundancy: now.length > 0 && now.length < before.length,
      unassigned: now.length === 0,
    });
  }
  return moves;
}

function causeOfLeaving(name: string, t: number, snap: FleetSnapshot, result: AssignResult, index: ReadonlyMap<string, number>): string {
  const p = index.get(name);
  if (p === undefined) return `Prod ${name} deleted`;
  const info = snap.prodInfo[p];
  if (info?.notServing) return info.notServing.startsWith('cluster') ? info.notServing : `${name}: ${info.notServing}`;
  if (result.how0[t] === SlotHow.rebalanced || result.how1[t] === SlotHow.rebalanced) return `Prod ${name} above the load bound`;
  return `Prod ${name} no longer eligible (role, selector, redundancy or capacity)`;
}

/** "Moved 37 tenants: cluster osaka NotReady" — one line for one batch, causes by count. */
export function summarizeMoves(moves: readonly TenantMove[]): string {
  const byCause = new Map<string, number>();
  for (const m of moves) byCause.set(m.cause, (byCause.get(m.cause) ?? 0) + 1);
  const causes = [...byCause].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const parts = causes.length === 1 ? [causes[0]?.[0] ?? ''] : causes.map(([c, n]) => `${c} (${n})`);
  const lost = moves.filter((m) => m.lostRedundancy).length;
  const none = moves.filter((m) => m.unassigned).length;
  const tail = [lost ? `${lost} lost redundancy` : '', none ? `${none} have no Prod` : ''].filter(Boolean).join(', ');
  return `Moved ${moves.length} tenant${moves.length === 1 ? '' : 's'}: ${parts.join(', ')}${tail ? `; ${tail}` : ''}`;
}
