/**
 * Route 53 record sets of one name, owned the way external-dns owns them: a TXT record next to the name
 * (`_drover.<name>`, so that it never collides with a CNAME or the user's own TXT at the name) says which
 * owner id manages every record set of that name and type. Reusable by any feature that writes DNS
 * (CloudTraffic, the load balancer mirror): read a name, plan the changes, write one batch.
 *
 * Rules:
 * - TXT names this owner → Drover manages every record set of (name, type): creates, updates, deletes.
 * - No TXT and no record set of (name, type) → free: the first batch creates the records and the TXT.
 * - No TXT but record sets exist, or a TXT naming another owner → not Drover's: nothing is written.
 * - One ChangeResourceRecordSets per zone and sync. Route 53 applies a batch atomically: when it is
 *   rejected (InvalidChangeBatch: someone changed a record between our read and our write), nothing of it
 *   was applied, and the next sync reads again and plans from what is there.
 */
import {
  ChangeResourceRecordSetsCommand,
  ListResourceRecordSetsCommand,
  type Change,
  type ResourceRecordSet,
  type Route53Client,
  type RRType,
} from '@aws-sdk/client-route-53';
import { awsCall, type CallMeter, type RetryPolicy } from '../aws-call.js';
import { normalizeName, recordFields, recordKey } from './names.js';

export { normalizeName, recordFields, recordKey };

/** Two record sets are the same when every field Drover sets is (recordFields). */
export const sameRecord = (a: ResourceRecordSet, b: ResourceRecordSet): boolean => JSON.stringify(recordFields(a)) === JSON.stringify(recordFields(b));

export const OWNER_PREFIX = '_drover.';


export function ownerRecordName(name: string): string {
  return OWNER_PREFIX + normalizeName(name);
}

/** The TXT value, quoted as Route 53 wants it: `"heritage=drover,drover/owner=ID,drover/resource=REF"`. */
export function ownerValue(ownerId: string, resource: string): string {
  return `"heritage=drover,drover/owner=${ownerId},drover/resource=${resource}"`;
}

export function parseOwner(txt: ResourceRecordSet | undefined): string | undefined {
  for (const r of txt?.ResourceRecords ?? []) {
    const v = (r.Value ?? '').replace(/^"|"$/g, '');
    if (!v.split(',').includes('heritage=drover')) continue;
    const kv = v.split(',').find((p) => p.startsWith('drover/owner='));
    if (kv) return kv.slice('drover/owner='.length);
  }
  return undefined;
}

/** Every record set named exactly `name` (any type), paging as needed. */
export async function readName(meter: CallMeter, client: Route53Client, zoneId: string, name: string, retry?: RetryPolicy): Promise<ResourceRecordSet[]> {
  const want = normalizeName(name);
  const out: ResourceRecordSet[] = [];
  let start: { name: string; type?: string; id?: string } | undefined = { name: want };
  while (start) {
    const from: { name: string; type?: string; id?: string } = start;
    const page = await awsCall(
      meter,
      'ListResourceRecordSets',
      'read',
      () =>
        client.send(
          new ListResourceRecordSetsCommand({
            HostedZoneId: zoneId,
            StartRecordName: from.name,
            ...(from.type ? { StartRecordType: from.type as 'A' } : {}),
            ...(from.id ? { StartRecordIdentifier: from.id } : {}),
            MaxItems: 100,
          }),
        ),
      retry,
    );
    let past = false;
    for (const r of page.ResourceRecordSets ?? []) {
      if (normalizeName(r.Name ?? '') !== want) {
        past = true;
        break;
      }
      out.push(r);
    }
    start = !past && page.IsTruncated && page.NextRecordName && normalizeName(page.NextRecordName) === want
      ? { name: page.NextRecordName, ...(page.NextRecordType ? { type: page.NextRecordType } : {}), ...(page.NextRecordIdentifier ? { id: page.NextRecordIdentifier } : {}) }
      : undefined;
  }
  return out;
}

export interface OwnedName {
  name: string;
  type: string;
  /** Record sets of (name, type). */
  records: ResourceRecordSet[];
  /** The ownership TXT record, when there is one. */
  txt: ResourceRecordSet | undefined;
  /** 'mine': TXT names this owner; 'free': no TXT, no records; else why not. */
  ownership: { state: 'mine' } | { state: 'free' } | { state: 'foreign'; reason: string };
}

/** Reads a name's records of one type and its ownership record: two ListResourceRecordSets calls. */
export async function readOwnedName(meter: CallMeter, client: Route53Client, zoneId: string, name: string, type: string, ownerId: string, retry?: RetryPolicy): Promise<OwnedName> {
  const n = normalizeName(name);
  const all = await readName(meter, client, zoneId, n, retry);
  // A CNAME excludes every other type at the name, and the other way round.
  const records = all.filter((r) => r.Type === type);
  const conflicting = all.filter((r) => r.Type !== type && (r.Type === 'CNAME' || type === 'CNAME'));
  const txt = (await readName(meter, client, zoneId, ownerRecordName(n), retry)).find((r) => r.Type === 'TXT');
  const owner = parseOwner(txt);
  let ownership: OwnedName['ownership'];
  if (owner === ownerId) ownership = { state: 'mine' };
  else if (owner !== undefined) ownership = { state: 'foreign', reason: `owned by "${owner}" (TXT ${ownerRecordName(n)}), not by "${ownerId}"` };
  else if (records.length > 0 || conflicting.length > 0)
    ownership = { state: 'foreign', reason: `${records.length + conflicting.length} record set(s) exist without a Drover ownership record (TXT ${ownerRecordName(n)}); delete them or add that record to let Drover manage the name` };
  else ownership = { state: 'free' };
  return { name: n, type, records, txt, ownership };
}


