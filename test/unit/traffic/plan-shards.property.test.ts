import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Cluster, Fleet, Prod, Tenant, TrafficPlan, TrafficPolicy, TrafficRoute, type TrafficPlanSpec } from '../../../src/api/index.js';
import { parsePlanDocument, StorePlanSource } from '../../../src/edge/plan-source.js';
import { RouteTable } from '../../../src/edge/routing.js';
import { MemoryStore } from '../../../src/store/memory/memory-store.js';
import { compileFleet, compilePlan, compileTenant } from '../../../src/traffic/compile-plan.js';
import { waitFor } from '../../helpers/wait-for.js';
import { legacyCompilePlan } from './legacy-compile-plan.js';

// Fixed seed in CI; PROPERTY_SEED=random (or a number) to explore.
const SEED = process.env.PROPERTY_SEED === 'random' ? Date.now() : Number(process.env.PROPERTY_SEED ?? 20261201);
const meta = (name: string) => ({ apiVersion: 'drover.dev/v1alpha1' as const, metadata: { name } });
const DOMAINS = ['tokyo', 'osaka', 'oregon'];

const fleet = Fleet.parse({ ...meta('web'), kind: 'Fleet', spec: { version: 'v1', app: { command: 'node', healthPath: '/h' } } });

/** Random fleets with every feature the compiler looks at: phases, takeovers, cordon/drain, test Prods, headers, policies. */
const inputs = fc
  .record({
    clusters: fc.array(fc.record({ domain: fc.nat({ max: 2 }), cordoned: fc.boolean(), draining: fc.boolean() }), { minLength: 1, maxLength: 4 }),
    prods: fc.array(
      fc.record({
        cluster: fc.nat({ max: 3 }),
        phase: fc.constantFrom('Ready', 'Ready', 'Ready', 'Draining', 'Provisioning'),
        test: fc.boolean(),
        retire: fc.boolean(),
        replaces: fc.option(fc.nat({ max: 7 }), { freq: 4 }),
        takeover: fc.boolean(),
        otherFleet: fc.boolean(),
      }),
      { maxLength: 8 },
    ),
    tenants: fc.array(
      fc.record({
        prods: fc.array(fc.nat({ max: 9 }), { maxLength: 3 }),
        hosts: fc.array(fc.constantFrom('a.test', 'b.test', '*.c.test', 'd.test'), { maxLength: 2 }),
        header: fc.option(fc.record({ name: fc.option(fc.constantFrom('X-Shop', 'x-other')), value: fc.constantFrom('1', '2') }), { freq: 3 }),
        redundancy: fc.constantFrom(1, 2),
        otherFleet: fc.boolean(),
      }),
      { maxLength: 12 },
    ),
    policy: fc.option(
      fc.record({
        groups: fc.array(fc.record({ domain: fc.nat({ max: 2 }), dial: fc.nat({ max: 100 }), w: fc.nat({ max: 255 }) }), { maxLength: 3 }),
        header: fc.option(fc.constantFrom('X-Tenant', 'x-t')),
        failMode: fc.constantFrom('failClosed', 'failOpen'),
        failoverToDraining: fc.boolean(),
      }),
    ),
  })
  .map((r) => {
    const clusters = r.clusters.map((c, i) =>
      Cluster.parse({ ...meta(`c${i}`), kind: 'Cluster', spec: { region: DOMAINS[c.domain], cordoned: c.cordoned, draining: c.draining && !c.cordoned } }),
    );
    const prods = r.prods.map((p, i) =>
      Prod.parse({
        ...meta(`p${i}`),
        kind: 'Prod',
        spec: {
          fleet: p.otherFleet && i % 3 === 0 ? 'api' : 'web',
          cluster: `c${p.cluster}`,
          version: 'v1',
          role: p.test ? 'test' : 'normal',
          retire: p.retire,
          ...(p.replaces !== null && p.replaces !== i ? { replaces: `p${p.replaces}`, takeover: p.takeover } : {}),
        },
        status: { phase: p.phase, endpoint: `http://127.0.0.1:${10000 + i}/` },
      }),
    );
    const tenants = r.tenants.map((t, i) =>
      Tenant.parse({
        ...meta(`t${String(i).padStart(2, '0')}`),
        kind: 'Tenant',
        spec: {
          fleet: t.otherFleet && i % 4 === 0 ? 'api' : 'web',
          redundancy: t.redundancy,
          match: { hosts: t.hosts, ...(t.header ? { header: { ...(t.header.name ? { name: t.header.name } : {}), value: t.header.value } } : {}) },
        },
        status: { prods: t.prods.map((n) => `p${n}`) },
      }),
    );
    const policy =
      r.policy &&
      TrafficPolicy.parse({
        ...meta('web'),
        kind: 'TrafficPolicy',
        spec: {
          fleet: 'web',
          failMode: r.policy.failMode,
          failoverToDraining: r.policy.failoverToDraining,
          ...(r.policy.header ? { tenantHeader: r.policy.header } : {}),
          endpointGroups: [...new Map(r.policy.groups.map((g) => [g.domain, g])).values()].map((g) => ({ domain: DOMAINS[g.domain], trafficDial: g.dial, weights: { p0: g.w } })),
        },
      });
    return { fleet, clusters, prods, tenants, policy: policy ?? undefined };
  });

