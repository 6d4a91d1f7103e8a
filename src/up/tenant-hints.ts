/** How to reach each tenant through the edge, as curl lines (`drover up` prints them). */
import type { Tenant } from '../api/kinds/tenant.js';

export function tenantCurlLines(tenants: readonly Tenant[], edgeUrl: string): string[] {
  const lines: string[] = [];
  for (const t of tenants) {
    const what = `${t.metadata.name}${t.spec.test ? ' (test)' : ''}, ${t.spec.users} users, redundancy ${t.spec.redundancy}`;
    const host = t.spec.match.hosts.find((h) => !h.startsWith('*.')) ?? t.spec.match.hosts[0]?.replace(/^\*\./, 'any.');
    const header = t.spec.match.header;
    if (host) lines.push(`curl -H 'Host: ${host}' ${edgeUrl}/    # ${what}`);
    else if (header) lines.push(`curl -H '${header.name ?? 'x-drover-tenant'}: ${header.value}' ${edgeUrl}/    # ${what}`);
  }
  lines.push(`curl ${edgeUrl}/    # no tenant: the traffic policy's endpoint groups`);
  return lines;
}
