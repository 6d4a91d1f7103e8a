import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Cluster } from '../../../src/api/kinds/cluster.js';
import type { Fleet } from '../../../src/api/kinds/fleet.js';
import type { Prod } from '../../../src/api/kinds/prod.js';
import { LABEL_RELEASE, LABEL_REPLACE } from '../../../src/api/labels.js';
import { prodTemplate } from '../../../src/api/template.js';
import { evacuationBlockedAnnotation, planFleet, retireRequestedAtAnnotation, type FleetAction, type FleetObservation } from '../../../src/controllers/fleet-plan.js';
import { cluster, fleet } from '../../helpers/fixtures.js';

const T = Date.UTC(2026, 0, 1);
const ready = (c: Cluster): Cluster => ({ ...c, status: { phase: 'Ready', prods: 0, conditions: [] } });
const clusters = [ready(cluster('a', { spec: { domain: 'a' } })), ready(cluster('b', { spec: { domain: 'b' } }))];
const web: Fleet = { ...fleet('web', { prods: 2 }), metadata: { ...fleet('web').metadata, uid: 'uid-1' } };

function prod(name: string, spec: Partial<Prod['spec']> = {}, phase: NonNullable<Prod['status']>['phase'] = 'Ready', annotations: Record<string, string> = {}): Prod {
  return {
    apiVersion: 'drover.dev/v1alpha1',
    kind: 'Prod',
    metadata: { name, labels: {}, annotations, finalizers: [], ownerReferences: [{ apiVersion: 'drover.dev/v1alpha1', kind: 'Fleet', name: 'web', uid: 'uid-1' }] },
    // On the template the fleet asks for at its version (Prods carry their template revision).
    spec: { fleet: 'web', cluster: 'a', version: 'v1', role: 'normal', retire: false, env: {}, takeover: false, template: prodTemplate(web.spec.app, spec.version ?? 'v1'), ...spec },
    status: { phase, restarts: 0, warmupPassed: 0, conditions: [] },
  };
}

function plan(prods: Prod[], extra: Partial<FleetObservation> = {}) {
  return planFleet({ fleetName: 'web', fleet: web, clusters, prods, releaseActive: false, nowMs: T, retireTimeoutMs: 60_000, ...extra });
}

/** A release's successor (the release controller's, left alone by the fleet controller). */
const released = (p: Prod): Prod => ({ ...p, metadata: { ...p.metadata, labels: { ...p.metadata.labels, [LABEL_RELEASE]: 'r1' } } });

const brief = (as: FleetAction[]) =>
  as.map((a) => (a.action === 'create' ? `create ${a.role} on ${a.cluster}${a.replaces ? ` replacing ${a.replaces}` : ''}` : `${a.action} ${a.prod.metadata.name}${'reason' in a ? ` ${a.reason}` : ''}`));

