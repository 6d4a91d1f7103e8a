// Placement cases for the fleet controller, run against the scheduler's placeNextProd (the one it uses).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Cluster } from '../../../src/api/kinds/cluster.js';
import type { Prod } from '../../../src/api/kinds/prod.js';
import { isUnplaceable } from '../../../src/controllers/fleet-placement.js';
import { placeNextProd as placeNewProd } from '../../../src/scheduler/place-prods.js';
import { cluster, fleet } from '../../helpers/fixtures.js';

function ready(c: Cluster, prods = 0): Cluster {
  return { ...c, status: { phase: 'Ready', prods, conditions: [] } };
}

function prodOn(clusterName: string, i: number): Prod {
  return {
    apiVersion: 'drover.dev/v1alpha1',
    kind: 'Prod',
    metadata: { name: `web-${i}`, labels: {}, annotations: {}, finalizers: [], ownerReferences: [] },
    spec: { fleet: 'web', cluster: clusterName, version: 'v1', role: 'normal', retire: false, env: {}, takeover: false },
  };
}

/** Places `n` Prods one after another, as the fleet controller does in one pass. */
function placeMany(n: number, clusters: Cluster[], f = fleet('web')): string[] {
  const prods: Prod[] = [];
  for (let i = 0; i < n; i++) {
    const target = placeNewProd(f, clusters, prods);
    assert.ok(!isUnplaceable(target), JSON.stringify(target));
    prods.push(prodOn(target, i));
  }
  return prods.map((p) => p.spec.cluster);
}

describe('placeNextProd (drop-in for placeNewProd)', () => {
  const a1 = ready(cluster('a1', { spec: { domain: 'a' } }));
  const a2 = ready(cluster('a2', { spec: { domain: 'a' } }));
  const b1 = ready(cluster('b1', { spec: { domain: 'b' } }));
  const c1 = ready(cluster('c1', { spec: { domain: 'c' } }));

  it('spreads over failure domains first, then clusters', () => {
    const placed = placeMany(6, [a1, a2, b1, c1]);
    const perDomain = { a: 0, b: 0, c: 0 } as Record<string, number>;
    for (const n of placed) perDomain[n[0]!]! += 1;
    assert.deepEqual(perDomain, { a: 2, b: 2, c: 2 });
    assert.equal(placed.filter((n) => n === 'a1').length, 1, 'both clusters of domain a get one');
  });

  it('skips NotReady, Unknown, cordoned, draining and full clusters', () => {
    const clusters = [
      { ...a1, status: { phase: 'NotReady' as const, prods: 0, conditions: [] } },
      cluster('a2', { spec: { domain: 'a' } }), // never heartbeated
      ready(cluster('b1', { spec: { domain: 'b', cordoned: true } })),
      ready(cluster('b2', { spec: { domain: 'b', draining: true } })),
      ready(cluster('c1', { spec: { domain: 'c', capacity: { prods: 2 } } }), 2),
      ready(cluster('d1', { spec: { domain: 'd' } })),
    ];
    assert.deepEqual(placeMany(3, clusters), ['d1', 'd1', 'd1']);
    const none = placeNewProd(fleet('web'), clusters.slice(0, 5), []);
    assert.ok(isUnplaceable(none));
    assert.match(none.reason, /a1 NotReady, a2 Unknown, b1 Cordoned, b2 Draining, c1 AtCapacity/);
  });

  it('counts this fleet’s new Prods against capacity even before the cluster status catches up', () => {
    const placed = placeMany(3, [ready(cluster('x', { spec: { capacity: { prods: 1 } } })), ready(cluster('y', { spec: { capacity: { prods: 2 } } }))]);
    assert.deepEqual([...placed].sort(), ['x', 'y', 'y']);
  });

  it('respects clusterSelector and avoidProviders', () => {
    const eks = ready(cluster('eks1', { spec: { provider: 'eks', domain: 'e' }, labels: { tier: 'gold' } }));
    const gold = ready(cluster('gold1', { spec: { domain: 'g' }, labels: { tier: 'gold' } }));
    const f = fleet('web', { spec: { placement: { clusterSelector: { matchLabels: { tier: 'gold' } }, avoidProviders: ['eks'] } } });
    assert.deepEqual(placeMany(2, [a1, eks, gold], f), ['gold1', 'gold1']);
  });

  it('says why when there is no cluster at all', () => {
    assert.deepEqual(placeNewProd(fleet('web'), [], []), { reason: 'no clusters registered' });
  });
});
