/**
 * The fleet controller's decisions as a pure function over (desired, observed): which Prods to create,
 * retire, delete or hand traffic to, and the fleet's status. No I/O; fleet-controller.ts executes it.
 *
 * Rules (in order):
 * 1. A retiring Prod (spec.retire) is deleted once it reports Retired, at once if its cluster is gone or
 *    NotReady (nobody can stop it), or when the retire timeout passes.
 * 2. Replace, don't repair — but unreachable is not gone. A Prod whose cluster is gone (deleted or being
 *    deleted) is retired and deleted; the count below then creates its replacement elsewhere in the same
 *    pass. A Prod whose cluster is NotReady is Unknown and is left alone (it stays counted, so nothing is
 *    built in its stead and nothing serving is destroyed first) until it is *evictable*: the cluster's
 *    eviction timeout has passed since it turned NotReady, or the agent reported the Prod Failed. Evictions
 *    are held entirely in a large disruption (more than half of the known clusters NotReady: the control
 *    plane is the likelier fault) and while the controller says so (its startup grace), and are otherwise
 *    rate-limited (`eviction.budget` per pass, the controller's sliding window); held Prods are listed in
 *    `evictionHeld`. A deleted Fleet (or a Prod owned by an earlier Fleet of the same name) has all its
 *    Prods retired.
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
 * 6. Evacuate a draining cluster by building first: each counted Prod on a draining cluster gets a
 *    successor elsewhere (reason `Drain`), which rule 4's successor handling takes over with and then
 *    retires the Prod — the scheduler hands its tenants to the successor, so redundancy and test tenants
 *    keep a Prod throughout. A Prod that cannot get one (no room, or a Release owns successors) is listed
 *    in `evacuationBlocked`; the controller marks it and the scheduler then moves its tenants off.
 * 7. Spread back: when the fleet is settled (no release, no successor in flight, nothing created,
 *    retired or Unknown, every Prod Ready), a Prod of the most crowded failure domain is moved, one at a
 *    time, through a successor (reason `Rebalance`) to where `placeNextProd` would put a new Prod, when
 *    that domain holds at least two fewer of the fleet's Prods. The new Prod is built and Ready before the
 *    old one retires.
 */
import type { Cluster } from '../api/kinds/cluster.js';
import { clusterDomain } from '../api/kinds/cluster.js';
import type { Fleet } from '../api/kinds/fleet.js';
import type { Prod, ProdTemplate } from '../api/kinds/prod.js';
import { fleetTemplate, prodTemplate } from '../api/template.js';
import { clusterIsDead, clusterIsGone, clusterLiveness, defaultEvictionTimeoutMs, disruption, unschedulableReason } from './cluster-health.js';
import { setCondition } from './conditions.js';
import { describeShortfall, placeNextProd, type Shortfall } from '../scheduler/place-prods.js';
import { isUnplaceable } from './fleet-placement.js';
import { evacuationBlockedAnnotation } from '../scheduler/evacuation.js';

export const retireRequestedAtAnnotation = 'drover.dev/retire-requested-at';
export const retireReasonAnnotation = 'drover.dev/retire-reason';

export { evacuationBlockedAnnotation } from '../scheduler/evacuation.js';

export const retireReasons = ['ClusterLost', 'EvictionTimeout', 'WorkloadFailed', 'FleetDeleted', 'Orphaned', 'Extra', 'Replaced', 'StaleSuccessor', 'RolloutFailed'] as const;
export type RetireReason = (typeof retireReasons)[number];
export const deleteReasons = ['Retired', 'ClusterLost', 'RetireTimeout', 'Evicted'] as const;
export type DeleteReason = (typeof deleteReasons)[number];
export const createReasons = ['Missing', 'VersionChange', 'TemplateChange', 'Drain', 'Rebalance'] as const;
export type CreateReason = (typeof createReasons)[number];

export type ProdRole = Prod['spec']['role'];
export type FleetStatus = NonNullable<Fleet['status']>;

export type FleetAction =
  | { action: 'create'; cluster: string; role: ProdRole; version: string; template: ProdTemplate; replaces?: string; reason: CreateReason }
  /** Record on a Prod stored before template revisions the revision it runs now (restarts nothing). */
  | { action: 'snapshot'; prod: Prod; template: ProdTemplate }
  | { action: 'retire'; prod: Prod; reason: RetireReason }
  | { action: 'delete'; prod: Prod; reason: DeleteReason }
  | { action: 'takeover'; prod: Prod }
  /** Set (string) or remove (null) the evacuation-blocked mark of a Prod on a draining cluster. */
  | { action: 'markEvacuation'; prod: Prod; blocked: string | null };

