/**
 * The migration controller's decisions (pure: no I/O, no clock, no store). `decideMigration(observed)`
 * takes the Migration, what the fleet and its tenants look like, whether the target (the edge's plan, or
 * the ALB) holds the weight the status asks for, and — on the second call of a pass — the gates' verdict,
 * and returns the next status, the Events, whether to run the gates, and when to look again.
 *
 * Everything that drives the next step is in the status (step, weight, per-tenant progress, when the bake
 * started): a control plane restarted mid-step reads it back and goes on at the same step; the moves of a
 * step are a function of the step index over the tenants recorded at start, so nobody moves twice.
 *
 * Rules:
 * - Pending → Progressing at step 0 once the fleet exists, no Release moves the fleet, and the selection
 *   (recorded in status, risk-ordered) is known. `spec.paused` holds it in Pending.
 * - A step bakes from when the target is seen holding its weight (`bakeStartedAt`) for `spec.bake`; then
 *   the gates judge the bake window (wave: the fleet's Prods serving the migrating tenants; baseline: the
 *   legacy endpoints). pass → next step (the last: Succeeded); fail → RolledBack with weight 0 in the same
 *   status write (one plan update); inconclusive → bake on (the window grows) for another bake, at least
 *   30 s, then Paused with the reason (no news is not good news).
 * - `spec.paused` or a hold (inconclusive gates, a permanent target error) → Paused, weight kept.
 *   `action: resume` clears the hold and the step bakes again; `promote` passes the step now; `abort` →
 *   Aborted, weight 0 at once. A finished migration ignores actions (ActionIgnored).
 * - A Release active on the fleet holds the next step (two changes at once would make the gates speak for
 *   neither); admission refuses to start one while the other runs (src/server/migration-admission.ts).
 */
import type { Fleet } from '../api/kinds/fleet.js';
import { MigrationStatus as StatusSchema, type Migration, type MigrationStatus } from '../api/kinds/migration.js';
import { durationMs } from '../api/meta.js';
import type { Tenant } from '../api/kinds/tenant.js';
import type { AlbSyncResult } from '../cloud/alb/forward-weights.js';
import type { GateVerdict } from '../release/gates/types.js';
import { legacyEndpointNames } from '../traffic/legacy-endpoints.js';
import { movedShare, selectTenants, tenantProgress } from './migration-plan.js';

export const MigrationReason = [
  'Started',
  'StepStarted',
  'StepPassed',
  'GateFailed',
  'GatesInconclusive',
  'Paused',
  'Resumed',
  'Promoted',
  'Aborted',
  'Succeeded',
  'TargetError',
  'DriftDetected',
  'WaitingForRelease',
  'ActionIgnored',
  'FleetDeleted',
] as const;
export type MigrationReason = (typeof MigrationReason)[number];

const WARNINGS: ReadonlySet<MigrationReason> = new Set(['GateFailed', 'GatesInconclusive', 'TargetError', 'DriftDetected', 'FleetDeleted', 'ActionIgnored']);
const MAX_DECISIONS = 50;
/** How often a waiting migration looks again (a plan update, a Release ending). */
export const POLL_MS = 250;
const WAIT_MS = 2_000;

/** An inconclusive step bakes on for its bake again, and at least this long, before it is held. */
const BAKE_ON_MIN_MS = 30_000;
const BAKE_ON_POLL_MS = 2_000;

export interface MigrationObservation {
  migration: Migration;
  fleet: Fleet | undefined;
  /** Tenants of the fleet. */
  tenants: readonly Tenant[];
  /** Serving Prods of the fleet (the wave when the migration covers requests that match no tenant). */
  prods: readonly string[];
  /** Active Releases of the fleet. */
  activeReleases: readonly string[];
  /** edge target: this migration's entry in the fleet's TrafficPlan (`undefined`: not in the plan). */
  planned?: { fleetPercent: number; moved: readonly string[] } | undefined;
  /** alb target: the result of syncing the status's weight this pass. */
  alb?: AlbSyncResult | undefined;
  now: number;
  verdict?: GateVerdict | undefined;
}

export interface MigrationEvent {
  type: 'Normal' | 'Warning';
  reason: MigrationReason;
  message: string;
}

export interface MigrationOutcome {
  status: MigrationStatus;
  events: MigrationEvent[];
  /** Run the gates over this and decide again with the verdict. */
  runGates?: { wave: string[]; baseline: string[]; windowMs: number };
  /** Reset `spec.action` to none (handled or ignored). */
  clearAction: boolean;
  requeueAfterMs?: number;
}

