/** Route 53 names and record keys, without the SDK (the CLI and the pure compilers use them). */
import type { ResourceRecordSet } from '@aws-sdk/client-route-53';
import type { CloudState } from '../../api/kinds/cloud-traffic.js';

/** Lower case, `\052` → `*`, and the trailing dot Route 53 answers with. */
export function normalizeName(name: string): string {
  const n = name.replace(/\\052/g, '*').toLowerCase();
  return n.endsWith('.') ? n : `${n}.`;
}

export const recordKey = (r: ResourceRecordSet): string => `${normalizeName(r.Name ?? '')}/${r.Type ?? ''}/${r.SetIdentifier ?? ''}`;

/** A record set as flat fields: what Drover sets on it. */
export function recordFields(r: ResourceRecordSet): CloudState[string] {
  const f: CloudState[string] = {};
  if (r.Weight !== undefined) f.weight = r.Weight;
  if (r.Failover !== undefined) f.failover = r.Failover;
  if (r.AliasTarget) {
    f.alias = `${r.AliasTarget.HostedZoneId ?? ''}/${normalizeName(r.AliasTarget.DNSName ?? '')}`;
    f.evaluateTargetHealth = r.AliasTarget.EvaluateTargetHealth ?? false;
  }
  if (r.ResourceRecords) f.values = r.ResourceRecords.map((v) => v.Value ?? '').sort().join(',');
  if (r.TTL !== undefined) f.ttl = r.TTL;
  if (r.HealthCheckId !== undefined) f.healthCheckId = r.HealthCheckId;
  return f;
}
