/**
 * The migration controller's pure decisions: rule by rule, then a fast-check model that runs random
 * sequences of operator and world commands (time passing, the plan catching up, gates passing, failing or
 * saying nothing, pause, resume, promote, abort, a control plane restart) and checks after each that the
 * migration only moves forward, rolls back to 0 in one decision, ends for good, and that a restart (the
 * same stored status decided again) moves nobody twice.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Migration, type MigrationStatus } from '../../../src/api/kinds/migration.js';
import { decideMigration, type MigrationObservation, type MigrationOutcome } from '../../../src/controllers/migration-decide.js';
import { planSteps, selectTenants } from '../../../src/controllers/migration-plan.js';
import type { GateVerdict } from '../../../src/release/gates/types.js';
import { fleet, tenant } from '../../helpers/fixtures.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const verdict = (outcome: GateVerdict['outcome']): GateVerdict => ({ outcome, results: [{ gate: 'errorRate', outcome, reason: outcome }], reason: `errorRate: ${outcome}` });

function migration(spec: Record<string, unknown> = {}, status?: Partial<MigrationStatus>): Migration {
  return Migration.parse({
    apiVersion: 'drover.dev/v1alpha1',
    kind: 'Migration',
    metadata: { name: 'mig', generation: 1 },
    spec: { fleet: 'web', legacy: { endpoints: [{ url: 'http://127.0.0.1:9000' }] }, bake: '10s', ...spec },
    ...(status ? { status } : {}),
  });
}

const tenants = [
  tenant('big', { users: 600, prods: ['web-a'] }),
  tenant('mid', { users: 300, prods: ['web-b'] }),
  tenant('small', { users: 90, prods: ['web-c'] }),
  tenant('qa', { users: 10, test: true, prods: ['web-t'] }),
];

/** A small world: the migration as stored, the plan's copy of its weight, the clock. */
class World {
  m: Migration;
  now = T0;
  planned: { fleetPercent: number; moved: string[] } | undefined;
  releases: string[] = [];
  gates: GateVerdict['outcome'] = 'pass';
  gateRuns = 0;
  /** The window each gate run judged. */
  readonly windows: number[] = [];
  constructor(m: Migration) {
    this.m = m;
  }
  observe(v?: GateVerdict): MigrationObservation {
    return { migration: this.m, fleet: fleet('web'), tenants, prods: ['web-a', 'web-b', 'web-c', 'web-t'], activeReleases: this.releases, planned: this.planned, now: this.now, ...(v ? { verdict: v } : {}) };
  }
  /** One reconcile: decide, run the gates if asked, decide again, store the status. */
  pass(): MigrationOutcome {
    let out = decideMigration(this.observe());
    if (out.runGates) {
      this.gateRuns++;
      this.windows.push(out.runGates.windowMs);
      out = decideMigration(this.observe(verdict(this.gates)));
    }
    this.m = { ...this.m, spec: { ...this.m.spec, action: out.clearAction ? 'none' : this.m.spec.action }, status: out.status };
    return out;
  }
  /** The traffic controller compiling the status into the plan. */
  syncPlan(): void {
    const st = this.m.status;
    const moved = (st?.tenants ?? []).filter((t) => t.weight >= 100).map((t) => t.name);
    this.planned = { fleetPercent: this.m.spec.mode === 'percent' ? (st?.weight ?? 0) : (st?.weight ?? 0) >= 100 ? 100 : 0, moved };
  }
  set(spec: Partial<Migration['spec']>): void {
    this.m = { ...this.m, spec: { ...this.m.spec, ...spec } };
  }
}

