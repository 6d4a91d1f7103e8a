/**
 * What the scheduler controller writes on a Tenant: its `status` for a placement, whether the stored one
 * already says it, and the write itself (on a stale copy, the stored one).
 */
import type { Condition, Tenant } from '../api/index.js';
import type { TenantPlacement } from '../scheduler/snapshot.js';
import { nowIso } from '../store/object-semantics.js';
import type { Store } from '../store/store.js';
import { updateStatusOrMutate } from '../store/mutate.js';

export const SCHEDULED_CONDITION = 'Scheduled' as const;

type TenantStatus = NonNullable<Tenant['status']>;

/** What the Scheduled condition should say, without its transition time. */
function desiredCondition(t: Tenant, placement: TenantPlacement): Pick<Condition, 'status' | 'reason' | 'message' | 'observedGeneration'> {
  return {
    status: placement.prods.length > 0 ? 'True' : 'False',
    reason: placement.reasons[0] ?? (placement.prods.length >= t.spec.redundancy ? 'Assigned' : 'Unassigned'),
    message: placement.reason ?? `on ${placement.prods.join(', ')} in ${placement.domains.join(', ')}`,
    observedGeneration: t.metadata.generation,
  };
}

/** The status the scheduler wants for a tenant, keeping fields it does not own. */
export function desiredStatus(t: Tenant, placement: TenantPlacement): TenantStatus {
  const old = t.status;
  const { status, reason, message } = desiredCondition(t, placement);
  const prev = old?.conditions.find((c) => c.type === SCHEDULED_CONDITION);
  const condition: Condition = {
    type: SCHEDULED_CONDITION,
    status,
    reason,
    message,
    lastTransitionTime: prev && prev.status === status && prev.reason === reason ? prev.lastTransitionTime : nowIso(),
    observedGeneration: t.metadata.generation,
  };
  const next: TenantStatus = {
    ...(old ?? { conditions: [] }),
    observedGeneration: t.metadata.generation,
    prods: placement.prods,
    domains: placement.domains,
    conditions: [...(old?.conditions ?? []).filter((c) => c.type !== SCHEDULED_CONDITION), condition],
  };
  if (placement.reason === undefined) delete next.reason;
  else next.reason = placement.reason;
  return next;
}

/**
 * Whether the stored status already says what the placement says, without building it: most tenants'
 * does. Exactly `sameStatus(t.status, desiredStatus(t, placement))` (Condition is strict: no other keys;
 * a Scheduled condition that is not alone or not last is moved by `desiredStatus`, a change).
 */
export function upToDate(t: Tenant, placement: TenantPlacement): boolean {
  const s = t.status;
  if (!s || s.observedGeneration !== t.metadata.generation || s.reason !== placement.reason) return false;
  if (!sameList(s.prods, placement.prods) || !sameList(s.domains, placement.domains)) return false;
  const c = s.conditions.at(-1);
  if (!c || c.type !== SCHEDULED_CONDITION || s.conditions.filter((x) => x.type === SCHEDULED_CONDITION).length !== 1) return false;
  const d = desiredCondition(t, placement);
  return c.status === d.status && c.reason === d.reason && c.message === d.message && c.observedGeneration === d.observedGeneration;
}

function sameList(a: readonly string[] | undefined, b: readonly string[]): boolean {
  return !!a && a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * Writes the placement's status on the tenant as read (`upToDate` found it stale); when that copy was
 * stale, on the stored one, unless the tenant is gone or its spec changed meanwhile (the watch has queued
 * another pass that sees the new spec). Returns what it wrote, undefined when it wrote nothing.
 */
export async function writeIfChanged(store: Store, tenant: Tenant, placement: TenantPlacement): Promise<Tenant | undefined> {
  let wrote = true;
  const w = await updateStatusOrMutate<Tenant>(store, { ...tenant, status: desiredStatus(tenant, placement) }, (cur) => {
    wrote = cur.metadata.generation === tenant.metadata.generation && !upToDate(cur, placement);
    if (!wrote) return false;
    cur.status = desiredStatus(cur, placement);
  });
  return wrote ? w : undefined;
}
