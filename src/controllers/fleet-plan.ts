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
 * 4. Prods run immutable template revisions (`spec.template`: the Fleet's app at a version, and its
 *    hash; src/api/template.ts). A Prod stored before revisions existed is first stamped with what it runs
 *    now (a pass that only does that). With no active Release for the fleet, any change of the revision
 *    (version, `spec.app`) rolls one Prod at a time, test Prods first: a successor on the new revision on
 *    the same cluster when it has room (else where placement finds room); when it is Ready, `takeover`;
 *    then the predecessor is retired. A successor that goes Failed on a Ready cluster, or is not Ready
 *    within `rolloutDeadlineMs`, stops the rollout of that revision (`status.stalledTemplate`, condition
 *    RolloutStalled, an event) and is retired; the other Prods keep their revision and serve. Any other
 *    revision (a fix, a revert) lifts the stop. During a Release, successors belong to the release
 *    controller and are left alone.
 * 5. Per role (the first `testProds` are test Prods), missing Prods are placed with `placeNextProd` and
 *    extras are retired, worst first. New Prods get the Fleet's revision, or while its rollout is stopped
 *    the revision most Prods run. Capacity is a hard limit: every Prod occupying a cluster counts (every
 *    fleet, successors, test and retiring Prods until Retired); what does not fit is reported with where
 *    room would help (InsufficientCapacity).
 */
import type { Cluster } from '../api/kinds/cluster.js';
import type { Fleet } from '../api/kinds/fleet.js';
import type { Prod, ProdTemplate } from '../api/kinds/prod.js';
import { fleetTemplate, prodTemplate } from '../api/template.js';
import { clusterIsDead, unschedulableReason } from './cluster-health.js';
import { setCondition } from './conditions.js';
import { describeShortfall, placeNextProd, type Shortfall } from '../scheduler/place-prods.js';
import { isUnplaceable } from './fleet-placement.js';

export const retireRequestedAtAnnotation = 'drover.dev/retire-requested-at';
export const retireReasonAnnotation = 'drover.dev/retire-reason';

export const retireReasons = ['ClusterLost', 'FleetDeleted', 'Orphaned', 'Extra', 'Replaced', 'StaleSuccessor', 'RolloutFailed'] as const;
export type RetireReason = (typeof retireReasons)[number];
export const deleteReasons = ['Retired', 'ClusterLost', 'RetireTimeout'] as const;
export type DeleteReason = (typeof deleteReasons)[number];
export const createReasons = ['Missing', 'VersionChange', 'TemplateChange'] as const;
export type CreateReason = (typeof createReasons)[number];

export type ProdRole = Prod['spec']['role'];
export type FleetStatus = NonNullable<Fleet['status']>;

export type FleetAction =
  | { action: 'create'; cluster: string; role: ProdRole; version: string; template: ProdTemplate; replaces?: string; reason: CreateReason }
  /** Record on a Prod stored before template revisions the revision it runs now (restarts nothing). */
  | { action: 'snapshot'; prod: Prod; template: ProdTemplate }
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
  /**
   * Prods of other fleets occupying each cluster (bound and not Retired). Without it, a cluster's
   * `status.prods` less this fleet's Prods there stands in (it may lag a pass behind).
   */
  otherFleetsOnCluster?: ReadonlyMap<string, number>;
  /** A successor not Ready this long after its creation stops the rollout. Default 5 minutes. */
  rolloutDeadlineMs?: number;
}

export const defaultRolloutDeadlineMs = 300_000;

export interface FleetEvent {
  type: 'Normal' | 'Warning';
  reason: 'RolloutStalled';
  message: string;
}

export interface FleetPlan {
  actions: FleetAction[];
  /** Undefined when the Fleet is gone, or when this pass only stamps template snapshots. */
  status: FleetStatus | undefined;
  /** Why a missing Prod (or a successor) could not be placed. */
  unplaceable?: string;
  unplaceableReason?: Shortfall['reason'];
  /** Events for what this pass found (once, when it happens), besides the actions' own. */
  events?: FleetEvent[];
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

  // 4a. Stamp Prods stored before template revisions with the revision they run now: their agent renders
  // them from the Fleet until then, so the stamp is what already runs. Nothing else this pass, so that no
  // later action writes over the stamp with an older resourceVersion.
  const unstamped = live.filter((p) => p.spec.template === undefined);
  if (unstamped.length > 0) {
    for (const p of unstamped) actions.push({ action: 'snapshot', prod: p, template: prodTemplate(fleet.spec.app, p.spec.version) });
    return { actions, status: undefined, recheckInMs: 1 };
  }

