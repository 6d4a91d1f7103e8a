/**
 * The fleet controller's decisions as a pure function over (desired, observed): which Prods to create,
 * retire, delete or hand traffic to, and the fleet's status. No I/O; fleet-controller.ts executes it.
 *
 * Rules (in order):
 * 1. A retiring Prod (spec.retire) is deleted once it reports Retired, at once if its cluster is gone or
 *    NotReady (nobody can stop it), or when the retire timeout passes.
 * 2. Replace, don't repair: a Prod whose cluster is gone or NotReady is retired and deleted; the count
 *    below then creates its replacement elsewhere in the same pass. A deleted Fleet (or a Prod owned by
 *    an earlier Fleet of the same name) has all its Prods retired the same way.
 * 3. A Prod whose `spec.replaces` names a live (not retiring) Prod is a successor in a blue/green
 *    replacement and is not counted against `spec.prods`; once its predecessor retires it counts.
 * 4. With no active Release for the fleet, a version change rolls one Prod at a time: a successor at the
 *    new version on the same cluster; when it is Ready, `takeover`; then the predecessor is retired.
 *    During a Release, successors belong to the release controller and are left alone.
 * 5. Per role (the first `testProds` are test Prods), missing Prods are placed with `placeNextProd`
 *    and extras are retired, worst first.
 */
import type { Cluster } from '../api/kinds/cluster.js';
import type { Fleet } from '../api/kinds/fleet.js';
import type { Prod } from '../api/kinds/prod.js';
import { clusterIsDead, unschedulableReason } from './cluster-health.js';
import { setCondition } from './conditions.js';
import { placeNextProd } from '../scheduler/place-prods.js';
import { isUnplaceable } from './fleet-placement.js';

export const retireRequestedAtAnnotation = 'drover.dev/retire-requested-at';
export const retireReasonAnnotation = 'drover.dev/retire-reason';

export const retireReasons = ['ClusterLost', 'FleetDeleted', 'Orphaned', 'Extra', 'Replaced', 'StaleSuccessor'] as const;
export type RetireReason = (typeof retireReasons)[number];
export const deleteReasons = ['Retired', 'ClusterLost', 'RetireTimeout'] as const;
export type DeleteReason = (typeof deleteReasons)[number];
export const createReasons = ['Missing', 'VersionChange'] as const;
export type CreateReason = (typeof createReasons)[number];

export type ProdRole = Prod['spec']['role'];
export type FleetStatus = NonNullable<Fleet['status']>;

export type FleetAction =
  | { action: 'create'; cluster: string; role: ProdRole; version: string; replaces?: string; reason: CreateReason }
  | { action: 'retire'; prod: Prod; reason: RetireReason }
  | { action: 'delete'; prod: Prod; reason: DeleteReason }
  | { action: 'takeover'; prod: Prod };

export interface FleetObservation {
  fleetName: string;
  /** Undefined once the Fleet is deleted. */
  fleet: Fleet | undefined;
  clusters: readonly Cluster[];
  /** Prods whose spec.fleet is this fleet. */
  prods: readonly Prod[];
  /** A Release of this fleet is in progress (owns version changes and successors). */
  releaseActive: boolean;
  nowMs: number;
  retireTimeoutMs: number;
}

export interface FleetPlan {
  actions: FleetAction[];
  /** Undefined when the Fleet is gone. */
  status: FleetStatus | undefined;
  /** Why a missing Prod could not be placed. */
  unplaceable?: string;
  /** Something is in flight that no store change may announce (a retire timeout): look again after. */
  recheckInMs?: number;
}

