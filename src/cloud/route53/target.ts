/**
 * Route 53 as a CloudTarget: reads the record name and its ownership record (2 calls per sync), and with
 * owned health checks the account's health checks (1 ListHealthChecks per 1000 checks); writes, in this
 * order, the health checks to create or update, one ChangeResourceRecordSets batch for the zone with the
 * records pointing at their ids, then deletes the health checks nothing uses any more. Ownership and
 * batching: src/cloud/route53/records.ts; health checks: src/cloud/route53/health-checks.ts.
 *
 * State: Drover's check of a cluster is `healthCheck/<cluster>` (its settings as fields); a record's
 * `healthCheckId` reads `healthCheck/<cluster>` while it points at that check, so that a diff compares
 * symbols, not ids that exist only after a create. A check of Drover's that no cluster wants any more (or
 * that an immutable setting change replaces) is `healthCheck/stale/<id>`, deleted after the records batch.
 */
import type { ResourceRecordSet, Route53Client } from '@aws-sdk/client-route-53';
import type { CloudState, Route53Spec } from '../../api/kinds/cloud-traffic.js';
import type { CallMeter, RetryPolicy } from '../aws-call.js';
import type { CloudTarget, Observation } from '../target.js';
import { HEALTH_CHECK_PREFIX, hcResource, recordsState, type DesiredRoute53 } from './compile.js';
import { deleteHealthChecks, healthCheckFields, readOwnedHealthChecks, syncOwnedHealthChecks, type HealthCheckOwner, type OwnedHealthChecks } from './health-checks.js';
import { planNameChanges, readOwnedName, sameRecord, writeBatch, type OwnedName } from './records.js';

export interface Route53Observation extends Observation {
  owned: OwnedName;
  /** Drover's health checks, when the spec asks for them or the status still records some. */
  checks: OwnedHealthChecks | undefined;
}

const staleResource = (id: string): string => `${HEALTH_CHECK_PREFIX}stale/${id}`;

export interface Route53TargetOptions {
  owner: HealthCheckOwner & { ownerId: string };
  resourceRef: string;
  /** status.healthChecks: the ids recorded at the last sync. */
  recordedChecks?: Record<string, string>;
  retry?: RetryPolicy;
}

