import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Cluster, Fleet, Prod, Tenant, TrafficPlanSpec, TrafficPolicy, type ProdPhase } from '../../../src/api/index.js';
import { compilePlan, planContent } from '../../../src/traffic/compile-plan.js';

const meta = (name: string) => ({ apiVersion: 'drover.dev/v1alpha1' as const, metadata: { name } });

const fleet = Fleet.parse({ ...meta('web'), kind: 'Fleet', spec: { version: 'v1', app: { command: 'node', healthPath: '/health' } } });

const cluster = (name: string, domain: string, extra: Record<string, unknown> = {}) =>
  Cluster.parse({ ...meta(name), kind: 'Cluster', spec: { region: domain, ...extra } });

const prod = (name: string, clusterName: string, phase: ProdPhase = 'Ready', spec: Record<string, unknown> = {}) =>
  Prod.parse({
    ...meta(name),
    kind: 'Prod',
    spec: { fleet: 'web', cluster: clusterName, version: 'v1', ...spec },
    status: { phase, endpoint: `http://127.0.0.1:1${name.length}00/${name}` },
  });

const tenant = (name: string, prods: string[], spec: Record<string, unknown> = {}) =>
  Tenant.parse({ ...meta(name), kind: 'Tenant', spec: { fleet: 'web', ...spec }, status: { prods } });

const policy = (spec: Record<string, unknown>) => TrafficPolicy.parse({ ...meta('web'), kind: 'TrafficPolicy', spec: { fleet: 'web', ...spec } });

const clusters = [cluster('tokyo-1', 'tokyo'), cluster('osaka-1', 'osaka')];

