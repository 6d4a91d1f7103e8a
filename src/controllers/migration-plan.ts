/**
 * A Migration's plan (pure): which tenants it covers, in which order they move, and what each step puts on
 * the fleet. Used by the controller once, when the migration starts (the result is kept in its status, so
 * a tenant added later does not change who moves when), and by `drover migration plan` as a dry run.
 *
 * Risk order, as release waves (src/release/plan-waves.ts): test tenants first, then ascending users,
 * then name. In `tenants` mode, step k moves whole tenants in that order while the share of the selected
 * users on the fleet stays at or below `steps[k]` % (never more users at risk than the step says), and
 * at least one tenant per step while any are left (a step that moved nobody would only bake what the
 * previous one baked); the last step (100) moves the rest.
 * With no users counted at all, shares are by number of tenants.
 */
import type { MigrationSpec, MigrationTenantProgress } from '../api/kinds/migration.js';
import { matchesSelectorSpec } from '../api/meta.js';
import type { Tenant } from '../api/kinds/tenant.js';

export interface SelectedTenant {
  name: string;
  users: number;
  test: boolean;
}

export interface TenantSelection {
  /** spec.tenants unset: every tenant of the fleet, and its requests that match no tenant. */
  all: boolean;
  /** In risk order. */
  tenants: SelectedTenant[];
  users: number;
}

export interface PlannedStep {
  index: number;
  /** Share (%) of the selected users on the fleet after the step. */
  weight: number;
  /** tenants mode: the tenants this step moves. */
  moves: string[];
  /** Users on the fleet after the step (percent mode: the share of the selected users, rounded). */
  usersOnFleet: number;
}

type TenantLike = Pick<Tenant, 'metadata' | 'spec'>;

export function riskOrder(a: SelectedTenant, b: SelectedTenant): number {
  if (a.test !== b.test) return a.test ? -1 : 1;
  if (a.users !== b.users) return a.users - b.users;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

export function selectTenants(spec: Pick<MigrationSpec, 'fleet' | 'tenants'>, tenants: readonly TenantLike[]): TenantSelection {
  const sel = spec.tenants;
  const names = sel?.names ? new Set(sel.names) : undefined;
  const out: SelectedTenant[] = [];
  for (const t of tenants) {
    if (t.spec.fleet !== spec.fleet || t.metadata.deletionTimestamp) continue;
    if (names && !names.has(t.metadata.name)) continue;
    if (sel?.selector && !matchesSelectorSpec(t.metadata.labels, sel.selector)) continue;
    out.push({ name: t.metadata.name, users: t.spec.users, test: t.spec.test === true });
  }
  out.sort(riskOrder);
  return { all: sel === undefined, tenants: out, users: out.reduce((s, t) => s + t.users, 0) };
}

/** How many of the risk-ordered tenants are on the fleet after step `index` (tenants mode). */
export function movedCount(steps: readonly number[], tenants: readonly SelectedTenant[], index: number): number {
  const total = tenants.reduce((s, t) => s + t.users, 0);
  const size = (t: SelectedTenant) => (total > 0 ? t.users : 1);
  const denom = total > 0 ? total : tenants.length;
  let moved = 0;
  let users = 0;
  for (let k = 0; k <= index && k < steps.length; k++) {
    const last = k === steps.length - 1;
    const target = ((steps[k] ?? 100) / 100) * denom;
    let thisStep = 0;
    while (moved < tenants.length) {
      if (!last && thisStep > 0 && users + size(tenants[moved]!) > target + 1e-9) break;
      users += size(tenants[moved]!);
      moved++;
      thisStep++;
    }
  }
  return moved;
}

/** Every step with what it moves: the dry run, and the controller's source for `status.tenants`. */
export function planSteps(spec: Pick<MigrationSpec, 'mode' | 'steps'>, selection: TenantSelection): PlannedStep[] {
  const out: PlannedStep[] = [];
  let prev = 0;
  spec.steps.forEach((weight, index) => {
    if (spec.mode === 'percent') {
      out.push({ index, weight, moves: [], usersOnFleet: Math.round((weight / 100) * selection.users) });
      return;
    }
    const n = movedCount(spec.steps, selection.tenants, index);
    const moves = selection.tenants.slice(prev, n).map((t) => t.name);
    const usersOnFleet = selection.tenants.slice(0, n).reduce((s, t) => s + t.users, 0);
    prev = n;
    out.push({ index, weight, moves, usersOnFleet });
  });
  return out;
}

/**
 * The per-tenant progress once step `index` is in force (`weight` the fleet share of percent mode; 0 for
 * a rollback). tenants mode: a tenant is 100 % on the fleet from the step that moves it.
 */
export function tenantProgress(spec: Pick<MigrationSpec, 'mode' | 'steps'>, tenants: readonly SelectedTenant[], index: number, weight: number): MigrationTenantProgress[] {
  if (spec.mode === 'percent') return tenants.map((t) => ({ name: t.name, users: t.users, ...(t.test ? { test: true } : {}), weight }));
  const steps = planSteps(spec, { all: false, tenants: [...tenants], users: 0 });
  const stepOf = new Map<string, number>();
  for (const s of steps) for (const n of s.moves) stepOf.set(n, s.index);
  return tenants.map((t) => {
    const step = stepOf.get(t.name) ?? steps.length - 1;
    return { name: t.name, users: t.users, ...(t.test ? { test: true } : {}), step, weight: weight > 0 && step <= index ? 100 : 0 };
  });
}

/** The fleet share (%) of the selected users that tenants-mode progress puts on the fleet. */
export function movedShare(progress: readonly MigrationTenantProgress[]): number {
  const total = progress.reduce((s, t) => s + t.users, 0);
  const moved = progress.filter((t) => t.weight >= 100);
  if (total === 0) return progress.length === 0 ? 0 : (100 * moved.length) / progress.length;
  return (100 * moved.reduce((s, t) => s + t.users, 0)) / total;
}