const iso = (ms: number) => new Date(ms).toISOString();

export function decideMigration(o: MigrationObservation): MigrationOutcome {
  const m = o.migration;
  const st: MigrationStatus = structuredClone(m.status ?? StatusSchema.parse({}));
  const out: MigrationOutcome = { status: st, events: [], clearAction: false };
  const now = iso(o.now);
  const decide = (reason: MigrationReason, message: string) => {
    st.decisions = [...st.decisions, { time: now, action: reason, reason: message }].slice(-MAX_DECISIONS);
    out.events.push({ type: WARNINGS.has(reason) ? 'Warning' : 'Normal', reason, message });
  };
  st.observedGeneration = m.metadata.generation;
  if (m.spec.target.type === 'alb' && o.alb) applyAlbResult(st, o.alb, now, decide);
  const action = m.spec.action;
  const phase = st.phase;

  if (phase === 'Succeeded' || phase === 'RolledBack' || phase === 'Aborted') {
    if (action !== 'none') {
      decide('ActionIgnored', `${action} of a migration that already ended (${phase})`);
      out.clearAction = true;
    }
    // ALB: the final weight must reach the load balancer; the edge's plan follows the status by itself.
    if (m.spec.target.type === 'alb' && st.target?.appliedWeight !== st.weight) out.requeueAfterMs = WAIT_MS;
    return out;
  }
  if (action === 'abort') {
    out.clearAction = true;
    finish(st, 'Aborted', now);
    setWeight(m, st, 0);
    decide('Aborted', `aborted at step ${st.step + 1}/${m.spec.steps.length}: every user back on legacy`);
    return withRequeue(out, m);
  }
  if (!o.fleet || o.fleet.metadata.deletionTimestamp) {
    if (phase === 'Pending') {
      st.message = `waiting for fleet ${m.spec.fleet}`;
      out.requeueAfterMs = WAIT_MS;
      return out;
    }
    finish(st, 'Aborted', now);
    setWeight(m, st, 0);
    decide('FleetDeleted', `fleet ${m.spec.fleet} was deleted: every user back on legacy`);
    return withRequeue(out, m);
  }

  if (phase === 'Pending') return start(o, st, out, decide, now);

  // Progressing or Paused.
  if (action === 'resume') {
    out.clearAction = true;
    delete st.holdReason;
    delete st.lastError;
  }
  if (action === 'promote') {
    out.clearAction = true;
    decide('Promoted', `step ${st.step + 1} (${m.spec.steps[st.step]} %) passed by hand, without its gates`);
    delete st.holdReason;
    advance(o, st, now, decide);
    return withRequeue(out, m);
  }
  if (m.spec.paused || st.holdReason !== undefined) {
    if (st.phase !== 'Paused') {
      st.phase = 'Paused';
      decide('Paused', st.holdReason ?? `paused by request at step ${st.step + 1} (${st.weight} % on the fleet)`);
    }
    st.message = st.holdReason ?? 'paused: resume with drover migration resume';
    if (m.spec.target.type === 'alb' && st.target?.appliedWeight !== st.weight) out.requeueAfterMs = WAIT_MS;
    return out;
  }
  if (st.phase === 'Paused') {
    st.phase = 'Progressing';
    delete st.bakeStartedAt;
    decide('Resumed', `step ${st.step + 1} bakes again, then its gates run`);
  }

  // The target must hold this step's weight before the bake counts.
  if (!targetHolds(o, st)) {
    st.message = m.spec.target.type === 'alb' ? `waiting for the ALB to hold ${st.weight} % on the fleet` : `waiting for the traffic plan to hold ${st.weight} % on the fleet`;
    out.requeueAfterMs = m.spec.target.type === 'alb' ? WAIT_MS : POLL_MS;
    return out;
  }
  if (st.bakeStartedAt === undefined) st.bakeStartedAt = now;
  const bakeMs = durationMs(m.spec.bake);
  const bakeStart = Date.parse(st.bakeStartedAt);
  const left = bakeStart + bakeMs - o.now;
  if (left > 0) {
    st.message = `step ${st.step + 1}/${m.spec.steps.length}: ${st.weight} % on the fleet, baking (${Math.ceil(left / 1000)} s left)`;
    out.requeueAfterMs = Math.min(left, 5_000);
    return out;
  }
  if (o.activeReleases.length > 0) {
    st.message = `holding step ${st.step + 1}: release ${o.activeReleases.join(', ')} is moving fleet ${m.spec.fleet}`;
    if (!st.decisions.at(-1)?.reason.startsWith('release ')) decide('WaitingForRelease', `release ${o.activeReleases.join(', ')} is moving fleet ${m.spec.fleet}; the next step waits for it`);
    out.requeueAfterMs = WAIT_MS;
    return out;
  }
  if (!o.verdict) {
    out.runGates = { wave: waveOf(o, st), baseline: m.spec.target.type === 'edge' ? legacyEndpointNames(m) : [], windowMs: Math.max(bakeMs, o.now - bakeStart) };
    return out;
  }
  const v = o.verdict;
  if (v.outcome === 'fail') {
    finish(st, 'RolledBack', now);
    setWeight(m, st, 0);
    decide('GateFailed', `step ${st.step + 1} (${m.spec.steps[st.step]} %): ${v.reason}; every user back on legacy`);
    return withRequeue(out, m);
  }
  if (v.outcome === 'inconclusive') {
    // Too few requests yet (a small step of a quiet tenant): bake on a while, the window growing with it,
    // before holding the step. A user's README demo at 1 % paused for want of 3 requests.
    const limitMs = bakeMs + Math.max(bakeMs, BAKE_ON_MIN_MS);
    const baked = o.now - bakeStart;
    if (baked < limitMs) {
      st.message = `step ${st.step + 1}/${m.spec.steps.length}: gates inconclusive so far (${v.reason}): baking on, at most ${Math.round(limitMs / 1000)} s in all`;
      out.requeueAfterMs = Math.min(BAKE_ON_POLL_MS, limitMs - baked);
      return out;
    }
    st.phase = 'Paused';
    // What to do next, in the message: a quiet step (one client, a few users) never has the requests.
    st.holdReason = `gates inconclusive at step ${st.step + 1}: ${v.reason}; paused — more traffic then \`drover migration resume\` bakes again, \`promote\` passes the step, \`abort\` puts everyone back on legacy`;
    st.message = st.holdReason;
    decide('GatesInconclusive', st.holdReason);
    return out;
  }
  decide('StepPassed', `step ${st.step + 1} (${m.spec.steps[st.step]} %): ${v.reason}`);
  advance(o, st, now, decide);
  return withRequeue(out, m);
}

