/**
 * Which requests the synthetic probes of a baking wave send (pure): to each new Prod with an endpoint,
 * with the match of one of the tenants it serves (its predecessor's, through the takeover), at the
 * release's rate or the default one. The probe runner (probes.ts) sends them.
 */
import type { Prod } from '../api/kinds/prod.js';
import { ReleaseProbes, type Release, type ReleaseStatus } from '../api/kinds/release.js';
import type { Tenant } from '../api/kinds/tenant.js';
import { durationMs } from '../api/meta.js';
import { defaultProbeRate, type ProbeRequest, type ProbeTarget } from './probes.js';

type Wave = ReleaseStatus['waves'][number];

/** What to probe for a baking wave: its successors that have an endpoint, each with one tenant's match. */
export function probesFor(rel: Release, w: Wave, prods: ReadonlyMap<string, Prod>, tenants: readonly Tenant[]): ProbeRequest | undefined {
  const cfg = ReleaseProbes.parse(rel.spec.probes ?? {});
  if (!cfg.enabled) return undefined;
  const targets: ProbeTarget[] = [];
  w.replacements.forEach((succName, i) => {
    const succ = prods.get(succName);
    const url = succ?.status?.endpoint;
    if (!succ || !url || succ.spec.retire) return;
    const pred = w.prods[i];
    // The successor serves its predecessor's tenants (the plan maps them through the takeover).
    const tenant = tenants
      .filter((t) => (t.status?.prods ?? []).some((p) => p === pred || p === succName))
      .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))[0];
    targets.push({ prod: succName, url, headers: tenant ? tenantHeaders(tenant) : {} });
  });
  if (targets.length === 0) return undefined;
  const minRequests = rel.spec.gates.flatMap((g) => (g.type === 'promql' || g.type === 'cloudwatch' ? [] : [g.minRequests]));
  return {
    targets,
    ratePerProd: cfg.rate ?? defaultProbeRate(durationMs(rel.spec.bake), minRequests),
    path: cfg.path,
    timeoutMs: cfg.timeoutMs,
    label: `${rel.metadata.name}/wave-${w.index}`,
  };
}

/** The request headers a user of this tenant sends: a host it matches (wildcards made concrete), or its header. */
export function tenantHeaders(t: Tenant): Record<string, string> {
  const host = t.spec.match.hosts[0];
  if (host !== undefined) return { host: host.replace(/^\*\./, 'probe.') };
  const h = t.spec.match.header;
  if (h) return { [(h.name ?? 'x-drover-tenant').toLowerCase()]: h.value };
  return {};
}
