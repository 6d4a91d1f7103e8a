/** decideRelease as a pure function: one test per rule, no store, no clock but the one passed in. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Fleet } from '../../../src/api/kinds/fleet.js';
import type { Prod } from '../../../src/api/kinds/prod.js';
import { Release, type ReleaseStatus } from '../../../src/api/kinds/release.js';
import type { TrafficPlan } from '../../../src/api/kinds/traffic-plan.js';
import { API_VERSION } from '../../../src/api/meta.js';
import { decideRelease, type ReleaseObservation } from '../../../src/controllers/release-decide.js';
import { prod, talkFleet } from '../../helpers/fixtures.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

const fleet: Fleet = {
  apiVersion: API_VERSION,
  kind: 'Fleet',
  metadata: { name: 'shop', labels: {}, annotations: {}, finalizers: [], ownerReferences: [], uid: 'f1' },
  spec: { prods: 6, testProds: 1, version: 'v1', app: { command: 'node', args: [], env: {}, port: 8080, healthPath: '/healthz', replicas: 1 }, placement: { spreadBy: 'domain', avoidProviders: [] }, warmup: { requests: 3 } },
};

function release(spec: Record<string, unknown> = {}, status?: Partial<ReleaseStatus>): Release {
  return Release.parse({
    apiVersion: API_VERSION,
    kind: 'Release',
    metadata: { name: 'shop-v2', uid: 'r1', generation: 1 },
    spec: { fleet: 'shop', version: 'v2', bake: '30s', ...spec },
    ...(status ? { status } : {}),
  });
}

const ready = (p: Prod, version = p.spec.version, endpoint?: string): Prod => ({
  ...p,
  metadata: { ...p.metadata, generation: 1, creationTimestamp: iso(T0 - 60_000) },
  status: { conditions: [], restarts: 0, warmupPassed: 3, phase: 'Ready', version, readySince: iso(T0 - 30_000), observedGeneration: 1, ...(endpoint ? { endpoint } : {}) },
});

function observe(rel: Release, over: Partial<ReleaseObservation> = {}): ReleaseObservation {
  const { prods, tenants } = talkFleet();
  return { release: rel, fleet, prods: prods.map((p) => ready(p)), tenants, otherActive: [], plans: [], nowMs: T0, progressDeadlineMs: 600_000, pollMs: 250, ...over };
}

/** A release whose wave 0 (the test Prod c-2) has successor `c-2-v2` in the given state. */
function atWave0(state: 'Updating' | 'Baking', extra: Record<string, unknown> = {}, spec: Record<string, unknown> = {}): Release {
  return release(spec, {
    phase: 'Progressing',
    fromVersion: 'v1',
    currentWave: 0,
    waves: [
      { index: 0, riskClass: 'test', prods: ['c-2'], replacements: ['c-2-v2'], users: 5, state, startedAt: iso(T0 - 40_000), ...extra },
      { index: 1, riskClass: 'fewUsers', prods: ['c-1'], replacements: [], users: 30, state: 'Pending' },
    ],
    decisions: [],
  });
}
const successor = (endpoint?: string): Prod => ready({ ...prod('c-2-v2', { fleet: 'shop', cluster: 'c', role: 'test', version: 'v2' }), spec: { ...prod('c-2-v2', { fleet: 'shop', cluster: 'c' }).spec, role: 'test', version: 'v2', replaces: 'c-2', takeover: true } }, 'v2', endpoint);
const withSuccessor = (rel: Release, endpoint?: string, over: Partial<ReleaseObservation> = {}) => {
  const o = observe(rel, over);
  return { ...o, prods: [...o.prods, successor(endpoint)] };
};