describe('planFleet', () => {
  it('does nothing when the fleet is as desired', () => {
    const p = plan([prod('web-1'), prod('web-2', { cluster: 'b' })]);
    assert.deepEqual(p.actions, []);
    assert.equal(p.status?.readyProds, 2);
  });

  it('does not count a successor while its predecessor is live, and counts it once the predecessor retires', () => {
    const during = plan([prod('web-1'), prod('web-2', { cluster: 'b' }), released(prod('web-3', { replaces: 'web-1', version: 'v1' }, 'Provisioning'))], { releaseActive: true });
    assert.deepEqual(brief(during.actions), []);
    assert.equal(during.status?.prods, 2);
    const afterTakeover = plan(
      [prod('web-1', { retire: true }, 'Draining', { [retireRequestedAtAnnotation]: new Date(T).toISOString() }), prod('web-2', { cluster: 'b' }), released(prod('web-3', { replaces: 'web-1', takeover: true }))],
      { releaseActive: true },
    );
    assert.deepEqual(brief(afterTakeover.actions), []);
    assert.equal(afterTakeover.status?.prods, 2);
    assert.equal(afterTakeover.recheckInMs, 60_001, 'looks again when the retire times out');
  });

  it('withdraws its own successor when a Release starts (takeover off and retired in one write); release and replace successors stay', () => {
    // Seen in the release journey: a spread-back successor frozen beside its predecessor for a whole
    // release held the slot the release's last wave needed, and that wave waited for room for ever.
    const mine = prod('web-3', { replaces: 'web-1', takeover: true });
    const p = plan([prod('web-1'), prod('web-2', { cluster: 'b' }), mine, released(prod('web-4', { replaces: 'web-2', cluster: 'b' }, 'WarmingUp'))], { releaseActive: true });
    assert.deepEqual(brief(p.actions), ['retire web-3 ReleaseStarted']);
    assert.equal(p.actions[0]?.action === 'retire' && p.actions[0].takeoverOff, true, 'its tenants go back to web-1 in the same write');
    const replacing: Prod = { ...mine, metadata: { ...mine.metadata, labels: { [LABEL_REPLACE]: 'old-cluster' } } };
    assert.deepEqual(brief(plan([prod('web-1'), prod('web-2', { cluster: 'b' }), replacing], { releaseActive: true }).actions), []);
    assert.deepEqual(brief(plan([prod('web-1'), prod('web-2', { cluster: 'b' }), mine]).actions), ['retire web-1 Replaced'], 'without a Release it finishes the swap');
  });

  it('rolls a version: successor on the same cluster, takeover when Ready, then retires the predecessor only', () => {
    const v2: Fleet = { ...web, spec: { ...web.spec, version: 'v2' } };
    const start = plan([prod('web-1'), prod('web-2', { cluster: 'b' })], { fleet: v2 });
    assert.deepEqual(brief(start.actions), ['create normal on a replacing web-1']);
    const warming = plan([prod('web-1'), prod('web-2', { cluster: 'b' }), prod('web-3', { replaces: 'web-1', version: 'v2' }, 'WarmingUp')], { fleet: v2 });
    assert.deepEqual(brief(warming.actions), []);
    const ready = plan([prod('web-1'), prod('web-2', { cluster: 'b' }), prod('web-3', { replaces: 'web-1', version: 'v2' })], { fleet: v2 });
    assert.deepEqual(brief(ready.actions), ['takeover web-3']);
    const took = plan([prod('web-1'), prod('web-2', { cluster: 'b' }), prod('web-3', { replaces: 'web-1', version: 'v2', takeover: true })], { fleet: v2 });
    assert.deepEqual(brief(took.actions), ['retire web-1 Replaced'], 'no extra Prod while the successor is promoted');
  });

  it('deletes a retiring Prod once Retired, or when its retire times out', () => {
    const late = new Date(T - 61_000).toISOString();
    const p = plan([
      prod('web-1', { retire: true }, 'Retired'),
      prod('web-2', { retire: true }, 'Draining', { [retireRequestedAtAnnotation]: late }),
      prod('web-3'),
      prod('web-4', { cluster: 'b' }),
    ]);
    assert.deepEqual(brief(p.actions), ['delete web-1 Retired', 'delete web-2 RetireTimeout']);
  });

  it('retires the Prods of an earlier Fleet of the same name', () => {
    const old = prod('web-0');
    old.metadata.ownerReferences = [{ apiVersion: 'drover.dev/v1alpha1', kind: 'Fleet', name: 'web', uid: 'uid-0' }];
    const p = plan([old, prod('web-1'), prod('web-2', { cluster: 'b' })]);
    assert.deepEqual(brief(p.actions), ['retire web-0 Orphaned']);
  });

  it('replaces a Prod whose cluster is gone (deleted, or being deleted) on another cluster in the same pass', () => {
    const gone = plan([prod('web-1', { cluster: 'zzz' }), prod('web-2', { cluster: 'b' })]);
    assert.deepEqual(brief(gone.actions), ['retire web-1 ClusterLost', 'delete web-1 ClusterLost', 'create normal on a']);
    const deleting: Cluster = { ...ready(cluster('c', { spec: { domain: 'c' } })), metadata: { ...cluster('c').metadata, deletionTimestamp: new Date(T).toISOString() } };
    const p = plan([prod('web-1', { cluster: 'c' }), prod('web-2', { cluster: 'b' })], { clusters: [...clusters, deleting] });
    assert.deepEqual(brief(p.actions), ['retire web-1 ClusterLost', 'delete web-1 ClusterLost', 'create normal on a']);
  });

  describe('unreachable is not gone (rule 2)', () => {
    const notReadySince = (name: string, sinceMs: number, spec: Record<string, unknown> = {}): Cluster => ({
      ...cluster(name, { spec: { domain: name, ...spec } }),
      status: { phase: 'NotReady', prods: 1, conditions: [{ type: 'Ready', status: 'False', reason: 'HeartbeatMissed', message: '', lastTransitionTime: new Date(sinceMs).toISOString() }] },
    });
    const three = (c: Cluster) => [...clusters, c];

    it('keeps a Prod of a NotReady cluster (counted, nothing built in its stead) until the eviction timeout', () => {
      const p = plan([prod('web-1', { cluster: 'c' }), prod('web-2', { cluster: 'b' })], { clusters: three(notReadySince('c', T - 60_000)) });
      assert.deepEqual(brief(p.actions), []);
      assert.deepEqual(p.unknown, ['web-1']);
      assert.equal(p.recheckInMs, 240_001, 'looks again when the 5-minute default timeout passes');
      assert.equal(p.status?.prods, 2);
    });

    it('evicts after the timeout: the cluster\'s own, or the default', () => {
      const prods = [prod('web-1', { cluster: 'c' }), prod('web-2', { cluster: 'b' })];
      const own = plan(prods, { clusters: three(notReadySince('c', T - 10_000, { evictionTimeoutMs: 10_000 })) });
      assert.deepEqual(brief(own.actions), ['retire web-1 EvictionTimeout', 'delete web-1 Evicted', 'create normal on a']);
      const byDefault = plan(prods, { clusters: three(notReadySince('c', T - 300_000)) });
      assert.deepEqual(brief(byDefault.actions), ['retire web-1 EvictionTimeout', 'delete web-1 Evicted', 'create normal on a']);
      const shorter = plan(prods, { clusters: three(notReadySince('c', T - 30_000)), eviction: { timeoutMs: 30_000, budget: Infinity } });
      assert.deepEqual(brief(shorter.actions).slice(0, 2), ['retire web-1 EvictionTimeout', 'delete web-1 Evicted'], 'the controller-wide default');
    });

    it('evicts at once on positive evidence: the agent reported the Prod Failed', () => {
      const p = plan([prod('web-1', { cluster: 'c' }, 'Failed'), prod('web-2', { cluster: 'b' })], { clusters: three(notReadySince('c', T - 1000)) });
      assert.deepEqual(brief(p.actions), ['retire web-1 WorkloadFailed', 'delete web-1 Evicted', 'create normal on a']);
    });

    it('holds every eviction in a large disruption (more than half the clusters NotReady), with a reason', () => {
      const down = [ready(cluster('a', { spec: { domain: 'a' } })), notReadySince('b', T - 600_000), notReadySince('c', T - 600_000)];
      const p = plan([prod('web-1', { cluster: 'b' }), prod('web-2', { cluster: 'c' }), prod('web-3')], { clusters: down, fleet: { ...web, spec: { ...web.spec, prods: 3 } } });
      assert.deepEqual(brief(p.actions), []);
      assert.equal(p.evictionHeld?.reason, 'LargeDisruption');
      assert.deepEqual(p.evictionHeld?.prods, ['web-1', 'web-2']);
      assert.match(p.evictionHeld?.message ?? '', /2 of 3 clusters/);
    });

    it('rate-limits evictions: the budget first (oldest evictable first), the rest held with a recheck', () => {
      const c = notReadySince('c', T - 600_000);
      const d = { ...notReadySince('d', T - 700_000) };
      const four = [...clusters, c, d, ready(cluster('e', { spec: { domain: 'e' } }))];
      const prods = [prod('web-1', { cluster: 'c' }), prod('web-2', { cluster: 'd' }), prod('web-3', { cluster: 'b' })];
      const p = plan(prods, { clusters: four, fleet: { ...web, spec: { ...web.spec, prods: 3 } }, eviction: { timeoutMs: 300_000, budget: 1, budgetRefillInMs: 30_000 } });
      assert.deepEqual(brief(p.actions).slice(0, 2), ['retire web-2 EvictionTimeout', 'delete web-2 Evicted']);
      assert.equal(brief(p.actions).filter((a) => a.startsWith('create')).length, 1, 'one replacement, for the evicted Prod only');
      assert.equal(p.evictionHeld?.reason, 'RateLimited');
      assert.deepEqual(p.evictionHeld?.prods, ['web-1']);
      assert.equal(p.recheckInMs, 30_000);
      const none = plan(prods, { clusters: four, fleet: { ...web, spec: { ...web.spec, prods: 3 } }, eviction: { timeoutMs: 300_000, budget: 0, budgetRefillInMs: 30_000 } });
      assert.deepEqual(brief(none.actions), []);
    });

    it('holds evictions while the controller says so (its startup grace)', () => {
      const p = plan([prod('web-1', { cluster: 'c' }), prod('web-2', { cluster: 'b' })], {
        clusters: three(notReadySince('c', T - 600_000)),
        eviction: { timeoutMs: 300_000, budget: Infinity, hold: 'StartupGrace' },
      });
      assert.deepEqual(brief(p.actions), []);
      assert.equal(p.evictionHeld?.reason, 'StartupGrace');
    });
  });

  describe('drain builds first (rule 6)', () => {
    const draining = (name: string) => ({ ...ready(cluster(name, { spec: { domain: name, draining: true, cordoned: true } })) });
    const abc = [...clusters, ready(cluster('c', { spec: { domain: 'c' } }))];

    it('gives each Prod of a draining cluster a successor elsewhere, keeping its role', () => {
      const cs = [draining('a'), ...abc.slice(1)];
      const f3: Fleet = { ...web, spec: { ...web.spec, prods: 3, testProds: 1 } };
      const p = plan([prod('web-1', { role: 'test' }), prod('web-2', { cluster: 'b' }), prod('web-3', { cluster: 'c' })], { clusters: cs, fleet: f3 });
      assert.deepEqual(brief(p.actions), ['create test on b replacing web-1']);
      // The successor then takes over and the drained Prod retires, through rule 4.
      const took = plan([prod('web-1', { role: 'test' }), prod('web-2', { cluster: 'b' }), prod('web-3', { cluster: 'c' }), prod('web-4', { cluster: 'b', role: 'test', replaces: 'web-1', takeover: true })], { clusters: cs, fleet: f3 });
      assert.deepEqual(brief(took.actions), ['retire web-1 Replaced']);
    });

    it('marks a Prod it cannot replace, so that the scheduler moves its tenants off; unmarks when it can', () => {
      const full = [draining('a'), ready(cluster('b', { spec: { domain: 'b', capacity: { prods: 1 } } }))];
      const p = plan([prod('web-1'), prod('web-2', { cluster: 'b' })], { clusters: full });
      assert.equal(p.actions.length, 1);
      const a = p.actions[0]!;
      assert.ok(a.action === 'markEvacuation' && a.prod.metadata.name === 'web-1' && typeof a.blocked === 'string' && /b AtCapacity/.test(a.blocked));
      const marked = prod('web-1', {}, 'Ready', { [evacuationBlockedAnnotation]: a.blocked ?? '' });
      const roomy = plan([marked, prod('web-2', { cluster: 'b' })], { clusters: [draining('a'), ...abc.slice(1)] });
      assert.deepEqual(
        roomy.actions.map((x) => (x.action === 'markEvacuation' ? `mark ${x.blocked}` : brief([x])[0])),
        ['create normal on c replacing web-1', 'mark null'],
      );
    });
  });

  describe('spread back (rule 7)', () => {
    const abc = [...clusters, ready(cluster('c', { spec: { domain: 'c' } }))];
    const f6: Fleet = { ...web, spec: { ...web.spec, prods: 6 } };
    const lopsided = [prod('web-1'), prod('web-2'), prod('web-3'), prod('web-4', { cluster: 'b' }), prod('web-5', { cluster: 'b' }), prod('web-6', { cluster: 'b' })];

    it('moves one Prod of the most crowded domain to the returned one through a successor', () => {
      const p = plan(lopsided, { clusters: abc, fleet: f6 });
      assert.equal(p.actions.length, 1);
      assert.match(brief(p.actions)[0] ?? '', /^create normal on c replacing web-[1-6]$/);
    });

    it('waits while anything is in flight, and never moves for a difference of one', () => {
      const moving = [...lopsided, prod('web-7', { cluster: 'c', replaces: 'web-1' }, 'WarmingUp')];
      assert.deepEqual(brief(plan(moving, { clusters: abc, fleet: f6 }).actions), [], 'one successor at a time');
      const notReady = lopsided.map((x, i) => (i === 0 ? { ...x, status: { ...x.status!, phase: 'WarmingUp' as const } } : x));
      assert.deepEqual(brief(plan(notReady, { clusters: abc, fleet: f6 }).actions), []);
      const almost = [prod('web-1'), prod('web-2'), prod('web-3', { cluster: 'b' }), prod('web-4', { cluster: 'b' }), prod('web-5', { cluster: 'c' })];
      assert.deepEqual(brief(plan(almost, { clusters: abc, fleet: { ...web, spec: { ...web.spec, prods: 5 } } }).actions), []);
      assert.deepEqual(brief(plan(lopsided, { clusters: abc, fleet: f6, releaseActive: true }).actions), []);
    });
  });

  it('says why it cannot place, in status', () => {
    const p = plan([], { clusters: [] });
    assert.match(p.unplaceable ?? '', /no clusters registered/);
    assert.equal(p.status?.conditions.find((c) => c.type === 'Scheduled')?.status, 'False');
  });
});
