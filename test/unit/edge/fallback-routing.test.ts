import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Cluster, Fleet, Prod, Tenant, TrafficPolicy } from '../../../src/api/index.js';
import { RouteTable } from '../../../src/edge/routing.js';
import { compilePlan } from '../../../src/traffic/compile-plan.js';

const meta = (name: string) => ({ apiVersion: 'drover.dev/v1alpha1' as const, metadata: { name } });
const fleet = Fleet.parse({ ...meta('web'), kind: 'Fleet', spec: { version: 'v1', app: { command: 'node' } } });
const clusters = [
  Cluster.parse({ ...meta('tokyo-1'), kind: 'Cluster', spec: { region: 'tokyo' } }),
  Cluster.parse({ ...meta('osaka-1'), kind: 'Cluster', spec: { region: 'osaka' } }),
  Cluster.parse({ ...meta('osaka-2'), kind: 'Cluster', spec: { region: 'osaka', cordoned: true } }),
  Cluster.parse({ ...meta('oregon-1'), kind: 'Cluster', spec: { region: 'oregon' } }),
];
const prod = (name: string, cluster: string, role: 'normal' | 'test' = 'normal') =>
  Prod.parse({ ...meta(name), kind: 'Prod', spec: { fleet: 'web', cluster, version: 'v1', role }, status: { phase: 'Ready', endpoint: `http://127.0.0.1:1/${name}` } });
const prods = [prod('a', 'tokyo-1'), prod('b', 'osaka-1'), prod('c', 'osaka-2'), prod('d', 'oregon-1'), prod('ta', 'tokyo-1', 'test'), prod('tb', 'osaka-1', 'test')];
const tenant = (name: string, prods: string[], test = false) =>
  Tenant.parse({ ...meta(name), kind: 'Tenant', spec: { fleet: 'web', test, match: { hosts: [`${name}.test`] } }, status: { prods } });

describe('per-tenant fallback in the plan', () => {
  it('keeps a fallback only where the fail mode lets it take traffic: role, cordon, retire', () => {
    const tenants = [tenant('shop', ['a']), tenant('qa', ['ta'], true)];
    const fallbacks = new Map([
      ['shop', ['c', 'tb', 'b']],
      ['qa', ['b', 'tb']],
    ]);
    const plan = compilePlan({ fleet, clusters, prods, tenants, fallbacks });
    // c is on a cordoned cluster, tb is a test Prod: shop keeps b only. qa (a test tenant) keeps tb only.
    assert.deepEqual(plan.tenants.find((t) => t.name === 'shop')?.fallback, ['b']);
    assert.deepEqual(plan.tenants.find((t) => t.name === 'qa')?.fallback, ['tb']);
    const policy = TrafficPolicy.parse({ ...meta('web'), kind: 'TrafficPolicy', spec: { fleet: 'web', failoverToDraining: true } });
    const allowed = compilePlan({ fleet, clusters, prods, tenants, fallbacks, policy });
    assert.deepEqual(allowed.tenants.find((t) => t.name === 'shop')?.fallback, ['c', 'b']);
  });

  it('the edge serves a tenant whose Prods are all down from its fallback, not from the fleet pool', () => {
    const plan = compilePlan({ fleet, clusters, prods, tenants: [tenant('shop', ['a'])], fallbacks: new Map([['shop', ['d']]]) });
    const endpoints = new Map(plan.endpoints.map((e) => [e.prod, { name: e.prod, cluster: e.cluster }] as const));
    const down = new Set(['a']);
    const rt = new RouteTable([plan], endpoints, (e) => !down.has(e.name));
    const shop = rt.matchTenant({ host: 'shop.test', header: () => undefined });
    // Over the whole range of random draws: always d (the pool would spread over b and d).
    for (let i = 0; i < 20; i++) assert.deepEqual(rt.pick(shop, undefined, i / 20), { endpoint: endpoints.get('d'), reason: 'fallback' });
    // Its own Prod healthy again: back on it.
    down.clear();
    const healthy = new RouteTable([plan], endpoints, () => true);
    assert.equal(healthy.pick(healthy.matchTenant({ host: 'shop.test', header: () => undefined }), undefined, 0.5)?.endpoint.name, 'a');
    // The fallback down too: the fleet's failover pool, as before.
    const bothDown = new RouteTable([plan], endpoints, (e) => e.name !== 'a' && e.name !== 'd');
    assert.deepEqual(bothDown.pick(bothDown.matchTenant({ host: 'shop.test', header: () => undefined }), undefined, 0.5), { endpoint: endpoints.get('b'), reason: 'failover' });
  });
});