/** The fleet plan and tenant routes as the traffic controller stores them. */
function shards(input: Parameters<typeof compilePlan>[0]): { plan: TrafficPlanSpec; routes: TrafficRoute[] } {
  const { plan, routing } = compileFleet(input);
  const routes = input.tenants
    .filter((t) => t.spec.fleet === 'web')
    .map((t) => TrafficRoute.parse({ ...meta(t.metadata.name), kind: 'TrafficRoute', spec: { ...compileTenant(routing, t), fleet: 'web' } }));
  return { plan, routes };
}

/** What a request for each host and header lands on, per tenant: the routing table's view of a plan. */
function table(plan: TrafficPlanSpec): string[] {
  const endpoints = new Map(plan.endpoints.map((e) => [e.prod, { name: e.prod, cluster: e.cluster }] as const));
  const rt = new RouteTable([plan], endpoints, () => true);
  const out: string[] = [];
  for (const host of ['a.test', 'b.test', 'x.c.test', 'd.test', 'none.test']) {
    for (const hv of [undefined, '1', '2']) {
      const t = rt.matchTenant({ host, header: (n) => (n === 'x-shop' || n === 'x-other' || n === plan.tenantHeader ? hv : undefined) });
      const pick = rt.pick(t, 7, 0.3);
      out.push(`${host}/${hv ?? '-'} → ${t?.name ?? '-'} → ${pick?.endpoint.name ?? 'none'}/${pick?.reason ?? '-'}`);
    }
  }
  return out;
}

describe('the sharded plan (TrafficPlan + TrafficRoutes) assembles to the single-object plan', () => {
  it('equals the old compile for random fleets, and routes the same requests the same way', () => {
    fc.assert(
      fc.property(inputs, (input) => {
        const legacy = legacyCompilePlan(input);
        assert.deepEqual(compilePlan(input), legacy);
        const { plan, routes } = shards(input);
        assert.deepEqual(plan.tenants, []);
        // The file source's assembly (a List holding the plan and its routes, in any order).
        const doc = { kind: 'List', items: [...routes].reverse().concat([{ ...meta('web'), kind: 'TrafficPlan', spec: plan } as never]) };
        const [assembled] = parsePlanDocument(JSON.parse(JSON.stringify(doc)));
        assert.deepEqual(assembled, legacy);
        assert.deepEqual(table(assembled), table(legacy));
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  it('through a store watch: StorePlanSource assembles the same plan, and follows one route change', async () => {
    const [input] = fc.sample(inputs.filter((i) => i.tenants.some((t) => t.spec.fleet === 'web' && t.spec.match.hosts.length > 0)), { seed: SEED, numRuns: 1 });
    assert.ok(input);
    const store = new MemoryStore();
    const { plan, routes } = shards(input);
    await store.create(TrafficPlan.parse({ ...meta('web'), kind: 'TrafficPlan', spec: plan }));
    for (const r of routes) await store.create(r);
    let last: readonly TrafficPlanSpec[] = [];
    const source = new StorePlanSource(store, { coalesceMs: 1 });
    await source.start((plans) => (last = plans));
    try {
      assert.deepEqual(last[0], legacyCompilePlan(input));
      const first = routes[0]!;
      const stored = await store.get('TrafficRoute', first.metadata.name);
      await store.update({ ...stored!, spec: { ...stored!.spec, hosts: ['moved.test'] } });
      const changed = input.tenants.map((t) => (t.metadata.name === first.metadata.name ? { ...t, spec: { ...t.spec, match: { ...t.spec.match, hosts: ['moved.test'] } } } : t));
      const want = legacyCompilePlan({ ...input, tenants: changed });
      await waitFor('the route change', () => JSON.stringify(last[0]) === JSON.stringify(want));
      await store.delete('TrafficRoute', first.metadata.name);
      await waitFor('the route deletion', () => last[0]?.tenants.every((t) => t.name !== first.metadata.name));
    } finally {
      await source.stop();
    }
  });
});