describe('decideMigration', () => {
  it('starts at step 1, waits for the plan to hold the weight, bakes, runs the gates on the wave against legacy, and steps on', () => {
    const w = new World(migration({ tenants: { names: ['big', 'small'] } }));
    let out = w.pass();
    assert.equal(out.status.phase, 'Progressing');
    assert.equal(out.status.weight, 1);
    assert.deepEqual(out.status.tenants?.map((t) => t.name), ['small', 'big'], 'risk order: ascending users');
    assert.deepEqual(out.events.map((e) => e.reason), ['Started', 'StepStarted']);
    out = w.pass();
    assert.match(out.status.message ?? '', /waiting for the traffic plan to hold 1 %/);
    assert.equal(out.status.bakeStartedAt, undefined, 'no bake before the plan holds the weight');
    w.syncPlan();
    out = w.pass();
    assert.equal(out.status.bakeStartedAt, new Date(T0).toISOString());
    assert.equal(out.runGates, undefined);
    w.now += 10_000;
    const first = decideMigration(w.observe());
    assert.deepEqual(first.runGates, { wave: ['web-a', 'web-c'], baseline: ['legacy:mig:0'], windowMs: 10_000 });
    out = w.pass();
    assert.equal(out.status.step, 1);
    assert.equal(out.status.weight, 10);
    assert.deepEqual(out.events.map((e) => e.reason), ['StepPassed', 'StepStarted']);
  });

  it('a failed gate puts every user back on legacy in the same decision (RolledBack, weight 0)', () => {
    const w = new World(migration());
    w.pass();
    w.syncPlan();
    w.pass();
    w.now += 10_000;
    w.gates = 'fail';
    const out = w.pass();
    assert.equal(out.status.phase, 'RolledBack');
    assert.equal(out.status.weight, 0);
    assert.equal(out.events[0]?.reason, 'GateFailed');
    assert.equal(out.events[0]?.type, 'Warning');
    assert.match(out.status.decisions.at(-1)?.reason ?? '', /errorRate: fail; every user back on legacy/);
    const again = w.pass();
    assert.equal(again.status.phase, 'RolledBack', 'finished for good');
  });

  it('inconclusive gates bake on (at least 30 s more, the window growing), then pause; resume bakes the step again; promote passes it without gates; abort returns to 0 at once', () => {
    const w = new World(migration());
    w.pass();
    w.syncPlan();
    w.pass();
    w.now += 10_000;
    w.gates = 'inconclusive';
    let out = w.pass();
    assert.equal(out.status.phase, 'Progressing', 'too few requests yet: it bakes on');
    assert.match(out.status.message ?? '', /inconclusive so far .*baking on, at most 40 s/);
    const windows = w.windows.length;
    w.now += 29_000;
    out = w.pass();
    assert.equal(out.status.phase, 'Progressing');
    assert.ok((w.windows.at(-1) ?? 0) > (w.windows[windows - 1] ?? Infinity), 'the gates judge a longer window');
    w.now += 2_000;
    out = w.pass();
    assert.equal(out.status.phase, 'Paused');
    assert.match(out.status.holdReason ?? '', /inconclusive/);
    w.now += 60_000;
    assert.equal(w.pass().status.phase, 'Paused', 'a hold stays until resumed');
    w.set({ action: 'resume' });
    out = w.pass();
    assert.equal(out.status.phase, 'Progressing');
    assert.equal(out.clearAction, true);
    assert.equal(out.status.step, 0);
    assert.equal(out.status.bakeStartedAt, new Date(w.now).toISOString(), 'the step bakes again from now');
    w.set({ action: 'promote' });
    const runs = w.gateRuns;
    out = w.pass();
    assert.equal(out.status.step, 1);
    assert.equal(w.gateRuns, runs, 'promote runs no gates');
    w.set({ paused: true });
    out = w.pass();
    assert.equal(out.status.phase, 'Paused');
    assert.equal(out.status.weight, 10, 'pause keeps the weight');
    w.set({ action: 'abort' });
    out = w.pass();
    assert.equal(out.status.phase, 'Aborted');
    assert.equal(out.status.weight, 0);
    w.set({ action: 'promote' });
    out = w.pass();
    assert.deepEqual(out.events.map((e) => e.reason), ['ActionIgnored']);
    assert.equal(out.status.phase, 'Aborted');
  });

  it('tenants mode moves whole tenants in risk order (test tenants first), by share of users', () => {
    const spec = { mode: 'tenants', steps: [1, 10, 50, 100] } as const;
    const steps = planSteps(migration(spec).spec, selectTenants(migration(spec).spec, tenants));
    assert.deepEqual(steps.map((s) => s.moves), [['qa'], ['small'], ['mid'], ['big']]);
    assert.deepEqual(steps.map((s) => s.usersOnFleet), [10, 100, 400, 1000]);
    const w = new World(migration(spec));
    let out = w.pass();
    assert.equal(out.status.weight, 1, '10 of 1000 users');
    assert.deepEqual(out.status.tenants?.filter((t) => t.weight === 100).map((t) => t.name), ['qa']);
    w.syncPlan();
    w.pass();
    w.now += 10_000;
    out = w.pass();
    assert.deepEqual(out.status.tenants?.filter((t) => t.weight === 100).map((t) => t.name), ['qa', 'small']);
    assert.equal(out.status.weight, 10);
    w.syncPlan();
    w.pass();
    w.now += 10_000;
    w.gates = 'fail';
    out = w.pass();
    assert.deepEqual(out.status.tenants?.filter((t) => t.weight > 0), [], 'a rollback moves every tenant back');
    assert.deepEqual(decideMigration(w.observe()).runGates, undefined);
  });

  it('holds while a Release moves the fleet, before the start and before the next step', () => {
    const w = new World(migration());
    w.releases = ['web-v2'];
    let out = w.pass();
    assert.equal(out.status.phase, 'Pending');
    assert.match(out.status.message ?? '', /release web-v2/);
    w.releases = [];
    w.pass();
    w.syncPlan();
    w.pass();
    w.releases = ['web-v3'];
    w.now += 10_000;
    out = w.pass();
    assert.equal(out.status.step, 0, 'no step while the release runs');
    assert.equal(out.events[0]?.reason, 'WaitingForRelease');
  });

  it('ALB target (fake ALB adapter): bakes once the ALB holds the weight; a permanent error pauses with the error; a transient one is retried', () => {
    const alb = { type: 'alb', listenerArn: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/lb/50dc6c495c0c9188/f2f7dc8efc522ab2', legacyTargetGroupArn: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/legacy/73e2d6bc24d8a067', fleetTargetGroupArn: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/fleet/83e2d6bc24d8a068' };
    const w = new World(migration({ target: alb }));
    w.pass();
    const observed = { legacyWeight: 99, fleetWeight: 1, stickinessSeconds: 3600 };
    let out = decideMigration({ ...w.observe(), alb: { ok: true, changed: true, observed } });
    assert.equal(out.status.target?.appliedWeight, 1);
    assert.ok(out.status.bakeStartedAt, 'the ALB holds 1 %: the bake starts');
    out = decideMigration({ ...w.observe(), alb: { ok: false, permanent: false, code: 'Throttling', message: 'Rate exceeded' } });
    assert.equal(out.status.phase, 'Progressing');
    assert.equal(out.status.lastError?.code, 'Throttling');
    assert.ok((out.requeueAfterMs ?? 0) > 0, 'retried on a later pass');
    out = decideMigration({ ...w.observe(), alb: { ok: false, permanent: true, code: 'AccessDenied', message: 'not authorized to perform elasticloadbalancing:ModifyRule' } });
    assert.equal(out.status.phase, 'Paused');
    assert.match(out.status.holdReason ?? '', /AccessDenied/);
    assert.equal(out.events.find((e) => e.reason === 'TargetError')?.type, 'Warning');
    out = decideMigration({ ...w.observe(), alb: { ok: true, changed: false, observed, drift: 'fleet weight 40 (Drover wrote 1)' } });
    assert.ok(out.events.some((e) => e.reason === 'DriftDetected'));
  });
});

// ---- the model ------------------------------------------------------------------------------------

type Cmd = { kind: 'tick'; ms: number } | { kind: 'sync' } | { kind: 'gates'; outcome: GateVerdict['outcome'] } | { kind: 'pause' } | { kind: 'resume' } | { kind: 'promote' } | { kind: 'abort' } | { kind: 'restart' } | { kind: 'release'; on: boolean };

const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 15_000 }) }),
  fc.constant({ kind: 'sync' as const }),
  fc.record({ kind: fc.constant('gates' as const), outcome: fc.constantFrom('pass' as const, 'pass' as const, 'fail' as const, 'inconclusive' as const) }),
  fc.constant({ kind: 'pause' as const }),
  fc.constant({ kind: 'resume' as const }),
  fc.constant({ kind: 'promote' as const }),
  fc.constant({ kind: 'abort' as const }),
  fc.constant({ kind: 'restart' as const }),
  fc.record({ kind: fc.constant('release' as const), on: fc.boolean() }),
);

