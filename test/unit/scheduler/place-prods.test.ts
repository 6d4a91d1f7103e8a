import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { unschedulableReason } from '../../../src/controllers/cluster-health.js';
import { placeProds } from '../../../src/scheduler/place-prods.js';
import { cluster, fleet } from '../../helpers/fixtures.js';

const placement = (p: Record<string, unknown> = {}) => fleet('web', { spec: { placement: p } }).spec.placement;

describe('placeProds', () => {
  it('spreads over domains first, then clusters', () => {
    const clusters = [cluster('a1', { domain: 'a', phase: 'Ready' }), cluster('a2', { domain: 'a', phase: 'Ready' }), cluster('b1', { domain: 'b', phase: 'Ready' }), cluster('c1', { domain: 'c', phase: 'Ready' })];
    const r = placeProds({ clusters, placement: placement(), fleetProdClusters: [], count: 6 });
    assert.equal(r.unplaced, 0);
    const perDomain = (d: string) => r.placements.filter((c) => c.startsWith(d)).length;
    assert.deepEqual([perDomain('a'), perDomain('b'), perDomain('c')], [2, 2, 2]);
    assert.equal(r.placements.filter((c) => c === 'a1').length, 1, 'within a domain, over clusters');
  });

  it('counts existing Prods and skips clusters that must not get new ones', () => {
    const clusters = [
      cluster('a1', { domain: 'a', phase: 'Ready' }),
      cluster('b1', { domain: 'b', phase: 'Ready', cordoned: true }),
      cluster('c1', { domain: 'c', phase: 'Ready', draining: true }),
      cluster('d1', { domain: 'd', phase: 'NotReady' }),
      cluster('e1', { domain: 'e', phase: 'Ready', provider: 'eks' }),
      cluster('f1', { domain: 'f', phase: 'Ready', labels: { tier: 'bronze' } }),
      cluster('g1', { domain: 'g', phase: 'Ready', labels: { tier: 'gold' }, capacity: 1 }),
    ];
    const r = placeProds({
      clusters,
      placement: placement({ avoidProviders: ['eks'], clusterSelector: { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['bronze'] }] } }),
      fleetProdClusters: ['a1'],
      count: 3,
    });
    assert.deepEqual(r.placements, ['g1', 'a1', 'a1']);
    assert.deepEqual(
      Object.fromEntries(r.skipped.map((s) => [s.cluster, s.why])),
      { b1: 'Cordoned', c1: 'Draining', d1: 'NotReady', e1: 'AvoidedProvider', f1: 'SelectorMismatch' },
    );
  });

  it('respects cluster capacity and reports what it could not place', () => {
    const r = placeProds({ clusters: [cluster('a1', { domain: 'a', phase: 'Ready', capacity: 2 })], placement: placement(), fleetProdClusters: [], prodsOnCluster: new Map([['a1', 1]]), count: 3 });
    assert.deepEqual(r.placements, ['a1']);
    assert.equal(r.unplaced, 2);
  });
});

describe('placeProds and node readiness', () => {
  it('places nothing on a Ready cluster whose agent reports no Ready node, and says why', () => {
    const noNodes = cluster('k1', { domain: 'k', phase: 'Ready' });
    noNodes.status = { ...noNodes.status!, nodes: { ready: 0, total: 2 } };
    const withNodes = cluster('k2', { domain: 'j', phase: 'Ready' });
    withNodes.status = { ...withNodes.status!, nodes: { ready: 1, total: 2 } };
    const r = placeProds({ clusters: [noNodes, withNodes], placement: placement(), fleetProdClusters: [], count: 2 });
    assert.deepEqual(r.placements, ['k2', 'k2']);
    assert.deepEqual(r.skipped, [{ cluster: 'k1', why: 'NoReadyNodes' }]);
    assert.equal(unschedulableReason(noNodes), 'NoReadyNodes');
    assert.equal(unschedulableReason(withNodes), undefined);
  });
});
