/**
 * The migration controller in the real Manager on a MemoryStore, with the traffic controller that compiles
 * its weight into the fleet's plan: edge mode (each step reaches the plan; a failed gate is one plan
 * update to 0; a control plane restarted mid-step resumes the same step), and ALB mode through an
 * injected sync function (fake ALB adapter) and the real adapter on a mocked ALB (mocked AWS): the weights written per step, a permanent AWS error pausing
 * the migration with an Event, resume after the fix.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Migration } from '../../../src/api/kinds/migration.js';
import { syncAlbForwardWeights, type AlbForwardTarget, type AlbSyncResult } from '../../../src/cloud/alb/forward-weights.js';
import { FakeAlb, FLEET_TG, LEGACY_TG, RULE as ALB_RULE } from '../../unit/alb/fake-alb.js';
import { migrationController } from '../../../src/controllers/migration-controller.js';
import { trafficController } from '../../../src/controllers/traffic-controller.js';
import type { GateVerdict } from '../../../src/release/gates/types.js';
import { silentLogger } from '../../../src/runtime/logger.js';
import { Manager } from '../../../src/runtime/manager.js';
import { MemoryStore } from '../../../src/store/memory/memory-store.js';
import { fleet, tenant } from '../../helpers/fixtures.js';
import { waitFor } from '../../helpers/wait-for.js';

const TG = (n: string) => `arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/${n}/73e2d6bc24d8a067`;
const RULE = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener-rule/app/lb/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee';

function mig(spec: Record<string, unknown>): Migration {
  return Migration.parse({
    apiVersion: 'drover.dev/v1alpha1',
    kind: 'Migration',
    metadata: { name: 'mig' },
    spec: { fleet: 'web', legacy: { endpoints: [{ url: 'http://127.0.0.1:9' }] }, tenants: { names: ['shop'] }, steps: [10, 50, 100], bake: 150, ...spec },
  });
}

const pass: GateVerdict = { outcome: 'pass', results: [], reason: 'ok' };

async function world(gates: () => GateVerdict, albSync?: (t: AlbForwardTarget, w: number, last: number | undefined) => Promise<AlbSyncResult>) {
  const store = new MemoryStore();
  await store.create(fleet('web'));
  const t = await store.create(tenant('shop', { users: 10 }));
  await store.updateStatus({ ...t, status: { prods: ['web-1'], domains: [], conditions: [] } });
  const start = () => {
    const m = new Manager({ store, logger: silentLogger, reconcilers: [trafficController(), migrationController({ gates: async () => gates(), ...(albSync ? { albSync } : {}) })] });
    m.start();
    return m;
  };
  return { store, start };
}

describe('migration controller (Manager, MemoryStore)', () => {
  it('edge: each step reaches the traffic plan; a failed gate is one plan update to 0 %', async () => {
    let verdict = pass;
    const w = await world(() => verdict);
    const manager = w.start();
    try {
      await w.store.create(mig({}));
      const planAt = async (p: number) => ((await w.store.get('TrafficPlan', 'web'))?.spec.legacy?.[0]?.fleetPercent === p ? (await w.store.get('TrafficPlan', 'web'))! : undefined);
      await waitFor('the plan at 10 %', () => planAt(10), { timeoutMs: 5_000 });
      const at50 = await waitFor('the plan at 50 %', () => planAt(50), { timeoutMs: 5_000 });
      verdict = { outcome: 'fail', results: [], reason: 'errorRate: error rate 50.00% > 1.00%' };
      const rolled = await waitFor('rolled back', async () => ((await w.store.get('Migration', 'mig'))?.status?.phase === 'RolledBack' ? (await w.store.get('Migration', 'mig'))! : undefined), { timeoutMs: 5_000 });
      assert.equal(rolled.status?.weight, 0);
      const plan = await waitFor('the plan at 0 %', () => planAt(0), { timeoutMs: 5_000 });
      assert.equal(plan.spec.revision, at50.spec.revision + 1, 'from 50 % to 0 % in one plan update');
      const events = (await w.store.list('Event')).items.map((e) => (e.spec as { reason: string }).reason);
      assert.ok(events.includes('GateFailed'));
    } finally {
      await manager.stop();
    }
  });

  it('a control plane restarted mid-step resumes the same step without moving anyone twice', async () => {
    let gateRuns = 0;
    const w = await world(() => {
      gateRuns++;
      return pass;
    });
    let manager = w.start();
    await w.store.create(mig({ bake: '2s' }));
    const before = await waitFor('step 1 baking', async () => {
      const m = await w.store.get('Migration', 'mig');
      return m?.status?.bakeStartedAt !== undefined ? m : undefined;
    }, { timeoutMs: 5_000 });
    await manager.stop();
    manager = w.start();
    try {
      const next = await waitFor('step 2', async () => {
        const m = await w.store.get('Migration', 'mig');
        return m?.status?.step === 1 ? m : undefined;
      }, { timeoutMs: 10_000 });
      assert.equal(next.status?.decisions.filter((d) => d.action === 'Started').length, 1, 'started once');
      assert.equal(next.status?.decisions.filter((d) => d.action === 'StepStarted').length, 2, 'step 1 entered once, then step 2');
      assert.equal(next.status?.stepStartedAt !== before.status?.stepStartedAt, true);
      assert.ok(Date.parse(next.status.decisions.find((d) => d.action === 'StepPassed')!.time) - Date.parse(before.status!.bakeStartedAt!) >= 2_000, 'the bake that began before the restart was not cut short');
      assert.equal(gateRuns, 1, 'the gates ran once for step 1');
    } finally {
      await manager.stop();
    }
  });

  it('ALB (fake ALB adapter): writes the weight of each step, pauses on a permanent error with an Event, resumes after the fix', async () => {
    const calls: number[] = [];
    let denied = false;
    const sync = async (t: AlbForwardTarget, weight: number): Promise<AlbSyncResult> => {
      assert.equal(t.ruleArn, RULE);
      assert.equal(t.fleetTargetGroupArn, TG('fleet'));
      if (denied) return { ok: false, permanent: true, code: 'AccessDenied', message: 'User is not authorized to perform: elasticloadbalancing:ModifyRule' };
      if (calls.at(-1) !== weight) calls.push(weight);
      return { ok: true, changed: true, observed: { legacyWeight: 100 - weight, fleetWeight: weight, stickinessSeconds: t.stickinessSeconds ?? 0 } };
    };
    const w = await world(() => pass, sync);
    const manager = w.start();
    try {
      await w.store.create(mig({ target: { type: 'alb', ruleArn: RULE, legacyTargetGroupArn: TG('legacy'), fleetTargetGroupArn: TG('fleet') }, bake: '300ms' }));
      await waitFor('at 50 % on the ALB', async () => ((await w.store.get('Migration', 'mig'))?.status?.target?.appliedWeight === 50 ? true : undefined), { timeoutMs: 5_000 });
      denied = true;
      const paused = await waitFor('paused by AccessDenied', async () => {
        const m = await w.store.get('Migration', 'mig');
        return m?.status?.phase === 'Paused' ? m : undefined;
      }, { timeoutMs: 5_000 });
      assert.equal(paused.status?.lastError?.code, 'AccessDenied');
      assert.ok((await w.store.list('Event')).items.some((e) => (e.spec as { reason: string; type: string }).reason === 'TargetError' && (e.spec as { type: string }).type === 'Warning'));
      denied = false;
      const cur = (await w.store.get('Migration', 'mig'))!;
      await w.store.update({ ...cur, spec: { ...cur.spec, action: 'resume' } });
      await waitFor('succeeded', async () => ((await w.store.get('Migration', 'mig'))?.status?.phase === 'Succeeded' ? true : undefined), { timeoutMs: 5_000 });
      assert.deepEqual(calls, [10, 50, 100], 'one weight per step, in order');
      assert.equal((await w.store.get('TrafficPlan', 'web'))?.spec.legacy, undefined, 'an ALB migration puts nothing in the edge plan');
    } finally {
      await manager.stop();
    }
  });

  it('ALB (mocked AWS, the real adapter): each step ends with the rule forwarding the step\'s share, sticky; an idle pass writes nothing', async () => {
    const alb = new FakeAlb();
    const retry = { attempts: 3, baseMs: 1, capMs: 2, sleep: async () => {} };
    const sync = (t: AlbForwardTarget, weight: number, last: number | undefined) => syncAlbForwardWeights(t, weight, last, { client: alb.client, retry });
    const w = await world(() => pass, sync);
    const manager = w.start();
    try {
      await w.store.create(mig({ target: { type: 'alb', ruleArn: ALB_RULE, legacyTargetGroupArn: LEGACY_TG, fleetTargetGroupArn: FLEET_TG }, bake: '200ms' }));
      await waitFor('succeeded', async () => ((await w.store.get('Migration', 'mig'))?.status?.phase === 'Succeeded' ? true : undefined), { timeoutMs: 10_000 });
      const forward = alb.rules.get(ALB_RULE)?.Actions?.find((a) => a.Type === 'forward')?.ForwardConfig;
      const weightOf = (arn: string) => forward?.TargetGroups?.find((g) => g.TargetGroupArn === arn)?.Weight;
      assert.equal(weightOf(FLEET_TG), 100);
      assert.equal(weightOf(LEGACY_TG), 0, 'the legacy group stays listed at 0: a rollback is one weight change');
      assert.equal(forward?.TargetGroupStickinessConfig?.Enabled, true);
      const writes = alb.mock.calls().filter((c) => (c.args[0] as { constructor: { name: string } }).constructor.name === 'ModifyRuleCommand').length;
      assert.equal(writes, 3, 'one ModifyRule per step (10, 50, 100)');
    } finally {
      await manager.stop();
    }
  });
});
