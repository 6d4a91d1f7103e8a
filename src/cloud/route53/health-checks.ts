/**
 * Route 53 health checks that Drover creates and owns, one per endpoint key (a cluster of a CloudTraffic,
 * the source/target side of a load balancer mirror). Reusable by any controller: `syncOwnedHealthChecks`
 * brings an owner's health checks to a desired list; `deleteOwnedHealthChecks` is its finalizer.
 *
 * Ownership is the CallerReference, which Route 53 keeps for the life of a check and which nobody can
 * change: `<owner uid>/<hash>/<n>`. A check whose reference starts with the owner object's uid was created
 * by Drover for that object (uids are random per object); every other check in the account is never read
 * past its reference, updated or deleted — including ids a user passes in (bring-your-own checks). Tags
 * (`drover.dev/owner`, `drover.dev/resource`, `drover.dev/endpoint`, `Name`) are written with each new check
 * for people and billing; ownership does not depend on them (a crash between create and tag loses nothing).
 *
 * Why the reference holds a hash, and which one: Route 53 answers a CreateHealthCheck whose CallerReference
 * and settings match an existing check with that check (so a retried create, or a create after a restart
 * that lost the answer, never makes a second check), and answers HealthCheckAlreadyExists for the reference
 * of a deleted check. `<hash>` covers the key and the settings UpdateHealthCheck cannot change (type,
 * interval, whether an IP address is set; Drover never measures latency): a check is found again by hash, updated in
 * place for the other settings (port, path, threshold, regions, address/DNS name), and replaced (create the
 * new one, repoint records, delete the old one) when an immutable one changes. `<n>` (0, 1, …) steps past
 * references of deleted checks, in order, so a retry after a restart walks the same sequence and finds its
 * own check instead of making one more.
 *
 * Order with records (Route 53 lets a check that records still use be deleted, and the records' health is
 * then undefined): create and update first, point the records at the ids, then delete. `syncOwnedHealthChecks`
 * with `prune: false` leaves the deletions (`stale`) for `deleteHealthChecks` after the records batch.
 */
import {
  ChangeTagsForResourceCommand,
  CreateHealthCheckCommand,
  DeleteHealthCheckCommand,
  ListHealthChecksCommand,
  UpdateHealthCheckCommand,
  type HealthCheck,
  type HealthCheckRegion,
  type ResettableElementName,
  type Route53Client,
} from '@aws-sdk/client-route-53';
import { awsCall, AwsCallError, CallMeter, type RetryPolicy } from '../aws-call.js';
import {
  callerReference,
  configOf,
  healthCheckFields,
  immutableHash,
  ownerTagValue,
  settingsFromConfig,
  type DesiredHealthCheck,
  type HealthCheckOwner,
  type HealthCheckSettings,
} from './health-check-settings.js';

export * from './health-check-settings.js';

export interface OwnedHealthCheck {
  /** The desired key it serves, when it matches one (by hash); undefined for a check to delete. */
  key: string | undefined;
  id: string;
  version: number;
  callerReference: string;
  settings: HealthCheckSettings;
}

export interface OwnedHealthChecks {
  /** Key → the owner's check serving it now. */
  byKey: Map<string, OwnedHealthCheck>;
  /** The owner's checks no desired key wants (key removed, immutable setting changed, a duplicate). */
  stale: OwnedHealthCheck[];
  /** Keys whose recorded id (`observedIds`) is gone from Route 53 (deleted by hand): recreated. */
  missing: string[];
  /** Recorded ids that are not Drover's checks: never touched (`key: reason`). */
  notOwned: string[];
}

export interface HealthCheckSyncResult {
  /** Key → health check id, for every desired key that has a check after the sync. */
  ids: Record<string, string>;
  /** Keys whose check was created (or replaced: an immutable setting changed). */
  created: string[];
  /** Keys whose check was updated in place. */
  updated: string[];
  /** Ids of checks deleted (with `prune`), or left to delete after the records (`stale`, without it). */
  deleted: string[];
  stale: string[];
  missing: string[];
  notOwned: string[];
}

