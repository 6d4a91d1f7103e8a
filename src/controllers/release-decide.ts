/**
 * The release controller's decisions as a pure function over (desired, observed): the Release's next
 * status, the writes that get there, the decisions to record, and what to wait for. No I/O;
 * release-controller.ts reads, calls `decideRelease`, and executes. One step of the state machine per call:
 *
 *   Pending ──plan──▶ Progressing: per wave
 *     Pending  → create successors (replaces = old, new version, release env, same cluster and role)
 *     Updating → wait until every successor is observably serving the new version (isServing)
 *              → takeover = true on all of them (the traffic plan swaps their tenants over)
 *     Baking   → bake clock starts once the plan routes to them; probes run during the bake; after
 *                `bake` (and a full bake of probes), run the gates:
 *                pass → retire predecessors, next wave (last wave: Fleet.spec.version = V, Succeeded)
 *                fail → autoRollback: takeover=false + retire on the wave's successors in one write each
 *                       (tenants back on the predecessors, still up and on the known-good version),
 *                       RolledBack; else Failed with traffic left as it is
 *                inconclusive → spec.paused = true, Paused with the reason
 *   spec.paused pauses; clearing it resumes (a Baking wave bakes again). spec.action is one-shot:
 *   abort / rollback undo the in-flight wave; promote passes a Baking wave without its gates.
 *   The Fleet deleted after planning ends the release (Aborted, FleetDeleted): nothing is left to release.
 *
 * Gates need I/O, so they are a two-call step: when they are due and `observed.verdict` is absent, the
 * outcome carries `runGates` (and no writes); the controller runs them and decides again with the verdict.
 */
import { isReleaseFinished, ReleaseStatus } from '../api/kinds/release.js';
import type { Fleet } from '../api/kinds/fleet.js';
import type { Prod } from '../api/kinds/prod.js';
import { durationMs } from '../api/meta.js';
import { planWaves, releasableProds } from '../release/plan-waves.js';
import { probesFor } from '../release/probe-targets.js';
import { clusterOccupancy, isServing, placeSuccessor, successorName } from '../release/successor.js';
import { releaseSuccessor, type ReleaseDecision, type ReleaseObservation, type ReleaseOutcome, type Status, type Wave } from './release-decision.js';

export * from './release-decision.js';


/** Probes may start up to this long after the bake clock (the pass that starts them) and still count. */
const PROBE_SLACK_MS = 1000;
/** A bake waiting for probes to reach the gates' minimum lasts at most one more bake, and at least this. */
const PROBE_EXTRA_MIN_MS = 10_000;

const MAX_DECISIONS = 100;

