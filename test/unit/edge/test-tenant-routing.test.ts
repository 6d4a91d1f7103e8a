/**
 * Test tenants only ever reach test Prods: not through the endpoint groups when the scheduler gave them no
 * Prod, not through the failover pool when theirs are down, not through fail-open. (The first version sent
 * the test tenant `qa` to normal Prods after a drain left it without a test Prod.)
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Cluster, Fleet, Prod, Tenant, TrafficPolicy } from '../../../src/api/index.js';
import { RouteTable } from '../../../src/edge/routing.js';
import { compilePlan } from '../../../src/traffic/compile-plan.js';

const meta = (name: string) => ({ apiVersion: 'drover.dev/v1alpha1' as const, metadata: { name } });
const fleet = Fleet.parse({ ...meta('web'), kind: 'Fleet', spec: { version: 'v1', app: { command: 'node' } } });
const clusters = [Cluster.parse({ ...meta('tokyo-1'), kind: 'Cluster', spec: { region: 'tokyo' } }), Cluster.parse({ ...meta('osaka-1'), kind: 'Cluster', spec: { region: 'osaka' } })];
const prod = (name: string, cluster: string, role: 'normal' | 'test' = 'normal') =>
  Prod.parse({ ...meta(name), kind: 'Prod', spec: { fleet: 'web', cluster, version: 'v1', role }, status: { phase: 'Ready', endpoint: `http://127.0.0.1:1/${name}` } });
const prods = [prod('a', 'tokyo-1'), prod('b', 'osaka-1'), prod('t1', 'tokyo-1', 'test')];
const tenant = (name: string, assigned: string[], test = false) =>
  Tenant.parse({ ...meta(name), kind: 'Tenant', spec: { fleet: 'web', test, match: { hosts: [`${name}.test`] } }, status: { prods: assigned } });
const match = (host: string) => ({ host, header: () => undefined });

describe('test tenants at the edge', () => {
  for (const failMode of ['failClosed', 'failOpen'] as const) {
    const policy = TrafficPolicy.parse({ ...meta('web'), kind: 'TrafficPolicy', spec: { fleet: 'web', failMode } });

    it(`a test tenant with no Prod of its own goes to a test Prod, never the groups; with none healthy, 503 (${failMode})`, () => {
      const plan = compilePlan({ fleet, clusters, prods, tenants: [tenant('qa', [], true), tenant('shop', [])], policy });
      assert.equal(plan.tenants.find((t) => t.name === 'qa')?.test, true);
      assert.equal(plan.tenants.find((t) => t.name === 'shop')?.test, undefined);
      const endpoints = new Map(plan.endpoints.map((e) => [e.prod, { name: e.prod, cluster: e.cluster }] as const));
      const rt = new RouteTable([plan], endpoints, () => true);
      for (let i = 0; i < 20; i++) assert.equal(rt.pick(rt.matchTenant(match('qa.test')), undefined, i / 20)?.endpoint.name, 't1');
      const noTest = new RouteTable([plan], endpoints, (e) => e.name !== 't1');
      for (let i = 0; i < 20; i++) assert.equal(noTest.pick(noTest.matchTenant(match('qa.test')), undefined, i / 20), undefined);
      // A normal tenant without Prods is still served by the groups.
      assert.equal(rt.pick(rt.matchTenant(match('shop.test')), undefined, 0.5)?.reason, 'group');
    });

    it(`a test tenant whose test Prod is down is not sent to the failover pool (${failMode})`, () => {
      const plan = compilePlan({ fleet, clusters, prods, tenants: [tenant('qa', ['t1'], true), tenant('shop', ['a'])], policy });
      const endpoints = new Map(plan.endpoints.map((e) => [e.prod, { name: e.prod, cluster: e.cluster }] as const));
      const down = (e: { name: string }) => e.name !== 't1' && e.name !== 'a';
      const rt = new RouteTable([plan], endpoints, down);
      for (let i = 0; i < 20; i++) {
        const p = rt.pick(rt.matchTenant(match('qa.test')), undefined, i / 20);
        // failOpen may try the tenant's own (unhealthy) test Prod; nothing else.
        assert.ok(p === undefined || p.endpoint.name === 't1', JSON.stringify(p));
      }
      assert.equal(rt.pick(rt.matchTenant(match('shop.test')), undefined, 0.5)?.endpoint.name, 'b');
    });
  }
});