export interface HealthCheckSyncOptions {
  meter?: CallMeter;
  retry?: RetryPolicy;
  /** Delete the owner's checks no key wants (default true). False: returned in `stale` (see the header). */
  prune?: boolean;
  /** A read made already (e.g. by a CloudTarget's observe): no second ListHealthChecks. */
  read?: OwnedHealthChecks;
}

export const OWNER_TAG = 'drover.dev/owner';
export const RESOURCE_TAG = 'drover.dev/resource';
export const ENDPOINT_TAG = 'drover.dev/endpoint';
/** References of deleted checks stepped over before giving up (Route 53 forgets them after some days). */
const MAX_INCARNATIONS = 64;

/** Every health check of the account, paging at Route 53's maximum of 1000 a page. */
async function listAll(meter: CallMeter, client: Route53Client, retry?: RetryPolicy): Promise<HealthCheck[]> {
  const out: HealthCheck[] = [];
  let marker: string | undefined;
  do {
    const from = marker;
    const page = await awsCall(meter, 'ListHealthChecks', 'read', () => client.send(new ListHealthChecksCommand({ MaxItems: 1000, ...(from ? { Marker: from } : {}) })), retry);
    out.push(...(page.HealthChecks ?? []));
    marker = page.IsTruncated ? page.NextMarker : undefined;
  } while (marker);
  return out;
}

/**
 * The owner's checks, matched to the desired keys by the hash in their CallerReference. Of two checks for
 * one key (a duplicate someone made by hand with our reference, or an old incarnation), the one the caller
 * recorded is kept, else the lowest incarnation; the other is stale. One ListHealthChecks per 1000 checks.
 */
export async function readOwnedHealthChecks(
  meter: CallMeter,
  client: Route53Client,
  owner: HealthCheckOwner,
  desired: readonly DesiredHealthCheck[],
  observedIds: Readonly<Record<string, string>> = {},
  retry?: RetryPolicy,
): Promise<OwnedHealthChecks> {
  const all = await listAll(meter, client, retry);
  const prefix = `${owner.uid}/`;
  const byHash = new Map(desired.map((d) => [immutableHash(d), d.key] as const));
  const byKey = new Map<string, OwnedHealthCheck>();
  const stale: OwnedHealthCheck[] = [];
  const incarnation = (c: OwnedHealthCheck): number => Number(c.callerReference.split('/')[2] ?? 0);
  const allIds = new Set<string>();
  for (const hc of all) {
    if (hc.Id) allIds.add(hc.Id);
    const ref = hc.CallerReference ?? '';
    if (!hc.Id || !ref.startsWith(prefix)) continue;
    const key = byHash.get(ref.slice(prefix.length).split('/')[0] ?? '');
    const check: OwnedHealthCheck = { key, id: hc.Id, version: hc.HealthCheckVersion ?? 1, callerReference: ref, settings: settingsFromConfig(hc.HealthCheckConfig) };
    if (key === undefined) {
      stale.push(check);
      continue;
    }
    const cur = byKey.get(key);
    if (!cur) byKey.set(key, check);
    else {
      const keepNew = observedIds[key] === check.id || (observedIds[key] !== cur.id && incarnation(check) < incarnation(cur));
      byKey.set(key, keepNew ? check : cur);
      stale.push({ ...(keepNew ? cur : check), key: undefined });
    }
  }
  const missing: string[] = [];
  const notOwned: string[] = [];
  for (const [key, id] of Object.entries(observedIds)) {
    const mine = byKey.get(key)?.id === id || stale.some((s) => s.id === id);
    if (mine) continue;
    if (allIds.has(id)) notOwned.push(`${key}: health check ${id} was not created by Drover for ${owner.kind} ${owner.name}; not touched`);
    else if (!byKey.has(key)) missing.push(key);
  }
  return { byKey, stale, missing, notOwned };
}

