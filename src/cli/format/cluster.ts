/** Text views of `drover cluster drain` progress. */
import type { DrainReport } from '../../lifecycle/cluster-ops.js';

export function describeDrain(r: DrainReport): string {
  const lines = [r.done ? `cluster ${r.cluster} drained: no tenant is served there` : `cluster ${r.cluster}: tenants still there: ${r.remaining.join(', ')}`];
  for (const d of r.degraded) lines.push(`  redundancy not kept for tenant ${d.tenant}: on ${d.prods.join(',') || 'no Prod'} in ${d.domains.length} domain(s) — ${d.reason}`);
  return lines.join('\n');
}
