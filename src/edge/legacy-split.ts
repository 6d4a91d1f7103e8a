/**
 * The legacy side of a Migration on the edge (pure): which users of a covered tenant stay on the legacy
 * backend, and which legacy endpoint serves them. Built with the routing table (plan or health change),
 * read per request.
 *
 * A user's side is fixed by its affinity key: `bucket = mix(hash) mod 10000`, and the user is on the
 * fleet when `bucket < fleetPercent × 100`. The bucket never changes for a key, so when the weight only
 * grows a user on the fleet stays there (forward-only); a rollback to 0 puts everyone back on legacy in
 * the same table rebuild. The mix (murmur3's finaliser) decorrelates the bucket from `hash mod n`, which
 * picks among a tenant's Prods.
 */
import type { PlanLegacy, TrafficPlanSpec } from '../api/kinds/traffic-plan.js';
import type { HealthSettings } from './health.js';

export const SPLIT_BUCKETS = 10_000;

export interface LegacySplit<E> {
  readonly migration: string;
  readonly affinity: PlanLegacy['affinity'];
  /** Buckets below this go to the fleet. */
  readonly fleetBelow: number;
  /** Legacy endpoints in plan order (affinity picks over all, skipping the unhealthy). */
  readonly endpoints: readonly E[];
  readonly healthy: ReadonlySet<E>;
}

/** murmur3 fmix32 of the affinity hash, as a bucket in [0, SPLIT_BUCKETS). */
export function splitBucket(hash: number): number {
  let h = hash >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) % SPLIT_BUCKETS;
}

/** Whether this user (affinity hash; undefined: a random draw `r`) belongs on the legacy side. */
export function onLegacySide(split: LegacySplit<unknown>, affinity: number | undefined, r: number): boolean {
  const bucket = affinity === undefined ? Math.floor(r * SPLIT_BUCKETS) : splitBucket(affinity);
  return bucket >= split.fleetBelow;
}

/** A healthy legacy endpoint for this user (affine), other than those `exclude` names. */
export function pickLegacy<E>(split: LegacySplit<E>, affinity: number | undefined, r: number, exclude: ((e: E) => boolean) | undefined): E | undefined {
  const n = split.endpoints.length;
  if (n === 0 || split.healthy.size === 0) return undefined;
  const start = affinity === undefined ? Math.floor(r * n) : affinity % n;
  for (let i = 0; i < n; i++) {
    const e = split.endpoints[(start + i) % n]!;
    if (!exclude?.(e) && split.healthy.has(e)) return e;
  }
  return undefined;
}

/** The splits of one plan: per covered tenant (moved tenants have none), and for unmatched requests. */
export interface PlanSplits<E> {
  forTenant(name: string): LegacySplit<E> | undefined;
  readonly unmatched: LegacySplit<E> | undefined;
}

export function buildSplits<E>(plan: TrafficPlanSpec, endpoints: ReadonlyMap<string, E>, isHealthy: (e: E) => boolean): PlanSplits<E> {
  const byTenant = new Map<string, LegacySplit<E>>();
  let all: LegacySplit<E> | undefined;
  for (const l of plan.legacy ?? []) {
    const eps: E[] = [];
    const healthy = new Set<E>();
    for (const le of l.endpoints) {
      const e = endpoints.get(le.name);
      if (!e) continue;
      eps.push(e);
      if (isHealthy(e)) healthy.add(e);
    }
    const split: LegacySplit<E> = { migration: l.migration, affinity: l.affinity, fleetBelow: Math.round(l.fleetPercent * (SPLIT_BUCKETS / 100)), endpoints: eps, healthy };
    const moved = new Set(l.moved ?? []);
    if (l.tenants === undefined) {
      // Admission keeps migrations of one tenant apart; the first (by name) wins if two still overlap.
      all ??= split;
      continue;
    }
    for (const t of l.tenants) if (!moved.has(t) && !byTenant.has(t)) byTenant.set(t, split);
  }
  // A migration of every tenant covers the ones no other migration names, and the unmatched requests.
  const allMoved = new Set(all ? ((plan.legacy ?? []).find((l) => l.migration === all.migration)?.moved ?? []) : []);
  return {
    forTenant: (name) => byTenant.get(name) ?? (all && !allMoved.has(name) ? all : undefined),
    unmatched: all,
  };
}

/** The upstreams the plan's legacy endpoints need: name, URL, and health settings with their own path. */
export function legacyUpstreams(plan: TrafficPlanSpec): { name: string; url: string; settings: HealthSettings }[] {
  const out: { name: string; url: string; settings: HealthSettings }[] = [];
  for (const l of plan.legacy ?? []) {
    for (const e of l.endpoints) out.push({ name: e.name, url: e.url, settings: { healthCheck: { ...plan.healthCheck, path: e.healthPath }, passive: plan.passive } });
  }
  return out;
}