/** What a sync would do, from a read (pure): creates, in-place updates, deletions. */
export function planHealthChecks(read: OwnedHealthChecks, desired: readonly DesiredHealthCheck[]): { create: DesiredHealthCheck[]; update: { current: OwnedHealthCheck; desired: DesiredHealthCheck }[]; remove: OwnedHealthCheck[] } {
  const create: DesiredHealthCheck[] = [];
  const update: { current: OwnedHealthCheck; desired: DesiredHealthCheck }[] = [];
  for (const d of desired) {
    const cur = read.byKey.get(d.key);
    if (!cur) create.push(d);
    else if (JSON.stringify(healthCheckFields(cur.settings, d.settings.regions !== undefined)) !== JSON.stringify(healthCheckFields(d.settings))) update.push({ current: cur, desired: d });
  }
  return { create, update, remove: [...read.stale] };
}

function isCode(e: unknown, code: string): boolean {
  return e instanceof AwsCallError && e.code === code;
}

/** CreateHealthCheck, stepping past references of deleted checks; then its tags (a failed tag is not retried here). */
async function createCheck(meter: CallMeter, client: Route53Client, owner: HealthCheckOwner, d: DesiredHealthCheck, retry?: RetryPolicy): Promise<string> {
  for (let n = 0; n < MAX_INCARNATIONS; n++) {
    let id: string | undefined;
    try {
      const out = await awsCall(meter, 'CreateHealthCheck', 'write', () => client.send(new CreateHealthCheckCommand({ CallerReference: callerReference(owner, d, n), HealthCheckConfig: configOf(d.settings) })), retry);
      id = out.HealthCheck?.Id;
    } catch (e) {
      // The reference of a deleted check (or of one of ours with other settings): the next one.
      if (isCode(e, 'HealthCheckAlreadyExists')) continue;
      throw e;
    }
    if (!id) throw new AwsCallError('CreateHealthCheck', 'InvalidResponse', 'permanent', 'no health check id in the answer', 1);
    const created = id;
    const tags = [
      { Key: OWNER_TAG, Value: ownerTagValue(owner) },
      { Key: RESOURCE_TAG, Value: `${owner.kind.toLowerCase()}/${owner.name}` },
      { Key: ENDPOINT_TAG, Value: d.key },
      { Key: 'Name', Value: `drover ${owner.name} ${d.key}` },
    ];
    await awsCall(meter, 'ChangeTagsForResource', 'write', () => client.send(new ChangeTagsForResourceCommand({ ResourceType: 'healthcheck', ResourceId: created, AddTags: tags })), retry);
    return created;
  }
  throw new AwsCallError('CreateHealthCheck', 'HealthCheckAlreadyExists', 'permanent', `${MAX_INCARNATIONS} caller references of deleted health checks for ${d.key}; Route 53 forgets them after some days`, MAX_INCARNATIONS);
}

async function updateCheck(meter: CallMeter, client: Route53Client, cur: OwnedHealthCheck, d: DesiredHealthCheck, retry?: RetryPolicy): Promise<void> {
  const s = d.settings;
  // A spec without `regions` leaves the check's regions as they are (Route 53 reports its default set).
  const reset: ResettableElementName[] = [];
  if (s.fqdn === undefined && cur.settings.fqdn !== undefined) reset.push('FullyQualifiedDomainName');
  try {
    await updateCall(meter, client, cur, s, reset, retry);
  } catch (e) {
    // Someone changed the check between our read and our write: read again soon rather than at the next period.
    if (isCode(e, 'HealthCheckVersionMismatch')) throw new AwsCallError('UpdateHealthCheck', 'HealthCheckVersionMismatch', 'transient', `health check ${cur.id} changed since it was read (version ${cur.version}); read again`, 1, { cause: e });
    throw e;
  }
}

