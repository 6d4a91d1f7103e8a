/**
 * The CloudTraffic controller's decisions as pure functions over (desired, observed): which change to make
 * (or, in dryRun, to show), the drift to report, the next status and the Events. No I/O:
 * cloud-traffic-controller.ts compiles, reads AWS, calls `decideSync`, writes AWS when told to, then calls
 * `settleSync` with the write's outcome.
 *
 * Rules:
 * - Only resources Drover may write (owned, or free to claim) are diffed; the others are listed in
 *   `status.notOwned` with the reason, and an Event says so when that list changes.
 * - Baseline: what AWS holds (`observed`). When AWS cannot be read in dryRun (no credentials: a laptop
 *   under `drover up`), observed is "unknown" and the baseline is `status.simulated`, the state AWS would
 *   hold had every earlier planned change been applied; so a new user still sees each change Drover would
 *   make, and when. In apply mode nothing is written without a fresh read.
 * - Drift: fields of what Drover last wrote (`lastApplied`) that AWS now holds differently. Warning Event;
 *   the diff puts them back in apply mode (Event DriftReverted).
 * - Nothing changes: no AWS write, and Events only when what they say changes (never one per idle sync).
 */
import type { CloudChange, CloudState, CloudTraffic, CloudTrafficStatus } from '../api/kinds/cloud-traffic.js';
import { CloudTrafficStatus as StatusSchema } from '../api/kinds/cloud-traffic.js';
import { diffStates, driftOf, summarizeChanges } from '../cloud/state.js';
import { registeredAfter } from '../cloud/target-group/compile.js';
import { setCondition } from './conditions.js';

export interface SyncEvent {
  type: 'Normal' | 'Warning';
  reason: CloudTrafficReason;
  message: string;
}

export const CloudTrafficReason = [
  'Updated',
  'WouldUpdate',
  'DriftDetected',
  'DriftReverted',
  'NotOwned',
  'SyncFailed',
  'FailStatic',
  'PlanMissing',
  'IncompleteTargets',
  'HealthChecksDeleted',
  'CleanupFailed',
] as const;
export type CloudTrafficReason = (typeof CloudTrafficReason)[number];

export interface ReadFailure {
  code: string;
  message: string;
  /** credentials: none configured (dryRun goes on with observed "unknown"). */
  errorClass: 'throttling' | 'transient' | 'credentials' | 'permanent';
}

export interface SyncInput {
  ct: CloudTraffic;
  /** Undefined when the fleet has no TrafficPlan yet. */
  desired: CloudState | undefined;
  notes: readonly string[];
  failStatic: boolean;
  /**
   * What AWS holds (owned/claimable resources), or the read's failure, or neither when not read.
   * `registered` (targetGroup): Drover's targets the group still holds, the next `status.registered`.
   */
  observed?: { state: CloudState; writable: ReadonlySet<string>; notOwned: readonly string[]; registered?: readonly string[]; healthChecks?: Readonly<Record<string, string>> };
  readError?: ReadFailure;
  now: string;
}

export interface SyncDecision {
  /** The change from the baseline to the desired state. */
  changes: CloudChange[];
  /** Write `changes` to AWS now (apply mode, a fresh read, something to change). */
  write: boolean;
  drift: CloudChange[];
  /** The status to write when there is no AWS write (or before it): `settleSync` finishes it. */
  status: CloudTrafficStatus;
  events: SyncEvent[];
}

function restrict(state: CloudState | undefined, keep: (resource: string) => boolean): CloudState {
  const out: CloudState = {};
  for (const [k, v] of Object.entries(state ?? {})) if (keep(k)) out[k] = v;
  return out;
}

/** What AWS would hold after `changes`: resources they delete (targetGroup targets) leave the simulation. */
function simulate(prev: CloudState | undefined, target: CloudState, changes: readonly CloudChange[]): CloudState {
  const out: CloudState = { ...(prev ?? {}), ...target };
  for (const c of changes) if (c.action === 'delete') delete out[c.resource];
  return out;
}

