/**
 * STUB (mirror branch): the route53 engineer's src/cloud/route53/health-checks.ts replaces this file at
 * merge. Only the signature agreed for the load balancer mirror is here, so that src/controllers/
 * mirror-dns.ts compiles; calling it before the merge fails with a clear message.
 */
import type { Route53Client } from '@aws-sdk/client-route-53';

export interface DesiredHealthCheck { key: string; type: 'HTTP'|'HTTPS'|'TCP'; ipAddress?: string; fqdn?: string; port: number; resourcePath?: string; requestInterval?: 10|30; failureThreshold?: number }

export async function syncOwnedHealthChecks(client: Route53Client, owner: {kind: string; uid: string; name: string}, desired: DesiredHealthCheck[], observedIds: Record<string,string>): Promise<{ids: Record<string,string>; created: string[]; updated: string[]; deleted: string[]}> {
  void client;
  void owner;
  void observedIds;
  if (desired.length === 0 && Object.keys(observedIds).length === 0) return { ids: {}, created: [], updated: [], deleted: [] };
  throw new Error('Route 53 health checks are not merged into this build yet (src/cloud/route53/health-checks.ts is a stub)');
}