async function updateCall(meter: CallMeter, client: Route53Client, cur: OwnedHealthCheck, s: HealthCheckSettings, reset: ResettableElementName[], retry?: RetryPolicy): Promise<void> {
  await awsCall(
    meter,
    'UpdateHealthCheck',
    'write',
    () =>
      client.send(
        new UpdateHealthCheckCommand({
          HealthCheckId: cur.id,
          // Route 53 refuses the update (HealthCheckVersionMismatch) if someone changed the check since the read.
          HealthCheckVersion: cur.version,
          Port: s.port,
          FailureThreshold: s.failureThreshold,
          ...(s.ipAddress !== undefined ? { IPAddress: s.ipAddress } : {}),
          ...(s.fqdn !== undefined ? { FullyQualifiedDomainName: s.fqdn } : {}),
          ...(s.type !== 'TCP' ? { ResourcePath: s.path ?? '/' } : {}),
          ...(s.regions ? { Regions: [...s.regions].sort() as HealthCheckRegion[] } : {}),
          ...(reset.length > 0 ? { ResetElements: reset } : {}),
        }),
      ),
    retry,
  );
}

/** Deletes checks by id; one already gone counts as deleted. */
export async function deleteHealthChecks(meter: CallMeter, client: Route53Client, ids: readonly string[], retry?: RetryPolicy): Promise<string[]> {
  const done: string[] = [];
  for (const id of ids) {
    try {
      await awsCall(meter, 'DeleteHealthCheck', 'write', () => client.send(new DeleteHealthCheckCommand({ HealthCheckId: id })), retry);
    } catch (e) {
      if (!isCode(e, 'NoSuchHealthCheck')) throw e;
    }
    done.push(id);
  }
  return done;
}

/**
 * Brings the owner's checks to `desired`: creates the missing (idempotent by CallerReference), updates
 * changed ones in place, and deletes the rest (or leaves them in `stale`, `prune: false`). Never touches
 * a check it did not create for this owner. `observedIds` are the ids the caller recorded last time (its
 * status): they choose between duplicates and report checks deleted by hand (`missing`) or not Drover's
 * (`notOwned`); they never make a check Drover's.
 */
export async function syncOwnedHealthChecks(
  client: Route53Client,
  owner: HealthCheckOwner,
  desired: readonly DesiredHealthCheck[],
  observedIds: Readonly<Record<string, string>> = {},
  opts: HealthCheckSyncOptions = {},
): Promise<HealthCheckSyncResult> {
  const meter = opts.meter ?? new CallMeter();
  const read = opts.read ?? (await readOwnedHealthChecks(meter, client, owner, desired, observedIds, opts.retry));
  const plan = planHealthChecks(read, desired);
  const ids: Record<string, string> = {};
  for (const [k, c] of read.byKey) ids[k] = c.id;
  const created: string[] = [];
  const updated: string[] = [];
  for (const d of plan.create) {
    ids[d.key] = await createCheck(meter, client, owner, d, opts.retry);
    created.push(d.key);
  }
  for (const u of plan.update) {
    await updateCheck(meter, client, u.current, u.desired, opts.retry);
    updated.push(u.desired.key);
  }
  const staleIds = plan.remove.map((c) => c.id);
  const prune = opts.prune ?? true;
  const deleted = prune ? await deleteHealthChecks(meter, client, staleIds, opts.retry) : [];
  return { ids, created, updated, deleted, stale: prune ? [] : staleIds, missing: read.missing, notOwned: read.notOwned };
}

/** The finalizer: deletes every check Drover created for the owner. Returns their ids. */
export async function deleteOwnedHealthChecks(client: Route53Client, owner: HealthCheckOwner, opts: { meter?: CallMeter; retry?: RetryPolicy } = {}): Promise<string[]> {
  const result = await syncOwnedHealthChecks(client, owner, [], {}, { ...opts, prune: true });
  return result.deleted;
}