const sameJson = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

export function decideSync(input: SyncInput): SyncDecision {
  const { ct, now } = input;
  const prev = StatusSchema.parse(ct.status ?? {});
  const gen = ct.metadata.generation;
  const events: SyncEvent[] = [];
  const base: CloudTrafficStatus = {
    ...prev,
    provider: ct.spec.globalAccelerator ? 'globalAccelerator' : ct.spec.route53 ? 'route53' : 'targetGroup',
    lastSyncTime: now,
    ...(gen !== undefined ? { observedGeneration: gen } : {}),
  };
  const cond = (s: CloudTrafficStatus, type: string, status: 'True' | 'False' | 'Unknown', reason: string, message: string): void => {
    s.conditions = setCondition(s.conditions, { type, status, reason, message }, now, gen);
  };

  if (!input.desired) {
    cond(base, 'Synced', 'False', 'PlanMissing', `fleet ${ct.spec.fleet} has no traffic plan yet: nothing to steer`);
    if (prev.conditions.find((c) => c.type === 'Synced')?.reason !== 'PlanMissing') events.push({ type: 'Warning', reason: 'PlanMissing', message: `fleet ${ct.spec.fleet} has no traffic plan yet` });
    return { changes: [], write: false, drift: [], status: base, events };
  }
  const desired = input.desired;
  const dry = ct.spec.mode === 'dryRun';
  const observed = input.observed;

  // A read that failed for another reason than missing credentials in dryRun: nothing else to decide.
  if (!observed && input.readError && !(dry && input.readError.errorClass === 'credentials')) {
    const e = input.readError;
    const status: CloudTrafficStatus = { ...base, lastError: { code: e.code, message: e.message, time: now } };
    cond(status, 'Synced', 'False', e.code, e.message);
    if (prev.lastError?.code !== e.code || prev.lastError.message !== e.message) events.push({ type: 'Warning', reason: 'SyncFailed', message: `reading AWS failed: ${e.code}: ${e.message}` });
    return { changes: [], write: false, drift: [], status, events };
  }

  const status: CloudTrafficStatus = { ...base };
  delete status.lastError;
  const writable = observed ? (r: string) => observed.writable.has(r) : () => true;
  const target = restrict(desired, writable);
  let changes: CloudChange[];
  let drift: CloudChange[] = [];
  if (observed) {
    status.observed = observed.state;
    status.observedSource = 'aws';
    status.notOwned = [...observed.notOwned];
    if (observed.registered) status.registered = [...observed.registered];
    if (observed.healthChecks) status.healthChecks = { ...observed.healthChecks };
    changes = diffStates(observed.state, target);
    drift = driftOf(restrict(prev.lastApplied, writable), observed.state);
  } else {
    delete status.observed;
    status.observedSource = 'unknown';
    changes = diffStates(prev.simulated ?? {}, target);
  }
  status.drift = drift;

  if (!sameJson(status.notOwned, prev.notOwned) && status.notOwned.length > 0) {
    events.push({ type: 'Warning', reason: 'NotOwned', message: `not touched, not owned by Drover: ${status.notOwned.join('; ')}` });
  }
  cond(status, 'Owned', status.notOwned.length > 0 ? 'False' : 'True', status.notOwned.length > 0 ? 'NotOwned' : 'Owned', status.notOwned.join('; '));
  if (drift.length > 0 && !sameJson(drift, prev.drift)) {
    events.push({ type: 'Warning', reason: 'DriftDetected', message: `AWS differs from what Drover wrote: ${summarizeChanges(drift)}${dry ? ' (dryRun: not reverted)' : ''}` });
  }
  cond(status, 'Drifted', drift.length > 0 ? 'True' : 'False', drift.length > 0 ? 'DriftDetected' : 'NoDrift', drift.length > 0 ? summarizeChanges(drift) : '');
  if (input.failStatic && !prev.conditions.some((c) => c.type === 'FailStatic' && c.status === 'True')) {
    const kept = status.provider === 'targetGroup' ? 'keeping the current registrations' : 'keeping the plan weights';
    events.push({ type: 'Warning', reason: 'FailStatic', message: `every cluster looks lost at once: ${kept} (the control plane is the likelier fault)` });
  }
  cond(status, 'FailStatic', input.failStatic ? 'True' : 'False', input.failStatic ? 'AllClustersLost' : 'SomeClusterLive', '');

  const write = !dry && changes.length > 0;
  if (changes.length > 0) {
    const summary = summarizeChanges(changes);
    if (dry) {
      status.planned = changes;
      status.plannedTime = now;
      // What AWS would hold now, for the next sync's baseline while AWS cannot be read.
      status.simulated = simulate(prev.simulated, target, changes);
      if (!sameJson(changes, prev.planned)) events.push({ type: 'Normal', reason: 'WouldUpdate', message: `dryRun, not written: ${summary}` });
      cond(status, 'Synced', 'True', 'DryRun', observed ? 'planned change computed; nothing written (dryRun)' : 'planned change computed; AWS not read (observed: unknown), nothing written (dryRun)');
    }
    // apply: `settleSync` finishes the status once the write's outcome is known.
  } else {
    if (dry && !observed) status.simulated = { ...(prev.simulated ?? {}), ...target };
    cond(status, 'Synced', 'True', dry ? 'DryRun' : 'InSync', observed ? 'AWS matches the plan' : 'no change since the last planned one (AWS not read: observed unknown)');
  }
  for (const n of input.notes) if (!prev.conditions.some((c) => c.type === 'Compiled' && c.message.includes(n))) events.push({ type: 'Warning', reason: 'IncompleteTargets', message: n });
  cond(status, 'Compiled', input.notes.length > 0 ? 'False' : 'True', input.notes.length > 0 ? 'IncompleteTargets' : 'Compiled', input.notes.join('; '));
  return { changes, write, drift, status, events };
}

