import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { TrafficPlanSpec } from '../../../src/api/kinds/traffic-plan.js';
import { retryDecision } from '../../../src/edge/edge.js';
import { clientResponseHeaders, cookieValue, hostOnly, isIdempotent, upstreamRequestHeaders } from '../../../src/edge/headers.js';
import { EndpointHealth } from '../../../src/edge/health.js';
import { WeightedPicker } from '../../../src/edge/picker.js';
import { RouteTable } from '../../../src/edge/routing.js';
import { WindowStats } from '../../../src/edge/window-stats.js';

interface E {
  name: string;
}

function table(plan: Partial<TrafficPlanSpec> & Pick<TrafficPlanSpec, 'endpoints'>, unhealthy: string[] = []) {
  const full: TrafficPlanSpec = {
    fleet: 'web',
    revision: 1,
    failMode: 'failClosed',
    affinity: 'clientIp',
    tenantHeader: 'x-drover-tenant',
    addProdHeader: true,
    failoverToDraining: false,
    healthCheck: { path: '/healthz', intervalMs: 1000, timeoutMs: 500, unhealthyThreshold: 2, healthyThreshold: 2 },
    passive: { connectErrors: 1, consecutive5xx: 5 },
    tenants: [],
    groups: [],
    ...plan,
  };
  const eps = new Map(full.endpoints.map((e) => [e.prod, { name: e.prod }] as const));
  return new RouteTable<E>([full], eps, (e) => !unhealthy.includes(e.name));
}

const ep = (prod: string, domain: string, extra: Record<string, unknown> = {}) => ({
  prod,
  url: `http://127.0.0.1:1/${prod}`,
  cluster: domain,
  domain,
  version: 'v1',
  role: 'normal' as const,
  state: 'active' as const,
  failoverTarget: true,
  ...extra,
});

/** Exact shares of the unmatched-traffic picker, by endpoint name (null share as "-"). */
function shares(t: RouteTable<E>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of t.defaultFleet!.groups.shares()) out[s.item?.name ?? '-'] = (out[s.item?.name ?? '-'] ?? 0) + s.share;
  for (const k of Object.keys(out)) out[k] = Math.round(out[k]! * 1000) / 1000;
  return out;
}

describe('WeightedPicker', () => {
  it('picks by weight: each entry owns its slice of [0, 1)', () => {
    const p = new WeightedPicker<string>([['a', 1], ['b', 3], ['zero', 0]]);
    assert.equal(p.size, 2);
    assert.equal(p.pick(0), 'a');
    assert.equal(p.pick(0.249), 'a');
    assert.equal(p.pick(0.25), 'b');
    assert.equal(p.pick(0.999), 'b');
    assert.equal(new WeightedPicker<string>([]).pick(0.5), undefined);
  });

  it('pickExcluding never returns the excluded entry or the null share', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 8 }), fc.double({ min: 0, max: 0.9999, noNaN: true }), (ws, r) => {
        const items = ws.map((w, i) => [i === 0 ? null : `e${i}`, w] as const);
        const p = new WeightedPicker<string>(items);
        const got = p.pickExcluding('e1', r);
        assert.notEqual(got, 'e1');
        assert.notEqual(got, null);
        const others = ws.some((w, i) => i > 1 && w > 0);
        assert.equal(got !== undefined, others);
      }),
    );
  });
});