  // 3. Successors of live Prods are not counted.
  const liveByName = new Map(live.map((p) => [p.metadata.name, p]));
  const isSuccessor = (p: Prod) => p.spec.replaces !== undefined && liveByName.has(p.spec.replaces);
  const counted = live.filter((p) => !isSuccessor(p));
  const successors = live.filter(isSuccessor);
  const version = fleet.spec.version;
  const desired = fleetTemplate(fleet);
  const current = (p: Prod) => p.spec.template?.hash === desired.hash;
  const occupancy = clusterOccupancy(o);
  const room = (name: string) => {
    const c = clusters.get(name);
    return c !== undefined && unschedulableReason(c) === undefined && (occupancy.get(name) ?? 0) < c.spec.capacity.prods;
  };
  const occupy = (name: string) => occupancy.set(name, (occupancy.get(name) ?? 0) + 1);

  // 4. Rolling revision change, one Prod at a time, when no Release owns it.
  let rolling = false;
  let unplaceable: Shortfall | undefined;
  const events: FleetEvent[] = [];
  const retiring = new Set<string>();
  /** Successors whose predecessor this pass retires: they count from now on. */
  const promoted: Prod[] = [];
  const wasStalled = fleet.status?.stalledTemplate === desired.hash;
  let stall: { reason: StallReason; message: string } | undefined;
  if (!o.releaseActive) {
    const deadline = o.rolloutDeadlineMs ?? defaultRolloutDeadlineMs;
    let inFlight = 0;
    for (const s of successors) {
      const pred = liveByName.get(s.spec.replaces ?? '')!;
      if (!current(s)) {
        actions.push({ action: 'retire', prod: s, reason: 'StaleSuccessor' });
        continue;
      }
      const failure = successorFailure(s, clusters.get(s.spec.cluster), o.nowMs, deadline);
      if (failure !== undefined || (wasStalled && !s.spec.takeover)) {
        // Its predecessor never stopped serving: retiring the successor is all it takes to stop here.
        actions.push({ action: 'retire', prod: s, reason: 'RolloutFailed' });
        if (failure !== undefined && !wasStalled && stall === undefined) {
          const others = counted.filter((p) => !current(p)).length;
          stall = {
            reason: failure.reason,
            message:
              `rollout of template ${desired.hash} (version ${version}) stopped: successor ${s.metadata.name} of ${pred.metadata.name} ` +
              `on cluster ${s.spec.cluster} ${failure.message}; ${others} Prod${others === 1 ? '' : 's'} keep${others === 1 ? 's' : ''} ` +
              `${others === 1 ? 'its' : 'their'} template and serve${others === 1 ? 's' : ''}; fix or revert spec.app / spec.version to go on`,
          };
          events.push({ type: 'Warning', reason: 'RolloutStalled', message: stall.message });
        }
        continue;
      }
      inFlight++;
      if (s.status?.phase !== 'Ready') {
        const created = Date.parse(s.metadata.creationTimestamp ?? '');
        if (!Number.isNaN(created)) recheckInMs = Math.min(recheckInMs ?? Infinity, created + deadline - o.nowMs + 1);
        continue;
      }
      if (!s.spec.takeover) actions.push({ action: 'takeover', prod: s });
      else {
        actions.push({ action: 'retire', prod: pred, reason: 'Replaced' });
        retiring.add(pred.metadata.name);
        promoted.push(s);
      }
    }
    const outdated = counted.filter((p) => !current(p)).sort(rollOrder);
    rolling = inFlight > 0 || outdated.length > 0;
    if (outdated.length === 0) stall = undefined;
    const stopped = (wasStalled || stall !== undefined) && outdated.length > 0;
    const next = outdated[0];
    if (!stopped && inFlight === 0 && next) {
      // The successor stays on its predecessor's cluster when that has room (its tenants keep their
      // domain); else placement spreads it as if the predecessor were gone. Never over capacity: a full
      // fleet waits for room rather than overcommit a cluster.
      const target = room(next.spec.cluster)
        ? next.spec.cluster
        : placeNextProd(fleet, o.clusters, counted.filter((p) => p !== next), occupancy);
      if (isUnplaceable(target)) {
        const why = describeShortfall(fleet, o.clusters, occupancy, 1, 1);
        unplaceable = { reason: why.reason, message: `no room for a successor of ${next.metadata.name} (template ${desired.hash}): ${why.message.replace(/^1 of 1 Prods cannot be placed: /, '')}` };
      } else {
        actions.push({
          action: 'create',
          cluster: target,
          role: next.spec.role,
          version,
          template: desired,
          replaces: next.metadata.name,
          reason: next.spec.version !== version ? 'VersionChange' : 'TemplateChange',
        });
        occupy(target);
      }
    }
    if (!stopped) stall = undefined;
    else stall ??= previousStall(fleet);
  }

