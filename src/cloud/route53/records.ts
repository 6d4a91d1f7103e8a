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
} from '@aws-sdk/client-route-53';
import { awsCall, type CallMeter, type RetryPolicy } from '../aws-call.js';
import { normalizeName, recordKey } from './names.js';

export { normalizeName, recordKey };

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
