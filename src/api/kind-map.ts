/**
 * Kind name → object type, so that `store.get('Fleet', name)` is a `Fleet` without repeating the kind as
 * a type parameter. A new kind is added here and in the registry.
 */
import type { CloudTraffic } from './kinds/cloud-traffic.js';
import type { Cluster } from './kinds/cluster.js';
import type { Event } from './kinds/event.js';
import type { Fleet } from './kinds/fleet.js';
import type { LoadBalancerMirror } from './kinds/load-balancer-mirror.js';
import type { GitSource } from './kinds/git-source.js';
import type { Migration } from './kinds/migration.js';
import type { Prod } from './kinds/prod.js';
import type { Release } from './kinds/release.js';
import type { Tenant } from './kinds/tenant.js';
import type { TrafficPlan, TrafficRoute } from './kinds/traffic-plan.js';
import type { TrafficPolicy } from './kinds/traffic-policy.js';

export interface KindMap {
  CloudTraffic: CloudTraffic;
  Cluster: Cluster;
  Event: Event;
  Fleet: Fleet;
  GitSource: GitSource;
  LoadBalancerMirror: LoadBalancerMirror;
  Migration: Migration;
  Prod: Prod;
  Release: Release;
  Tenant: Tenant;
  TrafficPlan: TrafficPlan;
  TrafficPolicy: TrafficPolicy;
  TrafficRoute: TrafficRoute;
}

export type KindName = keyof KindMap;