  // 5. Keep the count per role. While a rollout is stopped, new Prods run the revision that works.
  const fallback = stall !== undefined ? commonRevision(counted.filter((p) => !current(p))) : undefined;
  const newVersion = fallback?.version ?? version;
  const newTemplate = fallback?.template ?? desired;
  const wantTest = Math.min(fleet.spec.testProds ?? 0, fleet.spec.prods);
  const want: Record<ProdRole, number> = { test: wantTest, normal: fleet.spec.prods - wantTest };
  const kept = [...counted.filter((p) => !retiring.has(p.metadata.name)), ...promoted];
  const placed: Prod[] = [...kept];
  let missing = 0;
  for (const role of ['test', 'normal'] as const) {
    const have = kept.filter((p) => p.spec.role === role);
    const wanted = want[role];
    for (let i = have.length; i < wanted; i++) {
      const target = placeNextProd(fleet, o.clusters, placed, occupancy);
      if (isUnplaceable(target)) {
        missing += wanted - i;
        break;
      }
      actions.push({ action: 'create', cluster: target, role, version: newVersion, template: newTemplate, reason: 'Missing' });
      placed.push(plannedProd(fleet, target, role, newVersion, newTemplate));
      occupy(target);
    }
    if (have.length > wanted) {
      const worstFirst = [...have].sort((a, b) => badness(b, clusters, current) - badness(a, clusters, current) || newestFirst(a, b));
      for (const p of worstFirst.slice(0, have.length - wanted)) actions.push({ action: 'retire', prod: p, reason: 'Extra' });
    }
  }
  if (missing > 0) unplaceable = describeShortfall(fleet, o.clusters, occupancy, missing, fleet.spec.prods);

  return {
    actions,
    status: fleetStatus(fleet, counted, {
      rolling,
      releaseActive: o.releaseActive,
      unplaceable,
      nowMs: o.nowMs,
      templateHash: desired.hash,
      updated: counted.filter(current).length,
      stall,
    }),
    ...(unplaceable !== undefined ? { unplaceable: unplaceable.message, unplaceableReason: unplaceable.reason } : {}),
    ...(events.length > 0 ? { events } : {}),
    ...(recheckInMs !== undefined ? { recheckInMs } : {}),
  };
}

export const stallReasons = ['SuccessorFailed', 'SuccessorNotReady'] as const;
export type StallReason = (typeof stallReasons)[number];

/** Why a successor will not serve its revision: Failed on a cluster that is up, or not Ready in time. */
function successorFailure(s: Prod, cluster: Cluster | undefined, nowMs: number, deadlineMs: number): { reason: StallReason; message: string } | undefined {
  const phase = s.status?.phase ?? 'Pending';
  if (phase === 'Ready') return undefined;
  // A Prod of a cluster that is down is Failed for its cluster's sake, not its template's.
  if (phase === 'Failed' && cluster?.status?.phase === 'Ready') return { reason: 'SuccessorFailed', message: `failed: ${s.status?.message ?? 'no message'}` };
  const created = Date.parse(s.metadata.creationTimestamp ?? '');
  if (!Number.isNaN(created) && nowMs - created > deadlineMs) {
    return { reason: 'SuccessorNotReady', message: `was not Ready within ${Math.round(deadlineMs / 1000)} s (${phase}${s.status?.message ? `: ${s.status.message}` : ''})` };
  }
  return undefined;
}

/** The stop recorded by an earlier pass, as its condition says it. */
function previousStall(fleet: Fleet): { reason: StallReason; message: string } {
  const c = fleet.status?.conditions?.find((x) => x.type === 'RolloutStalled' && x.status === 'True');
  const reason = (stallReasons as readonly string[]).includes(c?.reason ?? '') ? (c!.reason as StallReason) : 'SuccessorFailed';
  return { reason, message: c?.message ?? `rollout of template ${fleet.status?.stalledTemplate ?? '?'} stopped` };
}

