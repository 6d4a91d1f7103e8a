/**
 * The DNS half of a LoadBalancerMirror: two weighted A records at `recordName` — `drover-source` at the
 * Octavia VIP (or `sourceAddress`) and `drover-target` aliased to the NLB — each with a Route 53 health
 * check, so that when one side's check fails Route 53 drops its record and the other takes 100 %. Glue
 * only: the records go through src/cloud/route53/records.ts (TXT ownership, one batch per zone) and the
 * health checks through src/cloud/route53/health-checks.ts, the cloud traffic code's Route 53 client.
 *
 * Idle: two ListResourceRecordSets (the name and its TXT) and the health-check sync; no write when the
 * records already hold the weights, targets and health check ids.
 */
import type { ResourceRecordSet, Route53Client } from '@aws-sdk/client-route-53';
import type { LoadBalancerMirror } from '../api/kinds/load-balancer-mirror.js';
import { mirrorOwnerId } from '../api/kinds/load-balancer-mirror.js';
import type { CallMeter, RetryPolicy } from '../cloud/aws-call.js';
import { deleteHealthChecks, type DesiredHealthCheck, type HealthCheckOwner, type syncOwnedHealthChecks } from '../cloud/route53/health-checks.js';
import { normalizeName, planNameChanges, readOwnedName, writeBatch } from '../cloud/route53/records.js';

export const SOURCE_ID = 'drover-source';
export const TARGET_ID = 'drover-target';

export interface MirrorDnsSides {
  sourceAddress: string;
  /** Undefined until the NLB exists: only the source record is written then. */
  nlb?: { dnsName: string; canonicalHostedZoneId: string };
  /** The first mirrored listener's port: the health checks' default port. */
  port: number;
}

export interface MirrorDnsResult {
  weights: { source: number; target: number };
  healthCheckIds: Record<string, string>;
  notOwned?: string;
  changed: boolean;
}

export type SyncHealthChecks = typeof syncOwnedHealthChecks;

const owner = (m: LoadBalancerMirror): HealthCheckOwner => ({ kind: 'LoadBalancerMirror', uid: m.metadata.uid ?? m.metadata.name, name: m.metadata.name });

function healthChecks(m: LoadBalancerMirror, sides: MirrorDnsSides): DesiredHealthCheck[] {
  const hc = m.spec.dns?.route53.healthChecks;
  if (!hc) return [];
  const out: DesiredHealthCheck[] = [];
  const one = (key: 'source' | 'target', side: NonNullable<typeof hc.source>, at: { ipAddress: string } | { fqdn: string }): DesiredHealthCheck => ({
    key,
    settings: {
      type: side.type,
      ...at,
      port: side.port ?? sides.port,
      ...(side.resourcePath ? { path: side.resourcePath } : {}),
      intervalSeconds: side.requestInterval ?? 30,
      failureThreshold: side.failureThreshold ?? 3,
    },
  });
  if (hc.source) out.push(one('source', hc.source, { ipAddress: sides.sourceAddress }));
  if (hc.target && sides.nlb) out.push(one('target', hc.target, { fqdn: sides.nlb.dnsName }));
  return out;
}

const sameRecord = (a: ResourceRecordSet, b: ResourceRecordSet): boolean =>
  a.Weight === b.Weight &&
  (a.HealthCheckId ?? '') === (b.HealthCheckId ?? '') &&
  (a.TTL ?? 0) === (b.TTL ?? 0) &&
  JSON.stringify((a.ResourceRecords ?? []).map((r) => r.Value)) === JSON.stringify((b.ResourceRecords ?? []).map((r) => r.Value)) &&
  normalizeName(a.AliasTarget?.DNSName ?? '') === normalizeName(b.AliasTarget?.DNSName ?? '') &&
  (a.AliasTarget?.EvaluateTargetHealth ?? false) === (b.AliasTarget?.EvaluateTargetHealth ?? false);