const FINISHED = new Set(['Succeeded', 'RolledBack', 'Aborted']);

describe('decideMigration (model)', () => {
  for (const mode of ['percent', 'tenants'] as const) {
    it(`${mode} mode: forward only, rollback/abort to 0 in one decision, terminal ends, restarts move nobody twice`, () => {
      fc.assert(
        fc.property(fc.array(cmdArb, { maxLength: 60 }), (cmds) => {
          const w = new World(migration({ mode, steps: [5, 25, 60, 100] }));
          const everOnFleet = new Set<string>();
          let prev = w.m.status;
          for (const c of cmds) {
            switch (c.kind) {
              case 'tick':
                w.now += c.ms;
                break;
              case 'sync':
                w.syncPlan();
                break;
              case 'gates':
                w.gates = c.outcome;
                break;
              case 'pause':
                w.set({ paused: true });
                break;
              case 'resume':
                w.set({ paused: false, action: 'resume' });
                break;
              case 'promote':
                w.set({ action: 'promote' });
                break;
              case 'abort':
                w.set({ action: 'abort' });
                break;
              case 'release':
                w.releases = c.on ? ['web-v2'] : [];
                break;
              case 'restart': {
                // A new control plane reads the stored status and decides again: same clock, same world.
                const a = decideMigration(w.observe(verdict(w.gates)));
                const b = decideMigration(w.observe(verdict(w.gates)));
                assert.deepEqual(a.status, b.status, 'a decision depends on the stored state only');
                break;
              }
            }
            const before = w.m.status;
            const out = w.pass();
            const st = out.status;
            // Terminal phases never change.
            if (before && FINISHED.has(before.phase)) {
              assert.equal(st.phase, before.phase);
              assert.equal(st.weight, before.weight);
              continue;
            }
            if (st.phase === 'RolledBack' || st.phase === 'Aborted') {
              assert.equal(st.weight, 0, `${st.phase}: everyone on legacy`);
              assert.ok((st.tenants ?? []).every((t) => t.weight === 0));
            } else {
              assert.ok(st.weight >= (prev?.weight ?? 0), `forward only: ${prev?.weight} → ${st.weight}`);
              if (st.phase === 'Succeeded') assert.equal(st.weight, 100);
              if (mode === 'percent' && st.phase !== 'Pending' && st.phase !== 'Succeeded') assert.equal(st.weight, w.m.spec.steps[st.step]);
              for (const t of st.tenants ?? []) {
                if (t.weight >= 100) everOnFleet.add(t.name);
                // No tenant goes back from the fleet without a rollback.
                else assert.ok(!everOnFleet.has(t.name) || mode === 'percent', `${t.name} went back to legacy`);
              }
              // A step only passes with a passing gate, a promote, or at the end.
              if (prev && st.step > prev.step) assert.ok(out.events.some((e) => e.reason === 'StepPassed' || e.reason === 'Promoted'), 'a step passed without gates or promote');
            }
            prev = st;
          }
        }),
        { numRuns: 300 },
      );
    });
  }
});
