/**
 * The pure half of Drover's Route 53 health checks (src/cloud/route53/health-checks.ts has the calls): the
 * settings Drover manages, their flat-field form for diffs, the CallerReference that makes a check
 * Drover's, and the HealthCheckConfig sent to Route 53. No AWS SDK at run time (the CLI's diff uses it).
 */
import { createHash } from 'node:crypto';
import type { HealthCheckConfig, HealthCheckRegion } from '@aws-sdk/client-route-53';
import type { CloudState } from '../../api/kinds/cloud-traffic.js';

/** What Drover sets on a health check: the subset of HealthCheckConfig it manages. */
export interface HealthCheckSettings {
  type: 'HTTP' | 'HTTPS' | 'TCP';
  /** The address checked; or, without it, `fqdn` is resolved by Route 53 at each interval. */
  ipAddress?: string;
  /** The DNS name checked (and sent as Host / SNI). */
  fqdn?: string;
  port: number;
  /** HTTP/HTTPS only. */
  path?: string;
  intervalSeconds: 10 | 30;
  /** Consecutive failures (1–10) before the endpoint is unhealthy. */
  failureThreshold: number;
  /** At least 3 of Route 53's checker regions; unset: Route 53's default set. */
  regions?: string[];
}

export interface DesiredHealthCheck {
  /** Stable name of the endpoint within its owner (a cluster name, `source`, `target`). */
  key: string;
  settings: HealthCheckSettings;
}

/** The object the checks belong to; `uid` makes the ownership, the rest goes into tags. */
export interface HealthCheckOwner {
  kind: string;
  uid: string;
  name: string;
  /** The `drover.dev/owner` tag value (CloudTraffic: its owner id); default `<kind>/<name>` lower-cased. */
  ownerId?: string;
}

export const ownerTagValue = (o: HealthCheckOwner): string => o.ownerId ?? `${o.kind.toLowerCase()}/${o.name}`;

/** The hash in a check's CallerReference: the key and the settings an update cannot change. */
export function immutableHash(d: DesiredHealthCheck): string {
  const s = d.settings;
  const basis = JSON.stringify([d.key, s.type, s.intervalSeconds, s.ipAddress !== undefined]);
  return createHash('sha256').update(basis).digest('hex').slice(0, 16);
}

/** `<uid>/<hash>/<n>`: at most 36 + 1 + 16 + 1 + 2 = 56 of Route 53's 64 characters. */
export function callerReference(owner: HealthCheckOwner, d: DesiredHealthCheck, incarnation = 0): string {
  return `${owner.uid}/${immutableHash(d)}/${incarnation}`;
}

const sorted = (xs: readonly string[] | undefined): string | undefined => (xs && xs.length > 0 ? [...xs].sort().join(',') : undefined);

/**
 * A check's settings as flat fields (CloudState). `regions` is compared only when the desired settings name
 * regions (`withRegions`): Route 53 reports its default set for a check created without.
 */
export function healthCheckFields(s: HealthCheckSettings, withRegions = s.regions !== undefined): CloudState[string] {
  const f: CloudState[string] = { type: s.type, port: s.port, intervalSeconds: s.intervalSeconds, failureThreshold: s.failureThreshold };
  if (s.ipAddress !== undefined) f.ipAddress = s.ipAddress;
  if (s.fqdn !== undefined) f.fqdn = s.fqdn.replace(/\.$/, '').toLowerCase();
  if (s.type !== 'TCP') f.path = s.path ?? '/';
  if (withRegions) f.regions = sorted(s.regions) ?? null;
  return f;
}

export function settingsFromConfig(c: HealthCheckConfig | undefined): HealthCheckSettings {
  const t = c?.Type;
  const type: HealthCheckSettings['type'] = t === 'HTTPS' || t === 'HTTPS_STR_MATCH' ? 'HTTPS' : t === 'TCP' ? 'TCP' : 'HTTP';
  return {
    type,
    port: c?.Port ?? (type === 'HTTPS' ? 443 : 80),
    intervalSeconds: c?.RequestInterval === 10 ? 10 : 30,
    failureThreshold: c?.FailureThreshold ?? 3,
    ...(c?.IPAddress ? { ipAddress: c.IPAddress } : {}),
    ...(c?.FullyQualifiedDomainName ? { fqdn: c.FullyQualifiedDomainName } : {}),
    ...(c?.ResourcePath ? { path: c.ResourcePath } : {}),
    ...(c?.Regions && c.Regions.length > 0 ? { regions: [...c.Regions] } : {}),
  };
}

export function configOf(s: HealthCheckSettings): HealthCheckConfig {
  return {
    Type: s.type,
    Port: s.port,
    RequestInterval: s.intervalSeconds,
    FailureThreshold: s.failureThreshold,
    MeasureLatency: false,
    ...(s.ipAddress !== undefined ? { IPAddress: s.ipAddress } : {}),
    ...(s.fqdn !== undefined ? { FullyQualifiedDomainName: s.fqdn } : {}),
    ...(s.type !== 'TCP' ? { ResourcePath: s.path ?? '/' } : {}),
    ...(s.type === 'HTTPS' && s.fqdn !== undefined ? { EnableSNI: true } : {}),
    ...(s.regions ? { Regions: [...s.regions].sort() as HealthCheckRegion[] } : {}),
  };
}