export const evictionHoldReasons = ['LargeDisruption', 'RateLimited', 'StartupGrace'] as const;
export type EvictionHoldReason = (typeof evictionHoldReasons)[number];

export interface EvictionPolicy {
  /** NotReady this long before a cluster's Prods are evicted, for clusters without spec.evictionTimeoutMs. */
  timeoutMs: number;
  /** How many Prods this pass may evict (the controller's rate limit); Infinity for no limit. */
  budget: number;
  /** When the budget next grows (for the recheck of held Prods). */
  budgetRefillInMs?: number;
  /** Hold every eviction (the controller's own startup grace). */
  hold?: 'StartupGrace';
  /** Fraction of known clusters NotReady above which nothing is evicted. Default 0.5. */
  largeDisruptionFraction?: number;
}

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
  /** Default: 5-minute timeout, no rate limit, no hold. */
  eviction?: EvictionPolicy;
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
  /** Evictable Prods that were not evicted, and why (the controller records an Event). */
  evictionHeld?: { reason: EvictionHoldReason; prods: string[]; message: string };
  /** Prods on unreachable clusters waiting for their eviction timeout (Unknown). */
  unknown?: string[];
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
  const recheck = (ms: number) => (recheckInMs = Math.min(recheckInMs ?? Infinity, Math.max(1, ms)));

  // 1. Retiring Prods: delete when done.
  for (const p of o.prods) {
    if (!p.spec.retire) continue;
    if (p.status?.phase === 'Retired') actions.push({ action: 'delete', prod: p, reason: 'Retired' });
    else if (dead(p)) actions.push({ action: 'delete', prod: p, reason: 'ClusterLost' });
    else {
      const since = Date.parse(p.metadata.annotations?.[retireRequestedAtAnnotation] ?? '');
      const left = Number.isNaN(since) ? o.retireTimeoutMs : since + o.retireTimeoutMs - o.nowMs;
      if (left <= 0) actions.push({ action: 'delete', prod: p, reason: 'RetireTimeout' });
      else recheck(left + 1);
    }
  }

  // 2. Gone, evictable, orphaned, or of a deleted Fleet: retire (and delete at once when nobody can stop it).
  const eviction = o.eviction ?? { timeoutMs: defaultEvictionTimeoutMs, budget: Infinity };
  const live: Prod[] = [];
  const evictable: { prod: Prod; reason: RetireReason; atMs: number }[] = [];
  const unknown: string[] = [];
  for (const p of o.prods) {
    if (p.spec.retire) continue;
    const cluster = clusters.get(p.spec.cluster);
    const reason: RetireReason | undefined = removing ? 'FleetDeleted' : orphaned(p) ? 'Orphaned' : clusterIsGone(cluster) ? 'ClusterLost' : undefined;
    if (reason !== undefined) {
      actions.push({ action: 'retire', prod: p, reason });
      if (dead(p)) actions.push({ action: 'delete', prod: p, reason: 'ClusterLost' });
      continue;
    }
    live.push(p);
    const l = clusterLiveness(cluster, o.nowMs, eviction.timeoutMs);
    if (l.state !== 'unreachable') continue;
    if (p.status?.phase === 'Failed') evictable.push({ prod: p, reason: 'WorkloadFailed', atMs: l.sinceMs });
    else if (o.nowMs >= l.evictAtMs) evictable.push({ prod: p, reason: 'EvictionTimeout', atMs: l.evictAtMs });
    else {
      unknown.push(p.metadata.name);
      recheck(l.evictAtMs - o.nowMs + 1);
    }
  }
  if (removing) return { actions, status: undefined, ...(recheckInMs !== undefined ? { recheckInMs } : {}) };

  let evictionHeld: FleetPlan['evictionHeld'];
  if (evictable.length > 0) {
    evictable.sort((a, b) => a.atMs - b.atMs || a.prod.metadata.name.localeCompare(b.prod.metadata.name));
    const names = (list: readonly { prod: Prod }[]) => list.map((e) => e.prod.metadata.name);
    const d = disruption(o.clusters, eviction.largeDisruptionFraction);
    if (d.large) {
      evictionHeld = {
        reason: 'LargeDisruption',
        prods: names(evictable),
        message: `${d.notReady} of ${d.known} clusters are NotReady at once: the control plane is the likelier fault, so no Prod is evicted until most clusters are Ready again`,
      };
    } else if (eviction.hold) {
      evictionHeld = { reason: eviction.hold, prods: names(evictable), message: 'the control plane just started: waiting for fresh heartbeats before evicting' };
    } else {
      const now = evictable.slice(0, Math.max(0, eviction.budget));
      const later = evictable.slice(now.length);
      const gone = new Set(now.map((e) => e.prod));
      for (const e of now) {
        actions.push({ action: 'retire', prod: e.prod, reason: e.reason });
        actions.push({ action: 'delete', prod: e.prod, reason: 'Evicted' });
      }
      live.splice(0, live.length, ...live.filter((p) => !gone.has(p)));
      if (later.length > 0) {
        evictionHeld = { reason: 'RateLimited', prods: names(later), message: `eviction rate limit reached: ${later.length} Prod(s) wait for the next slot` };
        recheck(eviction.budgetRefillInMs ?? 1000);
      }
    }
    if (evictionHeld && evictionHeld.reason !== 'RateLimited') recheck(eviction.budgetRefillInMs ?? 5000);
  }

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

  // 6. Evacuate draining clusters by building first.
  const replaced = new Set<string>([...successors.map((p) => p.spec.replaces ?? ''), ...actions.flatMap((a) => (a.action === 'create' && a.replaces ? [a.replaces] : []))]);
  const building: Prod[] = [...placed, ...successors];
  for (const p of [...kept].sort(rollOrder)) {
    const marked = p.metadata.annotations?.[evacuationBlockedAnnotation];
    const blocked = ((): string | undefined => {
      if (!clusters.get(p.spec.cluster)?.spec.draining || replaced.has(p.metadata.name)) return undefined;
      if (o.releaseActive) return 'a Release owns the successors of this fleet';
      const target = placeNextProd(fleet, o.clusters, building, occupancy);
      if (isUnplaceable(target)) return target.reason;
      // The successor runs what its predecessor runs: a drain moves a Prod, it does not roll it.
      const template = p.spec.template ?? prodTemplate(fleet.spec.app, p.spec.version);
      actions.push({ action: 'create', cluster: target, role: p.spec.role, version: p.spec.version, template, replaces: p.metadata.name, reason: 'Drain' });
      building.push(plannedProd(fleet, target, p.spec.role, p.spec.version, template));
      occupy(target);
      return undefined;
    })();
    if ((marked ?? null) !== (blocked ?? null)) actions.push({ action: 'markEvacuation', prod: p, blocked: blocked ?? null });
  }

  // 7. Spread back over the failure domains, one successor at a time, when all is settled.
  const settled =
    !o.releaseActive &&
    !rolling &&
    successors.length === 0 &&
    actions.length === 0 &&
    unplaceable === undefined &&
    unknown.length === 0 &&
    evictionHeld === undefined &&
    o.prods.every((p) => !p.spec.retire) &&
    kept.every((p) => p.status?.phase === 'Ready');
  if (settled) {
    const move = spreadBack(fleet, o.clusters, kept, occupancy);
    if (move) {
      const template = move.prod.spec.template ?? prodTemplate(fleet.spec.app, move.prod.spec.version);
      actions.push({ action: 'create', cluster: move.target, role: move.prod.spec.role, version: move.prod.spec.version, template, replaces: move.prod.metadata.name, reason: 'Rebalance' });
    }
  }

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
    ...(evictionHeld !== undefined ? { evictionHeld } : {}),
    ...(unknown.length > 0 ? { unknown } : {}),
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