describe('decideRelease', () => {
  it('plans waves in risk order from the live Prods and records fromVersion', () => {
    const out = decideRelease(observe(release({ maxParallel: 2 })));
    assert.equal(out.status.phase, 'Progressing');
    assert.equal(out.status.fromVersion, 'v1');
    assert.deepEqual(out.status.waves.map((w) => w.prods), [['c-2'], ['c-1'], ['b-1', 'a-2'], ['a-1', 'b-2']]);
    assert.deepEqual(out.decisions.map((d) => d.action), ['Planned']);
    assert.deepEqual(out.writes, []);
  });

  it('waits while another release of the fleet is active', () => {
    const out = decideRelease(observe(release(), { otherActive: ['shop-v1b'] }));
    assert.equal(out.status.waves.length, 0);
    assert.equal(out.requeueAfterMs, 5000);
    assert.match(out.status.message ?? '', /shop-v1b/);
  });

  it('starts a wave by creating one successor per Prod: new version, release env, same cluster and role', () => {
    const planned = decideRelease(observe(release({ env: { FLAG: 'on' } })));
    const out = decideRelease(observe(release({ env: { FLAG: 'on' } }, planned.status)));
    const created = out.writes.flatMap((w) => (w.write === 'createSuccessor' ? [w.prod] : []));
    assert.equal(created.length, 1);
    assert.deepEqual([created[0]?.spec.replaces, created[0]?.spec.version, created[0]?.spec.cluster, created[0]?.spec.role, created[0]?.spec.env.FLAG], ['c-2', 'v2', 'c', 'test', 'on']);
    assert.equal(out.status.waves[0]?.state, 'Updating');
    assert.deepEqual(out.status.waves[0]?.replacements, [created[0]?.metadata.name]);
  });

  it('swaps only when every successor is observably serving the new version', () => {
    const stale = { ...successor(), status: { ...successor().status!, version: 'v1' } };
    const o = observe(atWave0('Updating'));
    const waiting = decideRelease({ ...o, prods: [...o.prods, stale] });
    assert.equal(waiting.status.waves[0]?.state, 'Updating');
    assert.deepEqual(waiting.writes, []);
    const swapped = decideRelease(withSuccessor(atWave0('Updating')));
    assert.deepEqual(swapped.writes, [{ write: 'takeover', prod: 'c-2-v2' }]);
    assert.equal(swapped.status.waves[0]?.state, 'Baking');
  });

  it('fails the wave when a successor fails (rolled back with autoRollback)', () => {
    const o = observe(atWave0('Updating'));
    const failed = { ...successor(), status: { ...successor().status!, phase: 'Failed' as const, message: 'exit 1' } };
    const out = decideRelease({ ...o, prods: [...o.prods, failed] });
    assert.equal(out.status.phase, 'RolledBack');
    assert.deepEqual(out.writes, [{ write: 'revert', prod: 'c-2-v2' }]);
  });

  it('starts the bake clock only once every traffic plan routes to the successors', () => {
    const plan = (active: boolean) => ({ spec: { fleet: 'shop', endpoints: active ? [{ prod: 'c-2-v2', state: 'active' }] : [] } }) as unknown as TrafficPlan;
    const not = decideRelease(withSuccessor(atWave0('Baking'), undefined, { plans: [plan(false)] }));
    assert.equal(not.status.waves[0]?.bakeStartedAt, undefined);
    const yes = decideRelease(withSuccessor(atWave0('Baking'), undefined, { plans: [plan(true)] }));
    assert.equal(yes.status.waves[0]?.bakeStartedAt, iso(T0));
  });

  it('asks for the gates after the bake, over the bake window, with the known-good Prods as baseline', () => {
    const baking = atWave0('Baking', { bakeStartedAt: iso(T0 - 30_000) });
    const early = decideRelease({ ...withSuccessor(baking), nowMs: T0 - 10_000 });
    assert.equal(early.runGates, undefined);
    assert.equal(early.requeueAfterMs, 5000);
    const due = decideRelease(withSuccessor(baking));
    assert.deepEqual(due.runGates, { wave: ['c-2-v2'], baseline: ['a-1', 'a-2', 'b-1', 'b-2', 'c-1'], windowMs: 30_000 });
    assert.deepEqual(due.writes, [], 'no writes before the verdict');
  });

  it('gate verdicts: pass retires the predecessors, fail rolls back, inconclusive pauses', () => {
    const baking = atWave0('Baking', { bakeStartedAt: iso(T0 - 30_000) });
    const pass = decideRelease({ ...withSuccessor(baking), verdict: { outcome: 'pass', results: [], reason: 'ok' } });
    assert.deepEqual(pass.writes, [{ write: 'retire', prod: 'c-2' }]);
    assert.equal(pass.status.waves[0]?.state, 'Passed');
    assert.equal(pass.status.currentWave, 1);
    const fail = decideRelease({ ...withSuccessor(baking), verdict: { outcome: 'fail', results: [], reason: 'errorRate 50%' } });
    assert.deepEqual(fail.writes, [{ write: 'revert', prod: 'c-2-v2' }]);
    assert.deepEqual(fail.decisions.map((d) => d.action), ['GatesFailed', 'RolledBack']);
    const noRollback = decideRelease({ ...withSuccessor(atWave0('Baking', { bakeStartedAt: iso(T0 - 30_000) }, { autoRollback: false })), verdict: { outcome: 'fail', results: [], reason: 'x' } });
    assert.equal(noRollback.status.phase, 'Failed');
    assert.deepEqual(noRollback.writes, []);
    const inc = decideRelease({ ...withSuccessor(baking), verdict: { outcome: 'inconclusive', results: [], reason: 'only 3 requests' } });
    assert.equal(inc.status.phase, 'Paused');
    assert.deepEqual(inc.writes, [{ write: 'pause' }]);
  });

  it('the last wave passing moves the Fleet to the new version and succeeds', () => {
    const rel = atWave0('Baking', { bakeStartedAt: iso(T0 - 30_000) });
    rel.status!.waves.splice(1);
    const out = decideRelease({ ...withSuccessor(rel), verdict: { outcome: 'pass', results: [], reason: 'ok' } });
    assert.equal(out.status.phase, 'Succeeded');
    assert.deepEqual(out.writes, [{ write: 'retire', prod: 'c-2' }, { write: 'fleetVersion', fleet: 'shop', version: 'v2' }]);
  });

  it('probes a baking wave: its successors with an endpoint, with a tenant\'s Host, at a rate from the bake', () => {
    const baking = atWave0('Baking', { bakeStartedAt: iso(T0 - 5_000) });
    const out = decideRelease(withSuccessor(baking, 'http://127.0.0.1:9'));
    assert.deepEqual(out.probes?.targets, [{ prod: 'c-2-v2', url: 'http://127.0.0.1:9', headers: { host: 'qa.example.com' } }]);
    assert.equal(out.probes?.ratePerProd, 2, '2×20 requests in a 30 s bake');
    const off = decideRelease(withSuccessor(atWave0('Baking', { bakeStartedAt: iso(T0 - 5_000) }, { probes: { enabled: false } }), 'http://127.0.0.1:9'));
    assert.equal(off.probes, undefined);
    const paused = decideRelease(withSuccessor(atWave0('Baking', { bakeStartedAt: iso(T0 - 5_000) }, { paused: true }), 'http://127.0.0.1:9'));
    assert.equal(paused.probes, undefined, 'no probes while paused');
  });

  it('runs the gates only once the probes have covered a whole bake (a restart mid-bake bakes on)', () => {
    const baking = atWave0('Baking', { bakeStartedAt: iso(T0 - 30_000) });
    const restarted = decideRelease({ ...withSuccessor(baking, 'http://127.0.0.1:9'), probeCoverageMs: 2_000 });
    assert.equal(restarted.runGates, undefined);
    assert.match(restarted.status.waves[0]?.reason ?? '', /probes have run 2s of the 30s bake/);
    const covered = decideRelease({ ...withSuccessor(baking, 'http://127.0.0.1:9'), probeCoverageMs: 30_000 });
    assert.ok(covered.runGates);
  });

  it('bakes on while the probes are short of the gates\' minRequests, at most one more bake (10 s at least)', () => {
    const baking = atWave0('Baking', { bakeStartedAt: iso(T0 - 30_000) });
    const short = decideRelease({ ...withSuccessor(baking, 'http://127.0.0.1:9'), probeCoverageMs: 30_000, probeFewest: 19 });
    assert.equal(short.runGates, undefined);
    assert.match(short.status.waves[0]?.reason ?? '', /probes: 19 of the gates' 20 requests so far/);
    const enough = decideRelease({ ...withSuccessor(baking, 'http://127.0.0.1:9'), probeCoverageMs: 30_000, probeFewest: 20 });
    assert.ok(enough.runGates);
    const late = decideRelease({ ...withSuccessor(baking, 'http://127.0.0.1:9'), nowMs: T0 + 30_000, probeCoverageMs: 60_000, probeFewest: 3 });
    assert.ok(late.runGates, 'after one more bake the gates judge what there is');
  });

  it('abort and rollback undo the in-flight wave and end the release', () => {
    for (const action of ['abort', 'rollback'] as const) {
      const out = decideRelease(withSuccessor(atWave0('Baking', {}, { action })));
      assert.equal(out.status.phase, action === 'abort' ? 'Aborted' : 'RolledBack');
      assert.deepEqual(out.writes, [{ write: 'revert', prod: 'c-2-v2' }, { write: 'clearAction', unpause: false }]);
    }
  });

  it('promote passes a baking wave; promote of a wave not baking is ignored and said so', () => {
    const out = decideRelease(withSuccessor(atWave0('Baking', {}, { action: 'promote', paused: true })));
    assert.equal(out.status.waves[0]?.state, 'Passed');
    assert.deepEqual(out.writes, [{ write: 'clearAction', unpause: true }, { write: 'retire', prod: 'c-2' }]);
    const ignored = decideRelease(withSuccessor(atWave0('Updating', {}, { action: 'promote' })));
    assert.deepEqual(ignored.decisions.map((d) => d.action), ['ActionIgnored']);
  });

  it('a finished release acts on nothing but rollback of a Failed one; other actions are cleared and said ignored', () => {
    const failed = atWave0('Baking', {}, { action: 'rollback' });
    failed.status!.phase = 'Failed';
    const rb = decideRelease(withSuccessor(failed));
    assert.equal(rb.status.phase, 'RolledBack');
    assert.deepEqual(rb.writes, [{ write: 'revert', prod: 'c-2-v2' }, { write: 'clearAction', unpause: false }]);
    const done = atWave0('Baking', {}, { action: 'abort' });
    done.status!.phase = 'Succeeded';
    const ab = decideRelease(withSuccessor(done));
    assert.equal(ab.status.phase, 'Succeeded');
    assert.deepEqual(ab.writes, [{ write: 'clearAction', unpause: false }]);
    assert.deepEqual(ab.decisions.map((d) => d.action), ['ActionIgnored']);
  });

  it('the Fleet deleted after planning ends the release (Aborted, FleetDeleted); before planning it waits', () => {
    const gone = decideRelease({ ...withSuccessor(atWave0('Baking')), fleet: undefined });
    assert.equal(gone.status.phase, 'Aborted');
    assert.equal(gone.status.waves[0]?.state, 'Failed');
    assert.deepEqual(gone.decisions.map((d) => d.action), ['FleetDeleted']);
    const deleting = decideRelease({ ...withSuccessor(atWave0('Updating')), fleet: { ...fleet, metadata: { ...fleet.metadata, deletionTimestamp: iso(T0) } } });
    assert.equal(deleting.status.phase, 'Aborted');
    const early = decideRelease({ ...observe(release()), fleet: undefined });
    assert.equal(early.status.phase, 'Pending');
    assert.equal(early.requeueAfterMs, 5000);
  });

  it('pause holds the release; resume makes a baking wave bake again', () => {
    const paused = decideRelease(withSuccessor(atWave0('Baking', { bakeStartedAt: iso(T0 - 30_000) }, { paused: true })));
    assert.equal(paused.status.phase, 'Paused');
    assert.equal(paused.runGates, undefined);
    const resumed = decideRelease({ ...withSuccessor(release({}, paused.status)), nowMs: T0 + 1000 });
    assert.equal(resumed.status.phase, 'Progressing');
    assert.equal(resumed.status.waves[0]?.bakeStartedAt, iso(T0 + 1000));
  });
});