describe('RouteTable', () => {
  it('dials share traffic between groups, weights within them', () => {
    const t = table({
      endpoints: [ep('a', 'tokyo'), ep('b', 'tokyo'), ep('c', 'osaka')],
      groups: [
        { domain: 'tokyo', trafficDial: 100, endpoints: [{ prod: 'a', weight: 3 }, { prod: 'b', weight: 1 }] },
        { domain: 'osaka', trafficDial: 50, endpoints: [{ prod: 'c', weight: 9 }] },
      ],
    });
    assert.deepEqual(shares(t), { a: 0.5, b: 0.167, c: 0.333 });
  });

  it('a failed group hands its share to healthy failover targets by weight, ignoring dials', () => {
    const t = table(
      {
        endpoints: [ep('a', 'tokyo'), ep('c', 'osaka'), ep('d', 'nagoya'), ep('x', 'nagoya', { failoverTarget: false }), ep('y', 'nagoya', { state: 'draining' })],
        groups: [
          { domain: 'tokyo', trafficDial: 50, endpoints: [{ prod: 'a', weight: 1 }] },
          { domain: 'osaka', trafficDial: 50, endpoints: [{ prod: 'c', weight: 100 }] },
          { domain: 'nagoya', trafficDial: 0, endpoints: [{ prod: 'd', weight: 100 }, { prod: 'x', weight: 100 }, { prod: 'y', weight: 100 }] },
        ],
      },
      ['a'],
    );
    // c keeps its half and takes half of tokyo's; d takes the other half; x, y get nothing.
    const s = shares(t);
    assert.equal(Math.round(((s.c ?? 0) + 0) * 100), 75);
    assert.equal(Math.round((s.d ?? 0) * 100), 25);
    assert.equal(s.x, undefined);
    assert.equal(s.y, undefined);
  });

  it('weight 0 does not count as healthy; an unservable share is answered by the fail mode', () => {
    const plan = {
      endpoints: [ep('a', 'tokyo'), ep('x', 'osaka', { failoverTarget: false })],
      groups: [
        { domain: 'tokyo', trafficDial: 100, endpoints: [{ prod: 'a', weight: 0 }] },
        { domain: 'osaka', trafficDial: 100, endpoints: [{ prod: 'x', weight: 5 }] },
      ],
    };
    const t = table(plan);
    assert.deepEqual(shares(t), { x: 0.5, '-': 0.5 });
    assert.equal(t.pick(undefined, undefined, 0.9), undefined, 'failClosed');
    const open = table({ ...plan, failMode: 'failOpen', endpoints: [ep('a', 'tokyo'), ep('x', 'osaka', { failoverTarget: false }), ep('z', 'osaka')], groups: [...plan.groups, { domain: 'z', trafficDial: 0, endpoints: [{ prod: 'z', weight: 1 }] }] }, ['z']);
    // z is unhealthy but a failover target: failOpen tries it.
    assert.equal(open.pick(undefined, undefined, 0.1)?.endpoint.name, 'x', 'the servable share is served as usual');
    assert.deepEqual([open.pick(undefined, undefined, 0.9)?.endpoint.name, open.pick(undefined, undefined, 0.9)?.reason], ['z', 'failOpen']);
  });

  it('failoverToDraining lets draining Prods take failover traffic when nothing else can', () => {
    const plan = {
      endpoints: [ep('a', 'tokyo'), ep('y', 'osaka', { state: 'draining', failoverTarget: false })],
      groups: [{ domain: 'tokyo', trafficDial: 100, endpoints: [{ prod: 'a', weight: 1 }] }],
    };
    assert.equal(table(plan, ['a']).pick(undefined, undefined, 0.5), undefined);
    assert.equal(table({ ...plan, failoverToDraining: true }, ['a']).pick(undefined, undefined, 0.5)?.endpoint.name, 'y');
  });

  it('matches tenants: exact host, wildcard, header; affinity is stable and skips unhealthy Prods', () => {
    const plan = {
      endpoints: [ep('a', 'tokyo'), ep('b', 'osaka'), ep('c', 'osaka')],
      groups: [{ domain: 'osaka', trafficDial: 100, endpoints: [{ prod: 'c', weight: 1 }] }],
      tenants: [
        { name: 'shop', hosts: ['shop.example.com', '*.shop.example.com'], redundancy: 2, prods: ['a', 'b'] },
        { name: 'gold', hosts: [], header: { name: 'x-drover-tenant', value: 'gold' }, redundancy: 1, prods: ['b'] },
      ],
    };
    const t = table(plan);
    const none = () => undefined;
    assert.equal(t.matchTenant({ host: 'shop.example.com', header: none })?.name, 'shop');
    assert.equal(t.matchTenant({ host: 'eu.shop.example.com', header: none })?.name, 'shop');
    assert.equal(t.matchTenant({ host: 'a.b.shop.example.com', header: none }), undefined);
    assert.equal(t.matchTenant({ host: 'x', header: (n) => (n === 'x-drover-tenant' ? 'gold' : undefined) })?.name, 'gold');
    const shop = t.matchTenant({ host: 'shop.example.com', header: none });
    for (let h = 0; h < 50; h++) {
      const first = t.pick(shop, h, Math.random())?.endpoint.name;
      assert.equal(t.pick(shop, h, Math.random())?.endpoint.name, first, 'same client, same Prod');
      assert.equal(first, h % 2 === 0 ? 'a' : 'b');
    }
    const down = table(plan, ['a']);
    const shop2 = down.matchTenant({ host: 'shop.example.com', header: none });
    assert.equal(down.pick(shop2, 0, 0.1)?.endpoint.name, 'b', 'an unhealthy Prod hands its clients to the other');
    const both = table(plan, ['a', 'b']);
    const p = both.pick(both.matchTenant({ host: 'shop.example.com', header: none }), 0, 0.1);
    assert.deepEqual([p?.endpoint.name, p?.reason], ['c', 'failover']);
    // Retry: another Prod of the same tenant.
    assert.equal(t.pick(shop, 0, 0.1, t.pick(shop, 0, 0.1)!.endpoint)?.endpoint.name, 'b');
  });

  it('draining and absent Prods are never picked, whatever the randomness', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 0.9999, noNaN: true }), fc.integer({ min: 0, max: 1000 }), (r, h) => {
        const t = table({
          endpoints: [ep('a', 'tokyo', { state: 'draining', failoverTarget: false }), ep('b', 'tokyo')],
          groups: [{ domain: 'tokyo', trafficDial: 100, endpoints: [{ prod: 'a', weight: 200 }, { prod: 'b', weight: 1 }, { prod: 'ghost', weight: 200 }] }],
          tenants: [{ name: 't', hosts: ['t'], redundancy: 2, prods: ['a', 'ghost', 'b'] }],
        });
        assert.equal(t.pick(undefined, undefined, r)?.endpoint.name, 'b');
        assert.equal(t.pick(t.matchTenant({ host: 't', header: () => undefined }), h, r)?.endpoint.name, 'b');
      }),
    );
  });
});

