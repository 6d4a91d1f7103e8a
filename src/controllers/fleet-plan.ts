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
 *    controller and are left alone; one this controller built is withdrawn when a Release starts
 *    (takeover off and retired in one write: its predecessor still serves).
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
import type { Prod } from '../api/kinds/prod.js';
import { ANNOTATION_EVACUATION_BLOCKED, ANNOTATION_RETIRE_REASON, ANNOTATION_RETIRE_REQUESTED_AT, LABEL_RELEASE, LABEL_REPLACE } from '../api/labels.js';
import { fleetTemplate, prodTemplate } from '../api/template.js';
import { describeShortfall, placeNextProd, type Shortfall } from '../scheduler/place-prods.js';
import { clusterIsDead, clusterIsGone, clusterLiveness, defaultEvictionTimeoutMs, disruption, unschedulableReason } from './cluster-health.js';
import { badness, clusterOccupancy, isUnplaceable, newestFirst, plannedProd, spreadBack } from './fleet-placement.js';
import { defaultRolloutDeadlineMs, type FleetAction, type FleetEvent, type FleetObservation, type FleetPlan, type ProdRole, type RetireReason } from './fleet-plan-types.js';
import { commonRevision, previousStall, rollOrder, successorFailure, type StallReason } from './fleet-rollout.js';
import { fleetStatus } from './fleet-status.js';

export * from './fleet-plan-types.js';
export { fleetConditionReasons } from './fleet-status.js';
export { stallReasons, type StallReason } from './fleet-rollout.js';
/** Aliases of src/api/labels.ts for the tests that import them from here. */
export { ANNOTATION_EVACUATION_BLOCKED as evacuationBlockedAnnotation, ANNOTATION_RETIRE_REASON as retireReasonAnnotation, ANNOTATION_RETIRE_REQUESTED_AT as retireRequestedAtAnnotation };

/** A successor this controller created: neither a release's (label `drover.dev/release`) nor a cluster replace's. */
const isFleetOwned = (p: Prod) => p.metadata.labels[LABEL_RELEASE] === undefined && p.metadata.labels[LABEL_REPLACE] === undefined;

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
      const since = Date.parse(p.metadata.annotations?.[ANNOTATION_RETIRE_REQUESTED_AT] ?? '');
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
  if (o.releaseActive) {
    // A Release owns the fleet's successors from its start. One this controller built (a roll, a drain, a
    // spread-back) would otherwise stay frozen beside its predecessor for the whole release, holding a slot
    // the release's waves need (a wave then waits for room for ever). Its predecessor still serves, so
    // withdrawing it is one write and loses nothing; the drain or spread-back starts over after the release.
    for (const s of successors) if (isFleetOwned(s)) actions.push({ action: 'retire', prod: s, reason: 'ReleaseStarted', takeoverOff: true });
  } else {
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
    const marked = p.metadata.annotations?.[ANNOTATION_EVACUATION_BLOCKED];
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
