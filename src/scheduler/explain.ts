/**
 * `drover explain tenant`: why a tenant has the Prods it has — every Prod of its fleet with the filter
 * that removed it or its place in the tenant's preference order, the load bound, and the reasons for
 * anything not satisfied. Read off the same tables and result the controller uses.
 */
import { DEFAULT_VNODES, domainSalt } from './assign-tenants.js';
import { hashPair, unitInterval } from './hash.js';
import { slotHowNames, type AssignResult } from './model.js';
import { reasonMessages, reasonsOf } from './reasons.js';
import { ClassView, ringStart } from './rings.js';
import type { FleetSnapshot } from './snapshot.js';

export interface CandidateProd {
  prod: string;
  cluster: string;
  /** Users on the Prod without this tenant. */
  loadWithoutTenant: number;
  /** Room within the bound for this tenant's users. */
  fits: boolean;
  chosen: boolean;
}

export interface DomainCandidates {
  domain: string;
  /** Weighted rendezvous score: the tenant tries domains in descending score. */
  score: number;
  eligibleProds: number;
  /** The first Prods of the tenant's ring walk in this domain, in the order it tries them. */
  walk: CandidateProd[];
}

export interface TenantExplanation {
  tenant: string;
  users: number;
  redundancy: number;
  test: boolean;
  selector: string;
  previous: string[];
  chosen: { prod: string; domain: string; cluster: string; how: string; load: number }[];
  bound: { mean: number; cap: number; epsilon: number; hardCap: number | null };
  domains: DomainCandidates[];
  filtered: { prod: string; domain: string; why: string }[];
  reasons: { code: string; message: string }[];
}

const WALK_SHOWN = 5;

export function explainTenant(snap: FleetSnapshot, result: AssignResult, t: number): TenantExplanation {
  const { prods, tenants, classes } = snap.input;
  const cls = classes[tenants.cls[t] ?? 0];
  if (!cls) throw new Error(`tenant index ${t} has no class`);
  const u = tenants.users[t] ?? 0;
  const chosenSet = new Set([result.slot0[t] ?? -1, result.slot1[t] ?? -1].filter((p) => p >= 0));
  const bound = cls.test ? result.bound.test : result.bound.normal;
  const view = new ClassView(prods, cls, snap.input.options?.vnodes ?? DEFAULT_VNODES);

  const filtered: TenantExplanation['filtered'] = [];
  for (let p = 0; p < prods.count; p++) {
    if (view.eligible[p] === 1) continue;
    const info = snap.prodInfo[p];
    const role = prods.test[p] === 1 ? 'test' : 'normal';
    const why = info?.notServing
      ? `cannot serve: ${info.notServing}`
      : role !== (cls.test ? 'test' : 'normal')
        ? `role ${role}, tenant needs ${cls.test ? 'test' : 'normal'} Prods`
        : `selector ${cls.label} does not admit it`;
    filtered.push({ prod: info?.name ?? '', domain: info?.domain ?? '', why });
  }

  const domains: DomainCandidates[] = [];
  prods.domainNames.forEach((name, d) => {
    const members = view.byDomain[d] ?? new Int32Array(0);
    if (members.length === 0) return;
    const salt = domainSalt(d);
    const score = members.length / -Math.log(unitInterval(hashPair(tenants.hash[t] ?? 0, salt)));
    const ring = view.ring(d);
    const walk: CandidateProd[] = [];
    const seen = new Set<number>();
    const n = ring.points.length;
    let i = ringStart(ring, tenants.hash[t] ?? 0);
    for (let step = 0; step < n && walk.length < Math.max(WALK_SHOWN, 1); step++, i = i + 1 === n ? 0 : i + 1) {
      const p = ring.prods[i] ?? -1;
      if (seen.has(p)) continue;
      seen.add(p);
      const without = (result.load[p] ?? 0) - (chosenSet.has(p) ? u : 0);
      walk.push({
        prod: snap.prodInfo[p]?.name ?? '',
        cluster: snap.prodInfo[p]?.cluster ?? '',
        loadWithoutTenant: without,
        fits: (without + u <= bound.cap || without === 0) && without + u <= result.hardCap,
        chosen: chosenSet.has(p),
      });
    }
    domains.push({ domain: name, score, eligibleProds: members.length, walk });
  });
  domains.sort((a, b) => b.score - a.score);

  const chosen: TenantExplanation['chosen'] = [];
  for (const [p, how] of [
    [result.slot0[t] ?? -1, result.how0[t] ?? 0],
    [result.slot1[t] ?? -1, result.how1[t] ?? 0],
  ] as const) {
    if (p < 0) continue;
    const info = snap.prodInfo[p];
    chosen.push({ prod: info?.name ?? '', domain: info?.domain ?? '', cluster: info?.cluster ?? '', how: slotHowNames[how] ?? 'none', load: result.load[p] ?? 0 });
  }
  return {
    tenant: snap.tenantNames[t] ?? '',
    users: u,
    redundancy: tenants.redundancy[t] ?? 1,
    test: cls.test,
    selector: cls.label,
    previous: [...(snap.storedPrev[t] ?? [])],
    chosen,
    bound: { mean: bound.mean, cap: bound.cap, epsilon: result.epsilon, hardCap: Number.isFinite(result.hardCap) ? result.hardCap : null },
    domains,
    filtered,
    reasons: reasonsOf(result.flags[t] ?? 0).map((code) => ({ code, message: reasonMessages[code] })),
  };
}

