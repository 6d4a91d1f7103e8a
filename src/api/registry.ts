/**
 * The kinds Drover knows, and the names by which the API and CLI accept them (singular, plural, short,
 * case-insensitive — as kubectl does).
 */
import type { z } from 'zod';
import { DroverError } from '../errors.js';
import { CloudTraffic } from './kinds/cloud-traffic.js';
import { Cluster } from './kinds/cluster.js';
import { Event } from './kinds/event.js';
import { Fleet } from './kinds/fleet.js';
import { GitSource } from './kinds/git-source.js';
import { Prod } from './kinds/prod.js';
import { Release } from './kinds/release.js';
import { Tenant } from './kinds/tenant.js';
import { TrafficPlan, TrafficRoute } from './kinds/traffic-plan.js';
import { TrafficPolicy } from './kinds/traffic-policy.js';

export interface KindInfo {
  kind: string;
  plural: string;
  singular: string;
  shortNames: readonly string[];
  schema: z.ZodTypeAny;
  /** Written by controllers only: users may read but not create or change them. */
  systemOwned: boolean;
}

function kind(kind: string, plural: string, shortNames: string[], schema: z.ZodTypeAny, systemOwned = false): KindInfo {
  return { kind, plural, singular: kind.toLowerCase(), shortNames, schema, systemOwned };
}

export const kinds: readonly KindInfo[] = [
  kind('Cluster', 'clusters', ['cl'], Cluster),
  kind('Fleet', 'fleets', ['fl'], Fleet),
  kind('Prod', 'prods', ['pr'], Prod),
  kind('Tenant', 'tenants', ['tn'], Tenant),
  kind('Release', 'releases', ['rel'], Release),
  kind('TrafficPolicy', 'trafficpolicies', ['tp'], TrafficPolicy),
  kind('GitSource', 'gitsources', ['gs'], GitSource),
  kind('CloudTraffic', 'cloudtraffics', ['ct'], CloudTraffic),
  kind('TrafficPlan', 'trafficplans', ['plan'], TrafficPlan, true),
  kind('TrafficRoute', 'trafficroutes', ['route'], TrafficRoute, true),
  kind('Event', 'events', ['ev'], Event, true),
];

const byAnyName = new Map<string, KindInfo>();
for (const k of kinds) {
  for (const n of [k.kind.toLowerCase(), k.plural, k.singular, ...k.shortNames]) byAnyName.set(n, k);
}

export function findKind(name: string): KindInfo | undefined {
  return byAnyName.get(name.toLowerCase());
}

export function kindByKind(kindName: string): KindInfo {
  const k = kinds.find((x) => x.kind === kindName);
  if (!k) throw unknownKind(kindName);
  return k;
}

export function resolveKind(name: string): KindInfo {
  const k = findKind(name);
  if (!k) throw unknownKind(name);
  return k;
}

function unknownKind(name: string): DroverError {
  const names = kinds.map((k) => k.plural).join(', ');
  return new DroverError('DROVER_E_UNKNOWN_KIND', `unknown kind "${name}"`, {
    field: 'kind',
    fix: `use one of: ${names}`,
  });
}