export function route53Target(client: Route53Client, spec: Route53Spec, desired: DesiredRoute53, opts: Route53TargetOptions): CloudTarget<Route53Observation> {
  const { owner, resourceRef, retry } = opts;
  const ownerId = owner.ownerId;
  const recorded = opts.recordedChecks ?? {};
  const recordsDesired = recordsState(desired.records);
  const desiredState: CloudState = { ...recordsDesired };
  for (const hc of desired.healthChecks) desiredState[hcResource(hc.key)] = healthCheckFields(hc.settings);
  const wantsChecks = spec.healthCheck !== undefined || Object.keys(recorded).length > 0;
  const regionsOf = new Map(desired.healthChecks.map((d) => [d.key, d.settings.regions !== undefined] as const));

  return {
    provider: 'route53',
    desired: desiredState,
    notes: desired.notes,
    failStatic: desired.failStatic,

    async observe(meter) {
      const owned = await readOwnedName(meter, client, spec.hostedZoneId, spec.recordName, spec.type, ownerId, retry);
      if (owned.ownership.state === 'foreign') {
        return { owned, checks: undefined, state: {}, writable: new Set(), claims: new Set(), notOwned: notOwnedLines(Object.keys(desiredState), `record/${owned.name}/${spec.type}`, owned.ownership.reason) };
      }
      const checks = wantsChecks ? await readOwnedHealthChecks(meter, client, owner, desired.healthChecks, recorded, retry) : undefined;
      // Ids of Drover's checks read back as the symbols the compiler writes.
      const symbol = new Map<string, string>();
      for (const [key, c] of checks?.byKey ?? []) symbol.set(c.id, hcResource(key));
      const records = owned.records.map((r): ResourceRecordSet => (r.HealthCheckId && symbol.has(r.HealthCheckId) ? { ...r, HealthCheckId: symbol.get(r.HealthCheckId)! } : r));
      const state = recordsState(records);
      for (const [key, c] of checks?.byKey ?? []) state[hcResource(key)] = healthCheckFields(c.settings, regionsOf.get(key) ?? false);
      for (const c of checks?.stale ?? []) state[staleResource(c.id)] = healthCheckFields(c.settings);
      const resources = new Set([...Object.keys(desiredState), ...Object.keys(state)]);
      const claims = owned.ownership.state === 'free' ? new Set(Object.keys(recordsDesired)) : new Set<string>();
      for (const hc of desired.healthChecks) if (!checks?.byKey.has(hc.key)) claims.add(hcResource(hc.key));
      const healthChecks: Record<string, string> = {};
      for (const [key, c] of checks?.byKey ?? []) healthChecks[key] = c.id;
      return { owned, checks, state, writable: resources, claims, notOwned: (checks?.notOwned ?? []).map((n) => `${HEALTH_CHECK_PREFIX}${n}`), ...(checks ? { healthChecks } : {}) };
    },

    async apply(meter, observed) {
      let ids: Record<string, string> = {};
      let stale: string[] = [];
      if (observed.checks) {
        const r = await syncOwnedHealthChecks(client, owner, desired.healthChecks, recorded, { meter, ...(retry ? { retry } : {}), prune: false, read: observed.checks });
        ids = r.ids;
        stale = r.stale;
      }
      const resolved = desired.records.map((r) => resolveCheck(r, ids));
      const changes = planNameChanges(observed.owned, resolved, ownerId, resourceRef, sameRecord);
      await writeBatch(meter, client, spec.hostedZoneId, changes, `drover ${resourceRef}`, retry);
      // Only once no record points at them any more.
      await deleteHealthChecks(meter, client, stale, retry);
      return observed.checks ? { healthChecks: ids } : {};
    },
  };
}

/** `healthCheck/<key>` → the check's id; a check that could not be made leaves the record without one. */
function resolveCheck(r: ResourceRecordSet, ids: Record<string, string>): ResourceRecordSet {
  if (!r.HealthCheckId?.startsWith(HEALTH_CHECK_PREFIX)) return r;
  const id = ids[r.HealthCheckId.slice(HEALTH_CHECK_PREFIX.length)];
  const { HealthCheckId: _symbol, ...rest } = r;
  return id ? { ...rest, HealthCheckId: id } : rest;
}

/**
 * The finalizer's work: records of a name Drover owns stop pointing at Drover's checks (one batch: the
 * records stay, without a health check), then every check Drover created for the owner is deleted.
 * Returns the deleted ids.
 */
export async function releaseRoute53HealthChecks(meter: CallMeter, client: Route53Client, spec: Route53Spec, opts: Route53TargetOptions): Promise<string[]> {
  const { owner, resourceRef, retry } = opts;
  const checks = await readOwnedHealthChecks(meter, client, owner, [], {}, retry);
  const ids = new Set(checks.stale.map((c) => c.id));
  if (ids.size === 0) return [];
  const owned = await readOwnedName(meter, client, spec.hostedZoneId, spec.recordName, spec.type, owner.ownerId, retry);
  if (owned.ownership.state === 'mine') {
    const unhooked = owned.records.map((r): ResourceRecordSet => {
      if (!r.HealthCheckId || !ids.has(r.HealthCheckId)) return r;
      const { HealthCheckId: _id, ...rest } = r;
      return rest;
    });
    const changes = planNameChanges(owned, unhooked, owner.ownerId, resourceRef, sameRecord);
    await writeBatch(meter, client, spec.hostedZoneId, changes, `drover ${resourceRef}: release health checks`, retry);
  }
  return deleteHealthChecks(meter, client, [...ids], retry);
}

function notOwnedLines(resources: readonly string[], fallback: string, reason: string): string[] {
  return (resources.length > 0 ? resources : [fallback]).map((r) => `${r}: ${reason}`);
}