describe('compilePlan', () => {
  it('lists Ready Prods as active and Draining ones as draining; others not at all', () => {
    const plan = compilePlan({
      fleet,
      clusters,
      tenants: [],
      prods: [
        prod('a', 'tokyo-1'),
        prod('b', 'osaka-1', 'Draining'),
        prod('c', 'osaka-1', 'Provisioning'),
        prod('d', 'osaka-1', 'Failed'),
        prod('e', 'osaka-1', 'Retired'),
        Prod.parse({ ...meta('f'), kind: 'Prod', spec: { fleet: 'web', cluster: 'osaka-1', version: 'v1' }, status: { phase: 'Ready' } }),
        prod('other', 'osaka-1', 'Ready', { fleet: 'api' }),
      ],
    });
    TrafficPlanSpec.parse(plan);
    assert.deepEqual(
      plan.endpoints.map((e) => [e.prod, e.state, e.failoverTarget, e.domain]),
      [
        ['a', 'active', true, 'tokyo'],
        ['b', 'draining', false, 'osaka'],
      ],
    );
    assert.equal(plan.endpoints[0]?.url, 'http://127.0.0.1:1100/a');
  });

  it('without a policy: one dial-100 group per domain, default weight, defaults from the fleet', () => {
    const plan = compilePlan({ fleet, clusters, tenants: [], prods: [prod('a', 'tokyo-1'), prod('b', 'osaka-1'), prod('c', 'osaka-1')] });
    assert.deepEqual(plan.groups, [
      { domain: 'osaka', trafficDial: 100, endpoints: [{ prod: 'b', weight: 128 }, { prod: 'c', weight: 128 }] },
      { domain: 'tokyo', trafficDial: 100, endpoints: [{ prod: 'a', weight: 128 }] },
    ]);
    assert.equal(plan.healthCheck.path, '/health');
    assert.equal(plan.failMode, 'failClosed');
    assert.equal(plan.affinity, 'clientIp');
    assert.equal(plan.tenantHeader, 'x-drover-tenant');
    assert.equal(plan.addProdHeader, true);
  });

  it('takes groups, dials, weights and settings from the policy; unlisted domains get dial 0', () => {
    const plan = compilePlan({
      fleet,
      clusters: [...clusters, cluster('nagoya-1', 'nagoya')],
      tenants: [],
      prods: [prod('a', 'tokyo-1'), prod('b', 'osaka-1'), prod('c', 'osaka-1'), prod('n', 'nagoya-1')],
      policy: policy({
        endpointGroups: [
          { domain: 'tokyo', trafficDial: 80 },
          { domain: 'osaka', trafficDial: 20, weights: { b: 200 }, defaultWeight: 10 },
        ],
        failMode: 'failOpen',
        affinity: 'cookie',
        tenantHeader: 'X-Shop',
        healthCheck: { path: '/hc', intervalMs: 200 },
        addProdHeader: false,
      }),
    });
    assert.deepEqual(plan.groups, [
      { domain: 'nagoya', trafficDial: 0, endpoints: [{ prod: 'n', weight: 128 }] },
      { domain: 'osaka', trafficDial: 20, endpoints: [{ prod: 'b', weight: 200 }, { prod: 'c', weight: 10 }] },
      { domain: 'tokyo', trafficDial: 80, endpoints: [{ prod: 'a', weight: 128 }] },
    ]);
    assert.equal(plan.failMode, 'failOpen');
    assert.equal(plan.affinity, 'cookie');
    assert.equal(plan.tenantHeader, 'x-shop');
    assert.equal(plan.healthCheck.path, '/hc');
    assert.equal(plan.healthCheck.intervalMs, 200);
    assert.equal(plan.addProdHeader, false);
  });

  it('carries the policy\'s timeouts into the plan, and none without them', () => {
    const prods = [prod('a', 'tokyo-1')];
    const timeouts = { requestBodyMs: 5000, responseMs: 20_000, upstreamIdleMs: 0 };
    assert.deepEqual(compilePlan({ fleet, clusters, tenants: [], prods, policy: policy({ timeouts }) }).timeouts, timeouts);
    assert.equal('timeouts' in compilePlan({ fleet, clusters, tenants: [], prods, policy: policy({}) }), false);
    assert.throws(() => policy({ timeouts: { requestBodyMs: 2 ** 31 } }), /86400000|too_big|less than/i);
  });

  it('a policy group for a domain without Prods is kept, empty', () => {
    const plan = compilePlan({ fleet, clusters, tenants: [], prods: [prod('a', 'tokyo-1')], policy: policy({ endpointGroups: [{ domain: 'osaka' }, { domain: 'tokyo' }] }) });
    assert.deepEqual(plan.groups.map((g) => [g.domain, g.endpoints.length]), [['osaka', 0], ['tokyo', 1]]);
  });

  it('maps tenants: hosts, header (policy header name by default), assigned Prods that serve', () => {
    const plan = compilePlan({
      fleet,
      clusters,
      prods: [prod('a', 'tokyo-1'), prod('b', 'osaka-1'), prod('gone', 'osaka-1', 'Failed')],
      tenants: [
        tenant('shop', ['a', 'b'], { redundancy: 2, match: { hosts: ['shop.example.com', '*.shop.example.com'] } }),
        tenant('beta', ['gone', 'b'], { match: { header: { value: 'beta' } } }),
        tenant('named', [], { match: { header: { name: 'X-Customer', value: 'n' } } }),
        tenant('elsewhere', ['a'], { fleet: 'api' }),
      ],
    });
    assert.deepEqual(plan.tenants, [
      { name: 'beta', hosts: [], header: { name: 'x-drover-tenant', value: 'beta' }, redundancy: 1, prods: ['b'] },
      { name: 'named', hosts: [], header: { name: 'x-customer', value: 'n' }, redundancy: 1, prods: [] },
      { name: 'shop', hosts: ['*.shop.example.com', 'shop.example.com'], redundancy: 2, prods: ['a', 'b'] },
    ]);
  });

  it('failoverTarget is false on cordoned and draining clusters, for retiring and test Prods', () => {
    const plan = compilePlan({
      fleet,
      clusters: [cluster('tokyo-1', 'tokyo', { cordoned: true }), cluster('osaka-1', 'osaka', { draining: true }), cluster('ok', 'nagoya')],
      tenants: [tenant('t', ['b'])],
      prods: [prod('a', 'tokyo-1'), prod('b', 'osaka-1'), prod('c', 'ok', 'Ready', { retire: true }), prod('d', 'ok', 'Ready', { role: 'test' }), prod('e', 'ok')],
    });
    assert.deepEqual(
      plan.endpoints.map((e) => [e.prod, e.state, e.failoverTarget]),
      [
        ['a', 'active', false],
        ['b', 'active', false],
        ['c', 'active', false],
        ['d', 'active', false],
        ['e', 'active', true],
      ],
    );
    // Cordoned keeps its group share; the draining cluster's Prod leaves the groups but keeps its tenant.
    assert.deepEqual(
      plan.groups.map((g) => [g.domain, g.endpoints.map((x) => x.prod)]),
      [
        ['nagoya', ['c', 'e']],
        ['tokyo', ['a']],
      ],
    );
    assert.deepEqual(plan.tenants[0]?.prods, ['b']);
  });

  it('a successor without takeover gets no traffic; the predecessor keeps serving', () => {
    const plan = compilePlan({
      fleet,
      clusters,
      tenants: [tenant('t', ['p'])],
      prods: [prod('p', 'tokyo-1'), prod('s', 'tokyo-1', 'Ready', { replaces: 'p', takeover: false, version: 'v2' })],
      policy: policy({ endpointGroups: [{ domain: 'tokyo', weights: { p: 7 } }] }),
    });
    assert.deepEqual(plan.endpoints.map((e) => [e.prod, e.state]), [['p', 'active']]);
    assert.deepEqual(plan.tenants[0]?.prods, ['p']);
    assert.deepEqual(plan.groups[0]?.endpoints, [{ prod: 'p', weight: 7 }]);
  });

  it('a Ready successor with takeover takes the tenants and group slot; the predecessor drains', () => {
    const plan = compilePlan({
      fleet,
      clusters,
      tenants: [tenant('t', ['p', 'q'], { redundancy: 2 })],
      prods: [prod('p', 'tokyo-1'), prod('q', 'osaka-1'), prod('s', 'tokyo-1', 'Ready', { replaces: 'p', takeover: true, version: 'v2' })],
      policy: policy({ endpointGroups: [{ domain: 'tokyo', weights: { p: 7 } }, { domain: 'osaka' }] }),
    });
    assert.deepEqual(
      plan.endpoints.map((e) => [e.prod, e.state, e.failoverTarget, e.version]),
      [
        ['p', 'draining', false, 'v1'],
        ['q', 'active', true, 'v1'],
        ['s', 'active', true, 'v2'],
      ],
    );
    assert.deepEqual(plan.tenants[0]?.prods, ['s', 'q']);
    assert.deepEqual(plan.groups.find((g) => g.domain === 'tokyo')?.endpoints, [{ prod: 's', weight: 7 }]);
  });

  it('a successor with takeover that is not Ready yet gets nothing', () => {
    const plan = compilePlan({
      fleet,
      clusters,
      tenants: [tenant('t', ['p'])],
      prods: [prod('p', 'tokyo-1'), prod('s', 'tokyo-1', 'WarmingUp', { replaces: 'p', takeover: true })],
    });
    assert.deepEqual(plan.endpoints.map((e) => [e.prod, e.state]), [['p', 'active']]);
    assert.deepEqual(plan.tenants[0]?.prods, ['p']);
  });

  it('rolling back (takeover false again) returns to the predecessor in one step', () => {
    const base = { fleet, clusters, tenants: [tenant('t', ['p'])] };
    const on = compilePlan({ ...base, prods: [prod('p', 'tokyo-1'), prod('s', 'tokyo-1', 'Ready', { replaces: 'p', takeover: true })] });
    const off = compilePlan({ ...base, prods: [prod('p', 'tokyo-1'), prod('s', 'tokyo-1', 'Ready', { replaces: 'p', takeover: false })] });
    assert.deepEqual(on.tenants[0]?.prods, ['s']);
    assert.deepEqual(off.tenants[0]?.prods, ['p']);
    assert.deepEqual(off.groups[0]?.endpoints.map((e) => e.prod), ['p']);
  });

  it('follows chains of takeovers and maps tenants of a vanished predecessor', () => {
    const plan = compilePlan({
      fleet,
      clusters,
      tenants: [tenant('t', ['p'])],
      prods: [prod('s', 'tokyo-1', 'Ready', { replaces: 'p', takeover: true }), prod('s2', 'tokyo-1', 'Ready', { replaces: 's', takeover: true })],
    });
    assert.deepEqual(plan.tenants[0]?.prods, ['s2']);
    assert.deepEqual(plan.endpoints.map((e) => [e.prod, e.state]), [['s', 'draining'], ['s2', 'active']]);
  });

  it('is deterministic whatever the input order, and planContent ignores the revision', () => {
    const prods = [prod('a', 'tokyo-1'), prod('b', 'osaka-1'), prod('c', 'osaka-1')];
    const tenants = [tenant('x', ['a']), tenant('y', ['b', 'c'])];
    const one = compilePlan({ fleet, clusters, prods, tenants, revision: 1 });
    const two = compilePlan({ fleet, clusters: [...clusters].reverse(), prods: [...prods].reverse(), tenants: [...tenants].reverse(), revision: 2 });
    assert.equal(JSON.stringify(planContent(one)), JSON.stringify(planContent(two)));
    assert.equal(two.revision, 2);
  });
});