/** The revision most of these Prods run (ties: the first in name order), for new Prods while a rollout is stopped. */
function commonRevision(prods: readonly Prod[]): { version: string; template: ProdTemplate } | undefined {
  const n = new Map<string, { count: number; version: string; template: ProdTemplate }>();
  for (const p of [...prods].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))) {
    const t = p.spec.template;
    if (!t) continue;
    const e = n.get(t.hash) ?? { count: 0, version: p.spec.version, template: t };
    e.count++;
    n.set(t.hash, e);
  }
  let best: { count: number; version: string; template: ProdTemplate } | undefined;
  for (const e of n.values()) if (!best || e.count > best.count) best = e;
  return best && { version: best.version, template: best.template };
}

/**
 * Prods occupying each cluster against its capacity: this fleet's (all of them, successors, test and
 * retiring ones included, until Retired) plus every other fleet's.
 */
function clusterOccupancy(o: FleetObservation): Map<string, number> {
  const mine = new Map<string, number>();
  for (const p of o.prods) if (p.status?.phase !== 'Retired') mine.set(p.spec.cluster, (mine.get(p.spec.cluster) ?? 0) + 1);
  const out = new Map<string, number>();
  for (const c of o.clusters) {
    const name = c.metadata.name;
    const own = mine.get(name) ?? 0;
    const others = o.otherFleetsOnCluster !== undefined ? (o.otherFleetsOnCluster.get(name) ?? 0) : Math.max(0, (c.status?.prods ?? 0) - own);
    out.set(name, own + others);
  }
  return out;
}

/** Test Prods roll first (as releases do), then by name for a stable order. */
function rollOrder(a: Prod, b: Prod): number {
  const r = (p: Prod) => (p.spec.role === 'test' ? 0 : 1);
  return r(a) - r(b) || a.metadata.name.localeCompare(b.metadata.name);
}

/** Higher is a better candidate to retire: unschedulable cluster, not Ready, old revision. */
function badness(p: Prod, clusters: Map<string, Cluster>, current: (p: Prod) => boolean): number {
  const c = clusters.get(p.spec.cluster);
  return (c === undefined || unschedulableReason(c) !== undefined ? 4 : 0) + (p.status?.phase !== 'Ready' ? 2 : 0) + (current(p) ? 0 : 1);
}

function newestFirst(a: Prod, b: Prod): number {
  return (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? '') || b.metadata.name.localeCompare(a.metadata.name);
}

function plannedProd(fleet: Fleet, cluster: string, role: ProdRole, version: string, template: ProdTemplate): Prod {
  return {
    apiVersion: fleet.apiVersion,
    kind: 'Prod',
    metadata: { name: `${fleet.metadata.name}-planned`, labels: {}, annotations: {}, finalizers: [], ownerReferences: [] },
    spec: { fleet: fleet.metadata.name, cluster, version, template, role, retire: false, env: {}, takeover: false },
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
  InsufficientCapacity: 'InsufficientCapacity',
  RolloutStalled: 'RolloutStalled',
  NotStalled: 'NotStalled',
} as const;

function fleetStatus(
  fleet: Fleet,
  counted: readonly Prod[],
  s: {
    rolling: boolean;
    releaseActive: boolean;
    unplaceable: Shortfall | undefined;
    nowMs: number;
    templateHash: string;
    updated: number;
    stall: { reason: StallReason; message: string } | undefined;
  },
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
      : s.stall
        ? { type: 'Progressing', status: 'False', reason: R.RolloutStalled, message: s.stall.message }
        : s.rolling
          ? {
              type: 'Progressing',
              status: 'True',
              reason: R.RollingVersion,
              message: `replacing Prods one at a time to template ${s.templateHash} (version ${fleet.spec.version}): ${s.updated} of ${counted.length} done`,
            }
          : { type: 'Progressing', status: 'False', reason: R.Stable, message: '' },
    now,
    gen,
  );
  conditions = setCondition(
    conditions,
    s.stall
      ? { type: 'RolloutStalled', status: 'True', reason: s.stall.reason, message: s.stall.message }
      : { type: 'RolloutStalled', status: 'False', reason: R.NotStalled, message: '' },
    now,
    gen,
  );
  conditions = setCondition(
    conditions,
    s.unplaceable !== undefined
      ? { type: 'Scheduled', status: 'False', reason: s.unplaceable.reason, message: s.unplaceable.message }
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
    templateHash: s.templateHash,
    updatedProds: s.updated,
    ...(s.stall ? { stalledTemplate: s.templateHash } : {}),
    ...(s.unplaceable !== undefined ? { message: s.unplaceable.message } : s.stall ? { message: s.stall.message } : {}),
  };
}
