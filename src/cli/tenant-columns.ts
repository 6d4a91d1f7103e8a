/** Columns of `drover get tenants`, for the get printer: NAME USERS REDUNDANCY PRODS DOMAINS. */
import type { Tenant } from '../api/index.js';

export const tenantColumns = {
  headers: ['NAME', 'USERS', 'REDUNDANCY', 'PRODS', 'DOMAINS'] as const,
  row(t: Tenant): string[] {
    const prods = t.status?.prods ?? [];
    // "1/2" shows at a glance a tenant whose redundancy was reduced.
    const redundancy = prods.length === t.spec.redundancy ? String(t.spec.redundancy) : `${prods.length}/${t.spec.redundancy}`;
    return [t.metadata.name, String(t.spec.users), redundancy, prods.join(',') || '<none>', (t.status?.domains ?? []).join(',') || '<none>'];
  },
};