export function planFleet(o: FleetObservation): FleetPlan {
  const { fleet } = o;
  const clusters = new Map(o.clusters.map((c) => [c.metadata.name, c]));
  const dead = (p: Prod) => clusterIsDead(clusters.get(p.spec.cluster));
  const removing = fleet === undefined || fleet.metadata.deletionTimestamp !== undefined;
  const orphaned = (p: Prod) =>
    fleet !== undefined && (p.metadata.ownerReferences ?? []).some((r) => r.kind === 'Fleet' && r.uid !== fleet.metadata.uid);
  const actions: FleetAction[] = [];
  let recheckInMs: number | undefined;

  // 1. Retiring Prods: delete when done.
  for (const p of o.prods) {
    if (!p.spec.retire) continue;
    if (p.status?.phase === 'Retired') actions.push({ action: 'delete', prod: p, reason: 'Retired' });
    else if (dead(p)) actions.push({ action: 'delete', prod: p, reason: 'ClusterLost' });
    else {
      const since = Date.parse(p.metadata.annotations?.[retireRequestedAtAnnotation] ?? '');
      const left = Number.isNaN(since) ? o.retireTimeoutMs : since + o.retireTimeoutMs - o.nowMs;
      if (left <= 0) actions.push({ action: 'delete', prod: p, reason: 'RetireTimeout' });
      else recheckInMs = Math.min(recheckInMs ?? Infinity, left + 1);
    }
  }

  // 2. Lost, orphaned, or of a deleted Fleet: retire (and delete at once when nobody can stop it).
  const live: Prod[] = [];
  for (const p of o.prods) {
    if (p.spec.retire) continue;
    const reason: RetireReason | undefined = removing ? 'FleetDeleted' : orphaned(p) ? 'Orphaned' : dead(p) ? 'ClusterLost' : undefined;
    if (reason === undefined) {
      live.push(p);
      continue;
    }
    actions.push({ action: 'retire', prod: p, reason });
    if (dead(p)) actions.push({ action: 'delete', prod: p, reason: 'ClusterLost' });
  }
  if (removing) return { actions, status: undefined, ...(recheckInMs !== undefined ? { recheckInMs } : {}) };

  // 3. Successors of live Prods are not counted.
  const liveByName = new Map(live.map((p) => [p.metadata.name, p]));
  const isSuccessor = (p: Prod) => p.spec.replaces !== undefined && liveByName.has(p.spec.replaces);
  const counted = live.filter((p) => !isSuccessor(p));
  const successors = live.filter(isSuccessor);
  const version = fleet.spec.version;

  // 4. Rolling version change, one Prod at a time, when no Release owns it.
  let rolling = false;
  let unplaceable: string | undefined;
  const retiring = new Set<string>();
  /** Successors whose predecessor this pass retires: they count from now on. */
  const promoted: Prod[] = [];
  if (!o.releaseActive) {
    let inFlight = 0;
    for (const s of successors) {
      const pred = liveByName.get(s.spec.replaces ?? '')!;
      if (s.spec.version !== version) {
        actions.push({ action: 'retire', prod: s, reason: 'StaleSuccessor' });
        continue;
      }
      inFlight++;
      if (s.status?.phase !== 'Ready') continue;
      if (!s.spec.takeover) actions.push({ action: 'takeover', prod: s });
      else {
        actions.push({ action: 'retire', prod: pred, reason: 'Replaced' });
        retiring.add(pred.metadata.name);
        promoted.push(s);
      }
    }
    const outdated = counted.filter((p) => p.spec.version !== version).sort(rollOrder);
    rolling = inFlight > 0 || outdated.length > 0;
    const next = outdated[0];
    if (inFlight === 0 && next) {
      const home = clusters.get(next.spec.cluster);
      const target = home && unschedulableReason(home) === undefined ? next.spec.cluster : placeNextProd(fleet, o.clusters, counted);
      if (isUnplaceable(target)) unplaceable = target.reason;
      else actions.push({ action: 'create', cluster: target, role: next.spec.role, version, replaces: next.metadata.name, reason: 'VersionChange' });
    }
  }

  // 5. Keep the count per role.
  const wantTest = Math.min(fleet.spec.testProds ?? 0, fleet.spec.prods);
  const want: Record<ProdRole, number> = { test: wantTest, normal: fleet.spec.prods - wantTest };
  const current = [...counted.filter((p) => !retiring.has(p.metadata.name)), ...promoted];
  const placed: Prod[] = [...current];
  for (const role of ['test', 'normal'] as const) {
    const have = current.filter((p) => p.spec.role === role);
    const wanted = want[role];
    for (let i = have.length; i < wanted; i++) {
      const target = placeNextProd(fleet, o.clusters, placed);
      if (isUnplaceable(target)) {
        unplaceable = target.reason;
        break;
      }
      actions.push({ action: 'create', cluster: target, role, version, reason: 'Missing' });
      placed.push(plannedProd(fleet, target, role, version));
    }
    if (have.length > wanted) {
      const worstFirst = [...have].sort((a, b) => badness(b, clusters, version) - badness(a, clusters, version) || newestFirst(a, b));
      for (const p of worstFirst.slice(0, have.length - wanted)) actions.push({ action: 'retire', prod: p, reason: 'Extra' });
    }
  }

  return {
    actions,
    status: fleetStatus(fleet, counted, { rolling, releaseActive: o.releaseActive, unplaceable, nowMs: o.nowMs }),
    ...(unplaceable !== undefined ? { unplaceable } : {}),
    ...(recheckInMs !== undefined ? { recheckInMs } : {}),
  };
}