function start(o: MigrationObservation, st: MigrationStatus, out: MigrationOutcome, decide: (r: MigrationReason, msg: string) => void, now: string): MigrationOutcome {
  const m = o.migration;
  if (m.spec.paused) {
    st.message = 'paused before the first step: resume with drover migration resume';
    return out;
  }
  if (o.activeReleases.length > 0) {
    st.message = `waiting: release ${o.activeReleases.join(', ')} is moving fleet ${m.spec.fleet}`;
    out.requeueAfterMs = WAIT_MS;
    return out;
  }
  const sel = selectTenants(m.spec, o.tenants);
  if (!sel.all && sel.tenants.length === 0) {
    st.message = 'no tenant of the fleet matches spec.tenants yet';
    out.requeueAfterMs = WAIT_MS;
    return out;
  }
  st.allTenants = sel.all;
  st.selectedUsers = sel.users;
  // Percent mode over every tenant: one weight says it all, and the list could be the whole fleet.
  const progress = tenantProgress(m.spec, sel.tenants, 0, 0);
  if (!(sel.all && m.spec.mode === 'percent')) st.tenants = progress;
  st.phase = 'Progressing';
  st.step = 0;
  decide('Started', `${m.spec.mode} mode over ${sel.all ? 'every tenant' : `${sel.tenants.length} tenant(s)`} (${sel.users} users), steps ${m.spec.steps.join(', ')} %`);
  enterStep(m, st, 0, now, decide);
  out.requeueAfterMs = POLL_MS;
  return out;
}

function enterStep(m: Migration, st: MigrationStatus, index: number, now: string, decide: (r: MigrationReason, msg: string) => void): void {
  st.step = index;
  st.stepStartedAt = now;
  delete st.bakeStartedAt;
  setWeight(m, st, m.spec.steps[index] ?? 100);
  const moved = m.spec.mode === 'tenants' ? (st.tenants ?? []).filter((t) => t.step === index).map((t) => t.name) : [];
  decide('StepStarted', `step ${index + 1}/${m.spec.steps.length}: ${st.weight.toFixed(st.weight % 1 === 0 ? 0 : 2)} % of the selected users on the fleet${moved.length > 0 ? ` (moves ${moved.join(', ')})` : ''}`);
  st.message = `step ${index + 1}/${m.spec.steps.length}: ${st.weight} % on the fleet`;
}

