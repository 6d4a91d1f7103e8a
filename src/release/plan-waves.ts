/**
 * The release wave planner: pure, no I/O. From the live Prods of a fleet and the tenants' assignment
 * (Tenant.status.prods, written by the scheduler) it orders Prods by risk and packs them into waves.
 *
 * Risk classes, in release order (least risk first, so a bad version meets the fewest users first):
 * 1. `test`         — Prods with role `test` (they carry only test tenants).
 * 2. `fewUsers`     — Prods whose users are at most `fewUsersShare` of the fleet's users (default 10%),
 *                     in ascending user count. Why a share of the total and not a quantile: the point of
 *                     this class is a bounded blast radius ("10 Prods updated one by one = 10% steps"),
 *                     which is a statement about the share of users at risk, whatever the other Prods
 *                     carry. A quantile would put a Prod with 40% of all users into "few users" whenever
 *                     the others are bigger. Prods with no tenants at all are "few users" too.
 * 3. `redundant`    — Prods whose tenants all have redundancy 2 and are assigned to two Prods: when one
 *                     of these Prods fails, every one of its tenants still has a Prod on the old version.
 * 4. `nonRedundant` — everything else (some tenant lives on this Prod only).
 *
 * Within a class: ascending users, then name. A wave holds Prods of one class only (so each gate result
 * speaks for one risk level), at most `maxParallel` Prods, and never two Prods that share a tenant — in
 * particular never both Prods of a redundant tenant, which would leave it without a known-good Prod.
 */
import type { Prod } from '../api/kinds/prod.js';
import type { Tenant } from '../api/kinds/tenant.js';
import { isSuccessorInFlight } from './successor.js';

export const RiskClass = ['test', 'fewUsers', 'redundant', 'nonRedundant'] as const;
export type RiskClass = (typeof RiskClass)[number];

export interface WavePlanOptions {
  maxParallel: number;
  /** Share (0–1) of the fleet's users at or below which a Prod counts as "few users". Default 0.1. */
  fewUsersShare?: number;
}

export interface PlannedProd {
  name: string;
  cluster: string;
  riskClass: RiskClass;
  /** Sum of `users` of the tenants assigned to this Prod. */
  users: number;
  tenants: string[];
}

export interface PlannedWave {
  index: number;
  riskClass: RiskClass;
  prods: string[];
  /** Distinct tenants touched by this wave and the sum of their users. */
  tenants: string[];
  users: number;
}

export interface WavePlan {
  waves: PlannedWave[];
  prods: PlannedProd[];
  totalUsers: number;
  fewUsersThreshold: number;
}

type ProdLike = Pick<Prod, 'metadata' | 'spec'>;
type TenantLike = Pick<Tenant, 'metadata' | 'spec' | 'status'>;

/**
 * Prods a release replaces: live (not retired), not themselves successors in flight. A successor whose
 * predecessor is retired or gone has finished its swap and is an ordinary live Prod: it keeps
 * `spec.replaces`, so that field alone does not make it a successor in flight (else every release after
 * the first would find nothing to do).
 */
export function releasableProds<P extends ProdLike>(prods: readonly P[], fleet: string): P[] {
  const ofFleet = prods.filter((p) => p.spec.fleet === fleet);
  const byName = new Map(ofFleet.map((p) => [p.metadata.name, p] as const));
  return ofFleet.filter((p) => !p.spec.retire && !isSuccessorInFlight(p, byName));
}

export function planWaves(prods: readonly ProdLike[], tenants: readonly TenantLike[], opts: WavePlanOptions): WavePlan {
  const maxParallel = Math.max(1, Math.floor(opts.maxParallel));
  const share = opts.fewUsersShare ?? 0.1;
  const prodNames = new Set(prods.map((p) => p.metadata.name));

  // Tenants per Prod, keeping only assignments to Prods in this plan.
  const tenantsOf = new Map<string, TenantLike[]>();
  for (const p of prods) tenantsOf.set(p.metadata.name, []);
  let totalUsers = 0;
  for (const t of tenants) {
    const assigned = (t.status?.prods ?? []).filter((n) => prodNames.has(n));
    if (assigned.length === 0) continue;
    if (!t.spec.test) totalUsers += t.spec.users;
    for (const n of assigned) tenantsOf.get(n)?.push(t);
  }
  const fewUsersThreshold = totalUsers * share;

  const planned: PlannedProd[] = prods.map((p) => {
    const ts = tenantsOf.get(p.metadata.name) ?? [];
    const users = ts.reduce((s, t) => s + t.spec.users, 0);
    return {
      name: p.metadata.name,
      cluster: p.spec.cluster,
      riskClass: classify(p, ts, users, fewUsersThreshold),
      users,
      tenants: ts.map((t) => t.metadata.name).sort(),
    };
  });

  const order = (c: RiskClass) => RiskClass.indexOf(c);
  planned.sort((a, b) => order(a.riskClass) - order(b.riskClass) || a.users - b.users || a.name.localeCompare(b.name));

  const usersOfTenant = new Map(tenants.map((t) => [t.metadata.name, t.spec.users] as const));
  const waves: PlannedWave[] = [];
  for (const cls of RiskClass) {
    const remaining = planned.filter((p) => p.riskClass === cls);
    while (remaining.length > 0) {
      const wave: PlannedProd[] = [];
      const taken = new Set<string>();
      for (let i = 0; i < remaining.length && wave.length < maxParallel; ) {
        const p = remaining[i]!;
        if (p.tenants.some((t) => taken.has(t))) {
          i++;
          continue;
        }
        wave.push(p);
        for (const t of p.tenants) taken.add(t);
        remaining.splice(i, 1);
      }
      const waveTenants = [...taken].sort();
      waves.push({
        index: waves.length,
        riskClass: cls,
        prods: wave.map((p) => p.name),
        tenants: waveTenants,
        users: waveTenants.reduce((s, t) => s + (usersOfTenant.get(t) ?? 0), 0),
      });
    }
  }
  return { waves, prods: planned, totalUsers, fewUsersThreshold };
}

function classify(p: ProdLike, ts: readonly TenantLike[], users: number, fewUsersThreshold: number): RiskClass {
  if (p.spec.role === 'test' || (ts.length > 0 && ts.every((t) => t.spec.test))) return 'test';
  if (users <= fewUsersThreshold) return 'fewUsers';
  const allRedundant = ts.every((t) => t.spec.redundancy === 2 && (t.status?.prods.length ?? 0) >= 2);
  return allRedundant ? 'redundant' : 'nonRedundant';
}