describe('header passes', () => {
  it('drops hop-by-hop headers and sets X-Forwarded-*', () => {
    const h = upstreamRequestHeaders(['Host', 'shop.test', 'Connection', 'keep-alive', 'X-Forwarded-For', '10.0.0.1', 'X-Forwarded-Proto', 'https', 'Accept', '*/*'], { clientIp: '127.0.0.9', proto: 'http' });
    assert.deepEqual(h, ['Host', 'shop.test', 'Accept', '*/*', 'X-Forwarded-For', '10.0.0.1, 127.0.0.9', 'X-Forwarded-Proto', 'http', 'X-Forwarded-Host', 'shop.test']);
    const up = upstreamRequestHeaders(['Connection', 'Upgrade', 'Upgrade', 'websocket'], { clientIp: '1', proto: 'http' }, true);
    assert.ok(Array.isArray(up));
    assert.deepEqual(up.slice(0, 4), ['Connection', 'Upgrade', 'Upgrade', 'websocket']);
    assert.deepEqual(clientResponseHeaders(['Content-Type', 'text/plain', 'Transfer-Encoding', 'chunked', 'Keep-Alive', 'timeout=5'], ['x-drover-prod', 'a']), ['Content-Type', 'text/plain', 'x-drover-prod', 'a']);
  });

  it('drops the headers a Connection header names, both ways, and the whole standard hop-by-hop set', () => {
    const h = upstreamRequestHeaders(
      ['Host', 'shop.test', 'X-Secret', 's', 'Connection', 'keep-alive, X-Secret, x-other', 'X-Other', 'o', 'TE', 'trailers', 'Trailer', 'x', 'Proxy-Authorization', 'Basic x', 'Upgrade', 'h2c', 'Keep-Alive', 'timeout=5', 'Accept', '*/*'],
      { clientIp: '127.0.0.9', proto: 'http' },
      false,
      true,
    );
    assert.deepEqual(h, ['Host', 'shop.test', 'Accept', '*/*', 'X-Forwarded-For', '127.0.0.9', 'X-Forwarded-Proto', 'http', 'X-Forwarded-Host', 'shop.test']);
    // Framing and Host are never dropped, whatever Connection says.
    const framed = upstreamRequestHeaders(['Host', 'a', 'Content-Length', '3', 'Connection', 'content-length, host'], { clientIp: '1', proto: 'http' });
    assert.deepEqual(framed, ['Host', 'a', 'Content-Length', '3', 'X-Forwarded-For', '1', 'X-Forwarded-Proto', 'http', 'X-Forwarded-Host', 'a']);
    assert.deepEqual(
      clientResponseHeaders(['Content-Type', 'text/plain', 'X-Hop', '1', 'Connection', 'x-hop', 'Proxy-Authenticate', 'Basic', 'Trailer', 'x', 'Content-Length', '2'], []),
      ['Content-Type', 'text/plain', 'Content-Length', '2'],
    );
  });

  it('reports a second Host header as the client\'s mistake instead of forwarding it', () => {
    assert.deepEqual(upstreamRequestHeaders(['Host', 'a.test', 'Host', 'b.test'], { clientIp: '1', proto: 'http' }), { clientError: 'the request has more than one Host header' });
  });

  it('host, cookie and method helpers', () => {
    assert.equal(hostOnly('Shop.Example.com:8080'), 'shop.example.com');
    assert.equal(hostOnly('shop.example.com.'), 'shop.example.com');
    assert.equal(hostOnly('[::1]:80'), '[::1]');
    assert.equal(hostOnly(undefined), undefined);
    assert.equal(cookieValue('a=1; drover-affinity=xyz; b=2', 'drover-affinity'), 'xyz');
    assert.equal(cookieValue('a=1', 'drover-affinity'), undefined);
    assert.equal(isIdempotent('GET'), true);
    assert.equal(isIdempotent('POST'), false);
  });
});