function advance(o: MigrationObservation, st: MigrationStatus, now: string, decide: (r: MigrationReason, msg: string) => void): void {
  const m = o.migration;
  if (st.step + 1 >= m.spec.steps.length) {
    setWeight(m, st, 100);
    finish(st, 'Succeeded', now);
    decide('Succeeded', `every selected user is on fleet ${m.spec.fleet}`);
    return;
  }
  st.phase = 'Progressing';
  enterStep(m, st, st.step + 1, now, decide);
}

/**
 * The fleet share the status asks for, and each tenant's progress with it. tenants mode: the step's
 * tenants are on the fleet (weight = the share of users they carry); 0 puts every one back on legacy.
 */
function setWeight(m: Migration, st: MigrationStatus, stepWeight: number): void {
  if (m.spec.mode === 'percent') {
    st.weight = stepWeight;
    if (st.tenants) st.tenants = st.tenants.map((t) => ({ ...t, weight: stepWeight }));
    return;
  }
  if (!st.tenants) {
    st.weight = stepWeight === 0 ? 0 : stepWeight;
    return;
  }
  st.tenants = st.tenants.map((t) => ({ ...t, weight: stepWeight > 0 && (t.step ?? Infinity) <= st.step ? 100 : 0 }));
  st.weight = stepWeight >= 100 && st.step >= m.spec.steps.length - 1 ? 100 : round2(movedShare(st.tenants));
}

function finish(st: MigrationStatus, phase: 'Succeeded' | 'RolledBack' | 'Aborted', now: string): void {
  st.phase = phase;
  st.finishedAt = now;
  delete st.holdReason;
  delete st.bakeStartedAt;
  st.message = phase === 'Succeeded' ? 'every selected user is on the fleet' : 'every selected user is on legacy';
}

function withRequeue(out: MigrationOutcome, m: Migration): MigrationOutcome {
  out.requeueAfterMs = m.spec.target.type === 'alb' ? 0 : POLL_MS;
  return out;
}

/** Whether the edge's plan (or the ALB) holds the status's weight: the bake counts from then. */
function targetHolds(o: MigrationObservation, st: MigrationStatus): boolean {
  const m = o.migration;
  if (m.spec.target.type === 'alb') return st.target?.appliedWeight === st.weight && st.target.observed !== undefined;
  const p = o.planned;
  if (!p) return false;
  if (m.spec.mode === 'percent') return p.fleetPercent === st.weight;
  const want = (st.tenants ?? []).filter((t) => t.weight >= 100).map((t) => t.name).sort();
  const have = [...p.moved].sort();
  return want.length === have.length && want.every((n, i) => n === have[i]) && (st.weight < 100 || p.fleetPercent === 100 || !st.allTenants);
}

/**
 * The wave the gates judge: the fleet's Prods serving the migrating tenants (tenants mode: those moved so
 * far); every serving Prod when the migration covers every tenant (and the requests matching none).
 */
function waveOf(o: MigrationObservation, st: MigrationStatus): string[] {
  if (st.allTenants && o.migration.spec.mode === 'percent') return [...o.prods].sort();
  const moving = new Set((st.tenants ?? []).filter((t) => t.weight > 0).map((t) => t.name));
  const out = new Set<string>();
  for (const t of o.tenants) if (moving.has(t.metadata.name)) for (const p of t.status?.prods ?? []) out.add(p);
  if (st.allTenants && out.size === 0) return [...o.prods].sort();
  return [...out].sort();
}

function applyAlbResult(st: MigrationStatus, r: AlbSyncResult, now: string, decide: (reason: MigrationReason, msg: string) => void): void {
  if (r.ok) {
    const prevDrift = st.target?.drift;
    st.target = { appliedWeight: st.weight, observed: r.observed, syncedAt: now, ...(r.drift !== undefined ? { drift: r.drift } : {}) };
    if (r.drift !== undefined && r.drift !== prevDrift) decide('DriftDetected', `the ALB's weights were changed outside Drover: ${r.drift}`);
    if (st.lastError && !st.lastError.permanent) delete st.lastError;
    return;
  }
  const first = st.lastError?.code !== r.code || st.lastError.message !== r.message;
  st.lastError = { code: r.code, message: r.message, time: now, permanent: r.permanent };
  if (r.permanent) {
    st.holdReason = `ALB error ${r.code}: ${r.message} (fix it, then drover migration resume)`;
    if (first) decide('TargetError', `ALB error ${r.code} (permanent, paused): ${r.message}`);
  }
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
