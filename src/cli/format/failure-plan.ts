/** Terminal rendering of `drover plan --fail-cluster`. */
import { formatTable } from './table.js';
import type { FailurePlan } from '../../scheduler/plan-failure.js';

export function formatFailurePlan(plans: readonly FailurePlan[]): string {
  const out: string[] = [];
  for (const p of plans) {
    out.push(
      `Fleet ${p.fleet}: if cluster ${p.cluster} fails, ${p.moves.length} tenant(s) move (fewest possible: ${p.mustMove}), ` +
        `${p.lostRedundancy.length} lose redundancy, ${p.noProd.length} have no Prod`,
    );
    if (p.moves.length) out.push(formatTable(['TENANT', 'FROM', 'TO', 'CAUSE'], p.moves.map((m) => [m.tenant, m.from.join(','), m.to.join(','), m.cause])).trimEnd());
    if (p.lostRedundancy.length) {
      out.push('Lose redundancy:');
      for (const l of p.lostRedundancy) out.push(`  ${l.tenant}: only ${l.prods.join(',')} (${l.reasons.join(', ')})`);
    }
    if (p.noProd.length) {
      out.push('No Prod:');
      for (const n of p.noProd) out.push(`  ${n.tenant}: ${n.reasons.join(', ')}`);
    }
    out.push('');
  }
  return out.join('\n');
}