describe('retryDecision', () => {
  const base = { attempt: 0, responded: false, connectFailed: false, reset: false, idempotent: true, bodyStarted: false };
  it('retries connect failures for any method, resets only for idempotent ones, and only once', () => {
    assert.equal(retryDecision({ ...base, connectFailed: true, idempotent: false }), 'retry');
    assert.equal(retryDecision({ ...base, reset: true }), 'retry');
    assert.equal(retryDecision({ ...base, reset: true, idempotent: false }), 'fail');
    assert.equal(retryDecision({ ...base, connectFailed: true, attempt: 1 }), 'fail');
    assert.equal(retryDecision({ ...base, reset: true, responded: true }), 'fail');
    assert.equal(retryDecision({ ...base, reset: true, bodyStarted: true }), 'fail');
  });
});

describe('EndpointHealth', () => {
  const settings = { healthCheck: { path: '/h', intervalMs: 100, timeoutMs: 50, unhealthyThreshold: 3, healthyThreshold: 2 }, passive: { connectErrors: 2, consecutive5xx: 3 } };
  it('follows thresholds for active checks, connect errors and 5xx bursts', () => {
    const changes: string[] = [];
    const h = new EndpointHealth(settings, (ok, cause) => changes.push(`${ok}:${cause}`));
    h.activeResult(false);
    h.activeResult(false);
    assert.equal(h.healthy, true);
    h.activeResult(false);
    assert.equal(h.healthy, false);
    h.activeResult(true);
    assert.equal(h.healthy, false);
    h.activeResult(true);
    assert.equal(h.healthy, true);
    h.connectError();
    h.response(200);
    h.connectError();
    assert.equal(h.healthy, true, 'a success in between resets the connect streak');
    h.connectError();
    assert.equal(h.healthy, false);
    h.activeResult(true);
    h.activeResult(true);
    h.response(500);
    h.response(502);
    h.response(404);
    h.response(500);
    h.response(500);
    assert.equal(h.healthy, true);
    h.response(503);
    assert.equal(h.healthy, false);
    assert.deepEqual(changes, ['false:active', 'true:recovered', 'false:connect', 'true:recovered', 'false:5xx']);
  });
});

describe('WindowStats', () => {
  it('counts requests and errors per Prod in a sliding window, with percentiles', () => {
    let now = 1_000_000;
    const s = new WindowStats(() => now);
    for (let i = 1; i <= 100; i++) s.record('a', i, i > 95);
    now += 10_000;
    s.record('b', 5, false);
    const w = s.snapshot(60_000);
    const a = w.find((x) => x.prod === 'a')!;
    assert.equal(a.requests, 100);
    assert.equal(a.errors, 5);
    assert.ok(Math.abs(a.latencyMs.p50 - 50) <= 3, `p50 ${a.latencyMs.p50}`);
    assert.ok(Math.abs(a.latencyMs.p99 - 99) <= 5, `p99 ${a.latencyMs.p99}`);
    const recent = s.snapshot(5_000);
    assert.equal(recent.find((x) => x.prod === 'a')?.requests, 0, 'old seconds fall out of a short window');
    assert.equal(recent.find((x) => x.prod === 'b')?.requests, 1);
  });
});