/**
 * The Prod to move and where, when the failure domain `placeNextProd` would choose holds at least two
 * fewer of the fleet's Prods than the most crowded one (so the move makes the spread strictly better and
 * cannot flip-flop); the newest Prod of the most crowded domain moves.
 */
function spreadBack(fleet: Fleet, clusters: readonly Cluster[], prods: readonly Prod[], occupancy: ReadonlyMap<string, number>): { prod: Prod; target: string } | undefined {
  const byName = new Map(clusters.map((c) => [c.metadata.name, c]));
  const domainOf = (cluster: string) => {
    const c = byName.get(cluster);
    return fleet.spec.placement.spreadBy === 'cluster' || !c ? cluster : clusterDomain(c);
  };
  const count = new Map<string, number>();
  for (const p of prods) count.set(domainOf(p.spec.cluster), (count.get(domainOf(p.spec.cluster)) ?? 0) + 1);
  const crowd = (p: Prod) => count.get(domainOf(p.spec.cluster)) ?? 0;
  const candidate = [...prods].filter((p) => !byName.get(p.spec.cluster)?.spec.draining).sort((a, b) => crowd(b) - crowd(a) || newestFirst(a, b))[0];
  if (!candidate) return undefined;
  const target = placeNextProd(
    fleet,
    clusters,
    prods.filter((p) => p !== candidate),
    occupancy,
  );
  if (isUnplaceable(target)) return undefined;
  const to = domainOf(target);
  if (to === domainOf(candidate.spec.cluster) || (count.get(to) ?? 0) + 2 > crowd(candidate)) return undefined;
  return { prod: candidate, target };
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