/**
 * The changes that make an owned (or free) name hold exactly `desired`: UPSERT what is new or different,
 * DELETE (with the exact values Route 53 holds, as it requires) what is no longer wanted, and CREATE the
 * ownership TXT when the name is claimed. Empty when nothing differs.
 */
export function planNameChanges(owned: OwnedName, desired: readonly ResourceRecordSet[], ownerId: string, resourceRef: string, same: (a: ResourceRecordSet, b: ResourceRecordSet) => boolean): Change[] {
  if (owned.ownership.state === 'foreign') return [];
  const have = new Map(owned.records.map((r) => [recordKey(r), r] as const));
  const want = new Map(desired.map((r) => [recordKey(r), r] as const));
  const changes: Change[] = [];
  for (const [k, r] of want) {
    const cur = have.get(k);
    if (!cur || !same(cur, r)) changes.push({ Action: 'UPSERT', ResourceRecordSet: r });
  }
  for (const [k, r] of have) if (!want.has(k)) changes.push({ Action: 'DELETE', ResourceRecordSet: r });
  if (changes.length > 0 && owned.ownership.state === 'free') {
    changes.push({ Action: 'CREATE', ResourceRecordSet: { Name: ownerRecordName(owned.name), Type: 'TXT', TTL: 300, ResourceRecords: [{ Value: ownerValue(ownerId, resourceRef) }] } });
  }
  return changes;
}

/** One ChangeResourceRecordSets for the zone (nothing when there is no change). */
export async function writeBatch(meter: CallMeter, client: Route53Client, zoneId: string, changes: readonly Change[], comment: string, retry?: RetryPolicy): Promise<string | undefined> {
  if (changes.length === 0) return undefined;
  const out = await awsCall(
    meter,
    'ChangeResourceRecordSets',
    'write',
    () => client.send(new ChangeResourceRecordSetsCommand({ HostedZoneId: zoneId, ChangeBatch: { Comment: comment, Changes: [...changes] } })),
    retry,
  );
  return out.ChangeInfo?.Id;
}

/** One weighted record set of a name, as the load balancer mirror's DNS split and CloudTraffic write it. */
export interface WeightedRecord {
  /** Unique per name and type, stable across syncs (`drover-<cluster>`, `source`, `target`). */
  setIdentifier: string;
  /** 0–255; 0 takes the record out of answers while another has weight > 0. */
  weight: number;
  /** An alias (a load balancer: its DNS name and canonical hosted zone id) or plain values with a TTL. */
  target: { alias: { hostedZoneId: string; dnsName: string; evaluateTargetHealth?: boolean } } | { values: string[]; ttl: number };
  /** A health check id (from syncOwnedHealthChecks, or the user's): unhealthy → left out of answers. */
  healthCheckId?: string;
}

export function weightedRecordSet(name: string, type: RRType, r: WeightedRecord): ResourceRecordSet {
  const t = r.target;
  return {
    Name: normalizeName(name),
    Type: type,
    SetIdentifier: r.setIdentifier,
    Weight: r.weight,
    ...('alias' in t
      ? { AliasTarget: { HostedZoneId: t.alias.hostedZoneId, DNSName: normalizeName(t.alias.dnsName), EvaluateTargetHealth: t.alias.evaluateTargetHealth ?? true } }
      : { TTL: t.ttl, ResourceRecords: t.values.map((Value) => ({ Value })) }),
    ...(r.healthCheckId ? { HealthCheckId: r.healthCheckId } : {}),
  };
}

/** A name Drover writes, and who it writes as. */
export interface NameRef {
  zoneId: string;
  name: string;
  type: RRType;
  /** The owner id in the TXT ownership record (two control planes on one zone need two). */
  ownerId: string;
  /** What owns it, for people (`loadbalancermirror/web`): written into the TXT record. */
  resourceRef: string;
}

export interface NameSyncResult {
  ownership: OwnedName['ownership'];
  /** The batch (empty: in sync, or not owned). */
  changes: Change[];
  /** True when the batch was sent (not in dryRun, not empty). */
  written: boolean;
  /** Route 53's change id (GetChange tells when it is INSYNC). */
  changeId?: string;
}

/**
 * Makes a name hold exactly `desired` (record sets of `ref.type`; build them with weightedRecordSet): two
 * ListResourceRecordSets, then one ChangeResourceRecordSets when something differs and the name is Drover's
 * (or free: it is claimed with the TXT record in the same batch). A foreign name is left untouched and said
 * so in `ownership`. `dryRun` plans and writes nothing.
 */
export async function syncOwnedName(meter: CallMeter, client: Route53Client, ref: NameRef, desired: readonly ResourceRecordSet[], opts: { retry?: RetryPolicy; dryRun?: boolean } = {}): Promise<NameSyncResult> {
  const owned = await readOwnedName(meter, client, ref.zoneId, ref.name, ref.type, ref.ownerId, opts.retry);
  const changes = planNameChanges(owned, desired, ref.ownerId, ref.resourceRef, sameRecord);
  if (opts.dryRun || changes.length === 0) return { ownership: owned.ownership, changes, written: false };
  const changeId = await writeBatch(meter, client, ref.zoneId, changes, `drover ${ref.resourceRef}`, opts.retry);
  return { ownership: owned.ownership, changes, written: true, ...(changeId ? { changeId } : {}) };
}