/** The status after the AWS write of `decision` (success, or the error it ended with). */
export function settleSync(input: SyncInput, decision: SyncDecision, outcome: { ok: true; healthChecks?: Record<string, string> } | { ok: false; error: ReadFailure }): { status: CloudTrafficStatus; events: SyncEvent[] } {
  const { now } = input;
  const gen = input.ct.metadata.generation;
  const status: CloudTrafficStatus = { ...decision.status };
  const events: SyncEvent[] = [];
  const summary = summarizeChanges(decision.changes);
  // Targets Drover registered: counted even when the write failed part-way (the next read prunes them).
  if (status.provider === 'targetGroup') status.registered = registeredAfter(status.registered ?? [], decision.changes, outcome.ok);
  if (outcome.ok) {
    if (outcome.healthChecks) status.healthChecks = { ...outcome.healthChecks };
    const writable = input.observed ? (r: string) => input.observed!.writable.has(r) : () => true;
    const applied = restrict(input.desired, writable);
    status.lastApplied = applied;
    status.lastAppliedTime = now;
    status.observed = applied;
    status.planned = decision.changes;
    status.plannedTime = now;
    status.drift = [];
    status.conditions = setCondition(status.conditions, { type: 'Synced', status: 'True', reason: 'Applied', message: summary }, now, gen);
    status.conditions = setCondition(status.conditions, { type: 'Drifted', status: 'False', reason: 'NoDrift', message: '' }, now, gen);
    events.push({ type: 'Normal', reason: 'Updated', message: summary });
    if (decision.drift.length > 0) events.push({ type: 'Normal', reason: 'DriftReverted', message: summarizeChanges(decision.drift) });
  } else {
    const e = outcome.error;
    status.lastError = { code: e.code, message: e.message, time: now };
    status.conditions = setCondition(status.conditions, { type: 'Synced', status: 'False', reason: e.code, message: e.message }, now, gen);
    events.push({ type: 'Warning', reason: 'SyncFailed', message: `writing ${summary} failed: ${e.code}: ${e.message}` });
  }
  return { status, events };
}
