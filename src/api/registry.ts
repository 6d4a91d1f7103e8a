/**
 * The kinds Drover knows with their schemas: what the server and validation use. The names alone (and
 * the lookup by any of them) are in kind-names.ts, which loads no zod; this module adds each kind's
 * schema and keeps the same lookups, returning the schema too.
 */
import type { z } from 'zod';
import { findKind as findKindName, kindNames, resolveKind as resolveKindName, unknownKind, type KindNames, type RegisteredKind } from './kind-names.js';
import { CloudTraffic } from './kinds/cloud-traffic.js';
import { Cluster } from './kinds/cluster.js';
import { Event } from './kinds/event.js';
import { Fleet } from './kinds/fleet.js';
import { GitSource } from './kinds/git-source.js';
import { LoadBalancerMirror } from './kinds/load-balancer-mirror.js';
import { Migration } from './kinds/migration.js';
import { Prod } from './kinds/prod.js';
import { Release } from './kinds/release.js';
import { Tenant } from './kinds/tenant.js';
import { TrafficPlan, TrafficRoute } from './kinds/traffic-plan.js';
import { TrafficPolicy } from './kinds/traffic-policy.js';

export interface KindInfo extends KindNames {
  schema: z.ZodTypeAny;
}

// A Record over every registered kind: a kind added to kind-names.ts without a schema does not compile.
const schemas: Record<RegisteredKind, z.ZodTypeAny> = {
  Cluster,
  Fleet,
  Prod,
  Tenant,
  Release,
  TrafficPolicy,
  GitSource,
  CloudTraffic,
  LoadBalancerMirror,
  Migration,
  TrafficPlan,
  TrafficRoute,
  Event,
};

export const kinds: readonly KindInfo[] = kindNames.map((k) => ({ ...k, schema: schemas[k.kind] }));

const byKind = new Map<string, KindInfo>(kinds.map((k) => [k.kind, k]));

/** The names are looked up once, in kind-names.ts; this adds the schema. */
export function findKind(name: string): KindInfo | undefined {
  const k = findKindName(name);
  return k && byKind.get(k.kind);
}

export function kindByKind(kindName: string): KindInfo {
  const k = byKind.get(kindName);
  if (!k) throw unknownKind(kindName);
  return k;
}

export function resolveKind(name: string): KindInfo {
  return kindByKind(resolveKindName(name).kind);
}
