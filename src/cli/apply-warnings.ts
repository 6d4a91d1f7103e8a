/**
 * What `drover apply` warns about after a write the server accepted: references to objects that do not
 * exist *yet*. They are not refused (src/server/admission.ts refuses only contradictions), because files
 * are applied in any order and clusters join later; but a user who mistyped a fleet or a domain must hear
 * of it at once, not find out from a tenant that never gets a Prod.
 */
import type { Tenant } from '../api/kinds/tenant.js';
import type { TrafficPolicy } from '../api/kinds/traffic-policy.js';
import type { AnyResource } from '../api/resource.js';
import type { Store } from '../store/store.js';

export async function applyWarnings(store: Store, o: AnyResource): Promise<string[]> {
  if (o.kind === 'Tenant') {
    const t = o as Tenant;
    return (await store.get('Fleet', t.spec.fleet)) ? [] : [missingFleet(t.spec.fleet, 'the tenant gets no Prod')];
  }
  if (o.kind === 'TrafficPolicy') {
    const p = o as TrafficPolicy;
    const out: string[] = [];
    if (!(await store.get('Fleet', p.spec.fleet))) out.push(missingFleet(p.spec.fleet, 'the policy routes nothing'));
    if (p.spec.endpointGroups.length === 0) return out;
    const domains = new Set((await store.list('Cluster')).items.map((c) => c.spec.domain ?? c.spec.region));
    p.spec.endpointGroups.forEach((g, i) => {
      if (!domains.has(g.domain)) {
        out.push(
          `spec.endpointGroups[${i}].domain "${g.domain}" has no cluster yet (known domains: ${[...domains].sort().join(', ') || 'none'}); ` +
            'its share of traffic goes to the other groups until a cluster of that domain joins — check the spelling',
        );
      }
    });
    return out;
  }
  return [];
}

function missingFleet(fleet: string, effect: string): string {
  return `spec.fleet: Fleet "${fleet}" does not exist yet; ${effect} until it is applied (check the spelling: \`drover get fleets\`)`;
}