/** Health checks, then records; `previousIds` is `status.dns.healthCheckIds`. */
export async function syncMirrorDns(
  meter: CallMeter,
  client: Route53Client,
  m: LoadBalancerMirror,
  sides: MirrorDnsSides,
  previousIds: Record<string, string>,
  syncHealthChecks: SyncHealthChecks,
  retry?: RetryPolicy,
): Promise<MirrorDnsResult> {
  const r53 = m.spec.dns!.route53;
  const ownerId = mirrorOwnerId(m);
  // prune: false — a check no key wants any more is deleted only after the records stop naming it.
  const hc = await syncHealthChecks(client, owner(m), healthChecks(m, sides), previousIds, { meter, ...(retry ? { retry } : {}), prune: false });
  const name = normalizeName(r53.recordName);
  const records: ResourceRecordSet[] = [
    {
      Name: name,
      Type: 'A',
      SetIdentifier: SOURCE_ID,
      Weight: r53.weights.source,
      TTL: r53.ttl,
      ResourceRecords: [{ Value: sides.sourceAddress }],
      ...(hc.ids.source ? { HealthCheckId: hc.ids.source } : {}),
    },
  ];
  if (sides.nlb) {
    records.push({
      Name: name,
      Type: 'A',
      SetIdentifier: TARGET_ID,
      Weight: r53.weights.target,
      AliasTarget: { DNSName: sides.nlb.dnsName, HostedZoneId: sides.nlb.canonicalHostedZoneId, EvaluateTargetHealth: true },
      ...(hc.ids.target ? { HealthCheckId: hc.ids.target } : {}),
    });
  }
  const owned = await readOwnedName(meter, client, r53.hostedZoneId, name, 'A', ownerId, retry);
  if (owned.ownership.state === 'foreign') return { weights: weightsOf(owned.records), healthCheckIds: hc.ids, notOwned: `${name}: ${owned.ownership.reason}`, changed: false };
  const changes = planNameChanges(owned, records, ownerId, `loadbalancermirror/${m.metadata.name}`, sameRecord);
  await writeBatch(meter, client, r53.hostedZoneId, changes, `drover LoadBalancerMirror ${m.metadata.name}`, retry);
  await deleteHealthChecks(meter, client, hc.stale, retry);
  return { weights: weightsOf(records), healthCheckIds: hc.ids, changed: changes.length > 0 || hc.created.length + hc.updated.length + hc.stale.length > 0 };
}

function weightsOf(records: readonly ResourceRecordSet[]): { source: number; target: number } {
  const w = (id: string): number => records.find((r) => r.SetIdentifier === id)?.Weight ?? 0;
  return { source: w(SOURCE_ID), target: w(TARGET_ID) };
}

/** The finalizer's DNS work: delete the mirror's records and health checks (the TXT ownership record stays). */
export async function deleteMirrorDns(meter: CallMeter, client: Route53Client, m: LoadBalancerMirror, previousIds: Record<string, string>, syncHealthChecks: SyncHealthChecks, retry?: RetryPolicy): Promise<void> {
  const r53 = m.spec.dns!.route53;
  const owned = await readOwnedName(meter, client, r53.hostedZoneId, r53.recordName, 'A', mirrorOwnerId(m), retry);
  if (owned.ownership.state === 'mine') {
    const changes = planNameChanges(owned, owned.records.filter((r) => r.SetIdentifier !== SOURCE_ID && r.SetIdentifier !== TARGET_ID), mirrorOwnerId(m), `loadbalancermirror/${m.metadata.name}`, sameRecord);
    await writeBatch(meter, client, r53.hostedZoneId, changes, `drover LoadBalancerMirror ${m.metadata.name} deleted`, retry);
  }
  // Records first: a record must not point at a health check that is gone.
  await syncHealthChecks(client, owner(m), [], previousIds, { meter, ...(retry ? { retry } : {}), prune: true });
}
