import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Cluster } from '../../../src/api/kinds/cluster.js';
import type { Fleet } from '../../../src/api/kinds/fleet.js';
import type { Prod } from '../../../src/api/kinds/prod.js';
import { prodTemplate } from '../../../src/api/template.js';
import { planFleet, retireRequestedAtAnnotation, type FleetAction, type FleetObservation } from '../../../src/controllers/fleet-plan.js';
import { cluster, fleet } from './fixtures.js';

const T = Date.UTC(2026, 0, 1);
const ready = (c: Cluster): Cluster => ({ ...c, status: { phase: 'Ready', prods: 0, conditions: [] } });
const clusters = [ready(cluster('a', { domain: 'a' })), ready(cluster('b', { domain: 'b' }))];
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

const brief = (as: FleetAction[]) =>
  as.map((a) => (a.action === 'create' ? `create ${a.role} on ${a.cluster}${a.replaces ? ` replacing ${a.replaces}` : ''}` : `${a.action} ${a.prod.metadata.name}${'reason' in a ? ` ${a.reason}` : ''}`));

describe('planFleet', () => {
  it('does nothing when the fleet is as desired', () => {
    const p = plan([prod('web-1'), prod('web-2', { cluster: 'b' })]);
    assert.deepEqual(p.actions, []);
    assert.equal(p.status?.readyProds, 2);
  });

  it('does not count a successor while its predecessor is live, and counts it once the predecessor retires', () => {
    const during = plan([prod('web-1'), prod('web-2', { cluster: 'b' }), prod('web-3', { replaces: 'web-1', version: 'v1' }, 'Provisioning')], { releaseActive: true });
    assert.deepEqual(brief(during.actions), []);
    assert.equal(during.status?.prods, 2);
    const afterTakeover = plan(
      [prod('web-1', { retire: true }, 'Draining', { [retireRequestedAtAnnotation]: new Date(T).toISOString() }), prod('web-2', { cluster: 'b' }), prod('web-3', { replaces: 'web-1', takeover: true })],
      { releaseActive: true },
    );
    assert.deepEqual(brief(afterTakeover.actions), []);
    assert.equal(afterTakeover.status?.prods, 2);
    assert.equal(afterTakeover.recheckInMs, 60_001, 'looks again when the retire times out');
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

  it('replaces a Prod whose cluster is gone or NotReady on another cluster in the same pass', () => {
    const dead: Cluster = { ...cluster('c', { domain: 'c' }), status: { phase: 'NotReady', prods: 1, conditions: [] } };
    const gone = plan([prod('web-1', { cluster: 'zzz' }), prod('web-2', { cluster: 'b' })]);
    assert.deepEqual(brief(gone.actions), ['retire web-1 ClusterLost', 'delete web-1 ClusterLost', 'create normal on a']);
    const notReady = plan([prod('web-1', { cluster: 'c' }), prod('web-2', { cluster: 'b' })], { clusters: [...clusters, dead] });
    assert.deepEqual(brief(notReady.actions), ['retire web-1 ClusterLost', 'delete web-1 ClusterLost', 'create normal on a']);
  });

  it('says why it cannot place, in status', () => {
    const p = plan([], { clusters: [] });
    assert.match(p.unplaceable ?? '', /no clusters registered/);
    assert.equal(p.status?.conditions.find((c) => c.type === 'Scheduled')?.status, 'False');
  });
});