const howText: Readonly<Record<string, string>> = {
  pinned: 'pinned by spec.pin',
  kept: 'kept from the previous assignment (still valid)',
  placed: 'first Prod with room on its ring walk in the preferred domain',
  fallback: 'least-loaded eligible Prod, above the bound (nothing had room within it)',
  rebalanced: 'moved off a Prod above the load bound',
};

/** Plain-text rendering for the terminal. */
export function formatExplanation(e: TenantExplanation): string {
  const out: string[] = [];
  out.push(`Tenant ${e.tenant}: ${e.users} users, redundancy ${e.redundancy}${e.test ? ', test' : ''}${e.selector ? `, selector ${e.selector}` : ''}`);
  out.push(`Previous Prods: ${e.previous.join(', ') || '<none>'}`);
  out.push(
    e.domains.length === 0
      ? 'Load bound: none (no eligible Prod)'
      : `Load bound: ${e.bound.cap} users per Prod = ceil((1+${e.bound.epsilon})·mean ${e.bound.mean.toFixed(1)})${e.bound.hardCap !== null ? `, hard capacity ${e.bound.hardCap}` : ''}`,
  );
  out.push('Chosen:');
  if (e.chosen.length === 0) out.push('  <none>');
  for (const c of e.chosen) out.push(`  ${c.prod} (domain ${c.domain}, cluster ${c.cluster}, ${c.load} users): ${howText[c.how] ?? c.how}`);
  out.push(e.domains.length ? 'Candidates by domain (tried in this order):' : 'Candidates: none');
  for (const d of e.domains) {
    out.push(`  ${d.domain}  score ${d.score.toFixed(3)}, ${d.eligibleProds} eligible Prods; ring walk:`);
    for (const c of d.walk) out.push(`    ${c.chosen ? '*' : ' '} ${c.prod}  ${c.loadWithoutTenant} users  ${c.fits ? 'has room' : 'full'}`);
  }
  if (e.filtered.length) {
    out.push('Filtered out:');
    for (const f of e.filtered) out.push(`  ${f.prod} (${f.domain}): ${f.why}`);
  }
  if (e.reasons.length) {
    out.push('Not satisfied:');
    for (const r of e.reasons) out.push(`  ${r.code}: ${r.message}`);
  }
  return out.join('\n') + '\n';
}