export function decideRelease(o: ReleaseObservation): ReleaseOutcome {
  const rel = o.release;
  const spec = rel.spec;
  const name = rel.metadata.name;
  const st: Status = ReleaseStatus.parse(structuredClone(rel.status ?? {}));
  const out: ReleaseOutcome = { status: st, writes: [], decisions: [] };
  const iso = new Date(o.nowMs).toISOString();
  const prods = new Map(o.prods.map((p) => [p.metadata.name, p] as const));

  const decide = (action: ReleaseDecision, reason: string) => {
    out.decisions.push({ action, reason });
    st.decisions.push({ time: iso, action, reason });
    if (st.decisions.length > MAX_DECISIONS) st.decisions.splice(0, st.decisions.length - MAX_DECISIONS);
  };
  const requeue = (ms: number) => {
    out.requeueAfterMs = ms;
    return out;
  };
  const clearAction = (unpause = false) => out.writes.push({ write: 'clearAction', unpause });

  /** Tenants back on the predecessors (still up, known-good) first; one write per successor. */
  const undoWave = (wave: Wave, reason: string) => {
    for (const n of wave.replacements) out.writes.push({ write: 'revert', prod: n });
    wave.state = 'RolledBack';
    wave.reason = reason;
    wave.finishedAt ??= iso;
  };

  const finish = (fleet: Fleet) => {
    if (fleet.spec.version !== spec.version) out.writes.push({ write: 'fleetVersion', fleet: fleet.metadata.name, version: spec.version });
    st.phase = 'Succeeded';
    st.message = undefined;
    decide('Succeeded', `fleet ${spec.fleet} is on ${spec.version}`);
    return out;
  };

  const passWave = (fleet: Fleet, wave: Wave, reason: string) => {
    for (const p of wave.prods) out.writes.push({ write: 'retire', prod: p });
    wave.state = 'Passed';
    wave.reason = reason;
    wave.finishedAt = iso;
    st.currentWave++;
    if (st.currentWave >= st.waves.length) return finish(fleet);
    return requeue(0);
  };

  const failWave = (wave: Wave, reason: string) => {
    wave.finishedAt = iso;
    if (!spec.autoRollback) {
      wave.state = 'Failed';
      wave.reason = reason;
      st.phase = 'Failed';
      decide('GatesFailed', `wave ${wave.index}: ${reason}; autoRollback is off, traffic left as it is — \`drover release rollback ${name}\` undoes it`);
      return out;
    }
    decide('GatesFailed', `wave ${wave.index}: ${reason}`);
    undoWave(wave, reason);
    st.phase = 'RolledBack';
    decide('RolledBack', `wave ${wave.index}: tenants of ${wave.replacements.join(', ')} back on ${wave.prods.join(', ')} (${st.fromVersion ?? 'known-good'}); successors retired`);
    return out;
  };

  const wave = st.waves[st.currentWave];
  const inFlight = wave !== undefined && (wave.state === 'Updating' || wave.state === 'WarmingUp' || wave.state === 'Baking');

  // A finished release acts only on `rollback` of a Failed one (autoRollback off left traffic as it was).
  if (isReleaseFinished(st.phase)) {
    if (st.phase === 'Failed' && spec.action === 'rollback' && wave) {
      undoWave(wave, 'rollback requested');
      st.phase = 'RolledBack';
      decide('RolledBack', `wave ${wave.index} rolled back on request: tenants back on ${st.fromVersion ?? 'the known-good version'}`);
    } else if (spec.action !== 'none') {
      decide('ActionIgnored', `${spec.action} ignored: the release already ended (${st.phase})`);
    }
    if (spec.action !== 'none') clearAction();
    return out;
  }

  const fleet = o.fleet !== undefined && o.fleet.metadata.deletionTimestamp === undefined ? o.fleet : undefined;
  if (!fleet) {
    if (st.waves.length === 0 && st.phase === 'Pending' && spec.action === 'none') {
      // Not planned yet: the Fleet may be applied after its Release.
      st.message = `fleet ${spec.fleet} not found`;
      return requeue(5000);
    }
    if (wave && inFlight) {
      wave.state = 'Failed';
      wave.reason = 'fleet deleted';
      wave.finishedAt = iso;
    }
    st.phase = 'Aborted';
    st.message = `fleet ${spec.fleet} was deleted: nothing left to release (its Prods are retired with it)`;
    decide('FleetDeleted', st.message);
    if (spec.action !== 'none') clearAction();
    return out;
  }

  // Actions that end the release work whatever the state.
  if (spec.action === 'abort' || spec.action === 'rollback') {
    if (wave && (wave.state === 'Updating' || wave.state === 'Baking')) undoWave(wave, `${spec.action} requested`);
    const passed = st.waves.filter((w) => w.state === 'Passed').flatMap((w) => w.replacements);
    const rest = passed.length > 0 ? `; ${passed.join(', ')} of passed waves are on ${spec.version}: with Fleet.spec.version still ${st.fromVersion ?? 'the old version'}, the fleet controller rolls them back one by one` : '';
    st.phase = spec.action === 'abort' ? 'Aborted' : 'RolledBack';
    decide(spec.action === 'abort' ? 'Aborted' : 'RolledBack', `${spec.action} requested by user${rest}`);
    clearAction();
    return out;
  }

  if (st.waves.length === 0) return plan(fleet);

  if (spec.action === 'promote') {
    if (wave?.state === 'Baking') {
      decide('Promoted', `wave ${wave.index} promoted by user: bake and gates skipped`);
      clearAction(true);
      st.phase = 'Progressing';
      return passWave(fleet, wave, 'promoted');
    }
    decide('ActionIgnored', `promote ignored: wave ${wave?.index ?? '-'} is ${wave?.state ?? 'absent'}, not baking`);
    clearAction();
    return out;
  }

  if (spec.paused) {
    if (st.phase !== 'Paused') {
      st.phase = 'Paused';
      decide('Paused', st.message ?? 'paused by user');
    }
    return out;
  }
  if (st.phase === 'Paused') {
    st.phase = 'Progressing';
    st.message = undefined;
    if (wave?.state === 'Baking' && wave.bakeStartedAt) wave.bakeStartedAt = iso;
    decide('Resumed', wave?.state === 'Baking' ? `resumed: wave ${wave.index} bakes again, then its gates run` : 'resumed');
  }

  if (!wave) return finish(fleet);
  switch (wave.state) {
    case 'Pending':
      return startWave(wave, fleet);
    case 'Updating':
    case 'WarmingUp':
      return awaitServing(wave);
    case 'Baking':
      return bake(fleet, wave);
    default:
      st.currentWave++;
      return requeue(0);
  }

  function plan(f: Fleet): ReleaseOutcome {
    if (o.otherActive.length > 0) {
      const msg = `waiting: release ${o.otherActive.join(', ')} of fleet ${spec.fleet} is in progress`;
      if (st.message !== msg) decide('Waiting', msg);
      st.message = msg;
      return requeue(5000);
    }
    const live = releasableProds(o.prods, spec.fleet).filter((p) => p.spec.version !== spec.version);
    const p = planWaves(live, o.tenants, { maxParallel: spec.maxParallel });
    st.fromVersion = f.spec.version;
    st.currentWave = 0;
    st.message = undefined;
    st.waves = p.waves.map((w) => ({ index: w.index, riskClass: w.riskClass, prods: w.prods, replacements: [], users: w.users, state: 'Pending' }));
    st.phase = 'Progressing';
    decide('Planned', `${st.fromVersion} → ${spec.version} in ${p.waves.length} waves: ${p.waves.map((w) => `${w.riskClass}[${w.prods.join(',')}]`).join(' → ') || 'nothing to do'}`);
    if (p.waves.length === 0) return finish(f);
    return requeue(0);
  }

  function startWave(w: Wave, f: Fleet): ReleaseOutcome {
    const names: string[] = [];
    // Capacity is a hard limit for successors too: on the predecessor's cluster when it has room, else
    // where placement finds room; with none anywhere the wave waits (what it created so far stays).
    const occupancy = clusterOccupancy(o.allProds ?? o.prods);
    for (const predName of w.prods) {
      const pred = prods.get(predName);
      if (!pred || pred.spec.retire) continue;
      const succName = successorName(pred, spec.version, `${rel.metadata.name}/${rel.metadata.uid ?? ''}`);
      const cluster = prods.get(succName)?.spec.cluster ?? placeSuccessor(pred, f, o.clusters ?? [], o.prods, occupancy);
      if (typeof cluster !== 'string') {
        const msg = `wave ${w.index}: waiting for room for a successor of ${predName}: ${cluster.reason}`;
        if (w.reason !== msg) decide('Waiting', msg);
        w.reason = msg;
        return requeue(5000);
      }
      const succ = releaseSuccessor(rel, pred, f, cluster);
      out.writes.push({ write: 'createSuccessor', prod: succ });
      names.push(succ.metadata.name);
    }
    w.startedAt = iso;
    w.replacements = names;
    if (names.length === 0) {
      w.state = 'Skipped';
      w.reason = 'its Prods are gone';
      decide('WaveSkipped', `wave ${w.index}: none of ${w.prods.join(', ')} exists any more`);
      st.currentWave++;
      return requeue(0);
    }
    w.state = 'Updating';
    decide('WaveStarted', `wave ${w.index} (${w.riskClass}, ${w.users} users): ${w.prods.map((p, i) => `${p} → ${names[i] ?? '?'}`).join(', ')}`);
    return requeue(o.pollMs);
  }

  function awaitServing(w: Wave): ReleaseOutcome {
    const succs = w.replacements.map((n) => prods.get(n));
    const missing = w.replacements.filter((_, i) => !succs[i]);
    // A successor that failed, or that someone else retired (its cluster was lost), will never serve.
    const failed = succs.filter((p): p is Prod => p?.status?.phase === 'Failed' || p?.spec.retire === true);
    const waited = o.nowMs - Date.parse(w.startedAt ?? iso);
    if (missing.length > 0 || failed.length > 0 || waited > o.progressDeadlineMs) {
      const why =
        missing.length > 0
          ? `successor ${missing.join(', ')} disappeared`
          : failed.length > 0
            ? `successor ${failed.map((p) => (p.spec.retire ? `${p.metadata.name} was retired (its cluster lost?)` : `${p.metadata.name} failed: ${p.status?.message ?? 'no message'}`)).join('; ')}`
            : `successors not serving ${spec.version} after ${Math.round(waited / 1000)}s`;
      return failWave(w, why);
    }
    if (!succs.every((p) => p && isServing(p, spec.version))) {
      w.reason = `waiting for ${succs.filter((p) => !p || !isServing(p, spec.version)).map((p) => `${p?.metadata.name}(${p?.status?.phase ?? 'Pending'})`).join(', ')}`;
      return requeue(o.pollMs);
    }
    for (const n of w.replacements) out.writes.push({ write: 'takeover', prod: n });
    w.state = 'Baking';
    w.reason = undefined;
    decide('Swapped', `wave ${w.index}: ${w.replacements.join(', ')} serve ${spec.version}; takeover on`);
    return requeue(0);
  }

  function bake(f: Fleet, w: Wave): ReleaseOutcome {
    if (!w.bakeStartedAt) {
      // The bake clock starts once the traffic plan routes to the successors (when a plan exists).
      const routed = (n: string) => o.plans.every((p) => p.spec.endpoints.some((e) => e.prod === n && e.state === 'active'));
      if (!w.replacements.every(routed)) {
        w.reason = 'waiting for the traffic plan to route to the successors';
        return requeue(o.pollMs);
      }
      w.bakeStartedAt = iso;
      w.reason = undefined;
    }
    const bakeMs = durationMs(spec.bake);
    out.probes = probesFor(rel, w, prods, o.tenants);
    const elapsed = o.nowMs - Date.parse(w.bakeStartedAt);
    if (elapsed < bakeMs) return requeue(Math.min(bakeMs - elapsed, 5000));
    // Probes restarted mid-bake (a controller restart): bake on until they have covered one bake.
    const covered = o.probeCoverageMs ?? 0;
    if (out.probes && covered < bakeMs - PROBE_SLACK_MS) {
      w.reason = `probes have run ${Math.round(covered / 1000)}s of the ${Math.round(bakeMs / 1000)}s bake: baking on`;
      return requeue(Math.min(bakeMs - PROBE_SLACK_MS - covered + 1, 5000));
    }
    // Probes short of the gates' minimum (a loaded machine, a slow Prod): bake on a while rather than
    // call the wave inconclusive for want of requests the release sends itself.
    const needed = Math.max(0, ...spec.gates.flatMap((g) => (g.type === 'promql' || g.type === 'cloudwatch' ? [] : [g.minRequests])));
    const extraMs = Math.max(bakeMs, PROBE_EXTRA_MIN_MS);
    if (out.probes && o.probeFewest !== undefined && o.probeFewest < needed && elapsed < bakeMs + extraMs) {
      w.reason = `probes: ${o.probeFewest} of the gates' ${needed} requests so far: baking on (at most ${Math.round((bakeMs + extraMs) / 1000)}s)`;
      return requeue(Math.min(500, bakeMs + extraMs - elapsed));
    }

    const inWave = new Set(w.prods);
    const baseline = o.prods
      .filter((p) => !p.spec.retire && !inWave.has(p.metadata.name) && p.spec.version === st.fromVersion && isServing(p, p.spec.version))
      .map((p) => p.metadata.name);
    const verdict = o.verdict;
    if (!verdict) {
      out.runGates = { wave: [...w.replacements], baseline, windowMs: Math.max(1000, Math.min(bakeMs, elapsed) || elapsed) };
      return out;
    }
    w.reason = undefined;
    if (verdict.outcome === 'pass') {
      decide('GatesPassed', `wave ${w.index}: ${verdict.reason}`);
      out.probes = undefined;
      return passWave(f, w, verdict.reason);
    }
    out.probes = undefined;
    if (verdict.outcome === 'fail') return failWave(w, verdict.reason);
    st.message = `wave ${w.index} inconclusive: ${verdict.reason}`;
    st.phase = 'Paused';
    decide('Inconclusive', `${st.message}; paused — resume to bake again, promote to go on, rollback to undo`);
    if (!spec.paused) out.writes.push({ write: 'pause' });
    return out;
  }
}