/** Test Prods roll first (as releases do), then by name for a stable order. */
function rollOrder(a: Prod, b: Prod): number {
  const r = (p: Prod) => (p.spec.role === 'test' ? 0 : 1);
  return r(a) - r(b) || a.metadata.name.localeCompare(b.metadata.name);
}

/** Higher is a better candidate to retire: unschedulable cluster, not Ready, old version. */
function badness(p: Prod, clusters: Map<string, Cluster>, version: string): number {
  const c = clusters.get(p.spec.cluster);
  return (c === undefined || unschedulableReason(c) !== undefined ? 4 : 0) + (p.status?.phase !== 'Ready' ? 2 : 0) + (p.spec.version !== version ? 1 : 0);
}

function newestFirst(a: Prod, b: Prod): number {
  return (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? '') || b.metadata.name.localeCompare(a.metadata.name);
}

function plannedProd(fleet: Fleet, cluster: string, role: ProdRole, version: string): Prod {
  return {
    apiVersion: fleet.apiVersion,
    kind: 'Prod',
    metadata: { name: `${fleet.metadata.name}-planned`, labels: {}, annotations: {}, finalizers: [], ownerReferences: [] },
    spec: { fleet: fleet.metadata.name, cluster, version, role, retire: false, env: {}, takeover: false },
  };
}

export const fleetConditionReasons = {
  AllProdsReady: 'AllProdsReady',
  ProdsNotReady: 'ProdsNotReady',
  RollingVersion: 'RollingVersion',
  ReleaseActive: 'ReleaseActive',
  Stable: 'Stable',
  Placed: 'Placed',
  Unplaceable: 'Unplaceable',
} as const;

function fleetStatus(
  fleet: Fleet,
  counted: readonly Prod[],
  s: { rolling: boolean; releaseActive: boolean; unplaceable: string | undefined; nowMs: number },
): FleetStatus {
  const now = new Date(s.nowMs).toISOString();
  const gen = fleet.metadata.generation;
  const ready = counted.filter((p) => p.status?.phase === 'Ready').length;
  const versions: Record<string, number> = {};
  for (const p of counted) {
    const v = p.status?.version ?? p.spec.version;
    versions[v] = (versions[v] ?? 0) + 1;
  }
  const R = fleetConditionReasons;
  let conditions = setCondition(
    fleet.status?.conditions,
    ready >= fleet.spec.prods
      ? { type: 'Available', status: 'True', reason: R.AllProdsReady, message: `${ready} of ${fleet.spec.prods} Prods Ready` }
      : { type: 'Available', status: 'False', reason: R.ProdsNotReady, message: `${ready} of ${fleet.spec.prods} Prods Ready` },
    now,
    gen,
  );
  conditions = setCondition(
    conditions,
    s.releaseActive
      ? { type: 'Progressing', status: 'True', reason: R.ReleaseActive, message: 'a Release is changing this fleet' }
      : s.rolling
        ? { type: 'Progressing', status: 'True', reason: R.RollingVersion, message: `replacing Prods one at a time to version ${fleet.spec.version}` }
        : { type: 'Progressing', status: 'False', reason: R.Stable, message: '' },
    now,
    gen,
  );
  conditions = setCondition(
    conditions,
    s.unplaceable !== undefined
      ? { type: 'Scheduled', status: 'False', reason: R.Unplaceable, message: s.unplaceable }
      : { type: 'Scheduled', status: 'True', reason: R.Placed, message: '' },
    now,
    gen,
  );
  return {
    ...(gen !== undefined ? { observedGeneration: gen } : {}),
    conditions,
    prods: counted.length,
    readyProds: ready,
    versions,
    ...(s.unplaceable !== undefined ? { message: s.unplaceable } : {}),
  };
}
