/**
 * The HAProxy renderer: traffic plan → haproxy.cfg text. What the config says is checked here (and that
 * HAProxy itself accepts it, `haproxy -c`); what HAProxy does with it is the conformance suite's job
 * (test/conformance/edge, plane "haproxy").
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { PlanEndpoint, TrafficPlanSpec } from '../../../src/api/kinds/traffic-plan.js';
import { findHaproxy, renderHaproxyConfig } from '../../../src/dataplanes/haproxy/index.js';
import { DroverError } from '../../../src/errors.js';

const ep = (prod: string, host: string, domain: string, extra: Partial<PlanEndpoint> = {}): PlanEndpoint => ({
  prod,
  url: `http://${host}`,
  cluster: `${domain}-1`,
  domain,
  version: 'v1',
  role: 'normal',
  state: 'active',
  failoverTarget: true,
  ...extra,
});

function plan(parts: Partial<TrafficPlanSpec> = {}): TrafficPlanSpec {
  return {
    fleet: 'web',
    revision: 3,
    failMode: 'failClosed',
    affinity: 'clientIp',
    tenantHeader: 'x-drover-tenant',
    addProdHeader: true,
    failoverToDraining: false,
    healthCheck: { path: '/healthz', intervalMs: 1000, timeoutMs: 500, unhealthyThreshold: 3, healthyThreshold: 2 },
    passive: { connectErrors: 1, consecutive5xx: 5 },
    endpoints: [],
    tenants: [],
    groups: [],
    ...parts,
  };
}

/** Tokyo (dial 100: a1 200, a2 50), osaka (dial 50: b1 cordoned, b2 draining), nagoya (dial 0: c1); three tenants. */
const representative = (parts: Partial<TrafficPlanSpec> = {}) =>
  plan({
    endpoints: [
      ep('a1', '10.0.0.1:8080', 'tokyo'),
      ep('a2', '10.0.0.2:8080', 'tokyo'),
      ep('b1', '10.0.1.1:8080', 'osaka', { failoverTarget: false }),
      ep('b2', '10.0.1.2:8080', 'osaka', { state: 'draining', failoverTarget: false }),
      ep('c1', '10.0.2.1:8080', 'nagoya'),
    ],
    groups: [
      { domain: 'tokyo', trafficDial: 100, endpoints: [{ prod: 'a1', weight: 200 }, { prod: 'a2', weight: 50 }] },
      { domain: 'osaka', trafficDial: 50, endpoints: [{ prod: 'b1', weight: 100 }, { prod: 'b2', weight: 100 }] },
      { domain: 'nagoya', trafficDial: 0, endpoints: [{ prod: 'c1', weight: 100 }] },
    ],
    tenants: [
      { name: 'shop', hosts: ['Shop.example.com', '*.shop.example.com'], redundancy: 2, prods: ['a1', 'c1'] },
      { name: 'gold', hosts: [], header: { name: 'X-Drover-Tenant', value: 'gold' }, redundancy: 1, prods: ['b1'] },
      { name: 'new', hosts: ['new.example.com'], redundancy: 1, prods: [] },
    ],
    ...parts,
  });

const listen = { host: '127.0.0.1', port: 8080 };
const lines = (cfg: string) => cfg.split('\n').map((l) => l.trim());
const has = (cfg: string, line: string) => assert.ok(lines(cfg).includes(line), `config has the line: ${line}\n---\n${cfg}`);
const before = (cfg: string, a: RegExp, b: RegExp) => {
  const ls = lines(cfg);
  const ia = ls.findIndex((l) => a.test(l));
  const ib = ls.findIndex((l) => b.test(l));
  assert.ok(ia >= 0 && ib >= 0 && ia < ib, `${a} comes before ${b}`);
};
/** The JSON body of an `http-request return … string "…"` line, unescaped as HAProxy reads it. */
const returnBody = (line: string) => JSON.parse(/ string "((?:[^"\\]|\\.)*)"/.exec(line)![1]!.replace(/\\(.)/g, '$1')) as { code: string; message: string; fix: string };

describe('renderHaproxyConfig', () => {
  const cfg = renderHaproxyConfig(representative(), { listen, stateFile: '/run/drover/state' });

  it('listens where told, keeps server health across reloads, and drops no request on a reload', () => {
    has(cfg, 'bind 127.0.0.1:8080');
    has(cfg, 'server-state-file "/run/drover/state"');
    has(cfg, 'load-server-state-from-file global');
    has(cfg, 'option idle-close-on-response');
    has(cfg, 'nbthread 1');
  });

  it('drops the standard hop-by-hop headers both ways; renders the policy\'s body and response timeouts per fleet', () => {
    for (const h of ['keep-alive', 'te', 'trailer', 'proxy-authorization', 'proxy-connection']) has(cfg, `http-request del-header ${h}`);
    for (const h of ['keep-alive', 'trailer', 'proxy-authenticate']) has(cfg, `http-response del-header ${h}`);
    assert.ok(!lines(cfg).includes('option http-buffer-request'), 'no body buffering without a body timeout');
    const timed = renderHaproxyConfig(representative({ timeouts: { requestBodyMs: 1500, responseMs: 9000 } }), { listen });
    has(timed, 'option http-buffer-request');
    has(timed, 'timeout http-request 1500ms');
    has(timed, 'timeout server 9000ms');
  });

  it('health: active checks from the plan, passive observation, on the one server per Prod that carries its traffic', () => {
    has(cfg, 'option httpchk GET /healthz');
    has(cfg, 'timeout check 500ms');
    has(cfg, 'default-server check inter 1000ms fall 3 rise 2 observe layer7 error-limit 5 on-error mark-down');
    for (const p of ['a1', 'a2', 'b1', 'b2', 'c1']) assert.equal(lines(cfg).filter((l) => l.startsWith(`server ${p} `)).length, 1, `one server line for ${p}`);
    assert.ok(!/\btrack\b/.test(cfg), 'no tracking servers: they can neither check nor observe');
  });

  it('server weights are the failover pool: active failover targets by group weight; cordoned and draining Prods weight 0', () => {
    has(cfg, 'server a1 10.0.0.1:8080 weight 200  # tokyo, active');
    has(cfg, 'server a2 10.0.0.2:8080 weight 50  # tokyo, active');
    has(cfg, 'server b1 10.0.1.1:8080 weight 0  # osaka, active, not a failover target');
    has(cfg, 'server b2 10.0.1.2:8080 weight 0  # osaka, draining, not a failover target');
    has(cfg, 'server c1 10.0.2.1:8080 weight 100  # nagoya, active');
    has(cfg, 'balance roundrobin');
  });

  it('groups: an exact draw over the dials (dial-0 groups left out), then over the healthy members by weight', () => {
    has(cfg, 'http-request set-var(txn.r) rand(150) if !{ var(txn.t) -m found }');
    has(cfg, 'http-request set-var(txn.g) int(0) if !{ var(txn.t) -m found } { var(txn.r) -m int ge 0 } { var(txn.r) -m int lt 100 }');
    has(cfg, 'http-request set-var(txn.g) int(1) if !{ var(txn.t) -m found } { var(txn.r) -m int ge 100 } { var(txn.r) -m int lt 150 }');
    assert.ok(!cfg.includes('int(2)'), 'nagoya (dial 0) is not drawn');
    has(cfg, 'http-request set-var(txn.hw) var(txn.hw),add(200) if { var(txn.g) -m int 0 } { srv_is_up(fleet_web/a1) }');
    has(cfg, 'http-request set-var(txn.w) rand,mod(txn.hw) if { var(txn.g) -m int 0 } { var(txn.hw) -m int gt 0 }');
    has(cfg, 'http-request set-var(txn.srv) str(a2) if { var(txn.g) -m int 0 } { var(txn.hw) -m int gt 0 } !{ var(txn.srv) -m found } { srv_is_up(fleet_web/a2) } { var(txn.w) -m int lt 50 }');
    // b2 is draining: never drawn, in no rule.
    assert.ok(!/str\(b2\)|fleet_web\/b2/.test(cfg), 'the draining Prod is never picked');
    has(cfg, 'use-server a1 if { var(txn.srv) -m str a1 }');
  });

  it('tenants: normalised host, exact hosts before wildcards before headers; a tenant without Prods keeps the groups', () => {
    has(cfg, "http-request set-var(txn.host) req.hdr(host),lower,regsub(':[0-9]+$',''),regsub('\\.$','')");
    has(cfg, 'http-request set-var(txn.t) int(0) if !{ var(txn.matched) -m found } { var(txn.host) -m str shop.example.com }');
    has(cfg, 'http-request set-var(txn.t) int(0) if !{ var(txn.matched) -m found } { var(txn.hsuffix) -m str shop.example.com }');
    has(cfg, "http-request set-var(txn.t) int(1) if !{ var(txn.matched) -m found } { req.hdr(x-drover-tenant) -m str 'gold' }");
    before(cfg, /txn\.host\) -m str new\.example\.com/, /txn\.hsuffix\) -m str shop/);
    before(cfg, /txn\.hsuffix\) -m str shop/, /req\.hdr\(x-drover-tenant\)/);
    assert.ok(!cfg.includes('set-var(txn.t) int(2)'), 'tenant "new" (no Prods) sets no tenant id, so its requests use the groups');
    has(cfg, 'http-request set-var(txn.matched) bool(true) if !{ var(txn.matched) -m found } { var(txn.host) -m str new.example.com }  # tenant new');
  });

  it('redundant tenants: a client-IP hash picks the slot, then the first healthy Prod from there', () => {
    has(cfg, 'http-request set-var(txn.key) src,crc32 if { var(txn.t) -m int 0 }');
    has(cfg, 'http-request set-var(txn.slot) var(txn.key),mod(2) if { var(txn.t) -m int 0 }');
    before(cfg, /str\(c1\) if \{ var\(txn\.t\) -m int 0 \} \{ var\(txn\.slot\) -m int 1 \}/, /str\(a1\) if \{ var\(txn\.t\) -m int 0 \} \{ var\(txn\.slot\) -m int 1 \}/);
    // A one-Prod tenant: its Prod when healthy (cordoned b1 included: use-server reaches weight-0 servers).
    has(cfg, 'http-request set-var(txn.srv) str(b1) if { var(txn.t) -m int 1 } { srv_is_up(fleet_web/b1) }');
  });

  it('cookie affinity: a random key in a drover-affinity cookie set on the first answer only', () => {
    const c = renderHaproxyConfig(representative({ affinity: 'cookie' }), { listen });
    has(c, 'http-request set-var(txn.newkey) uuid(4) if { var(txn.t) -m int 0 } !{ req.cook(drover-affinity) -m found }');
    has(c, 'http-request set-var(txn.key) req.cook(drover-affinity),crc32 if { var(txn.t) -m int 0 } { req.cook(drover-affinity) -m found }');
    has(c, 'http-response add-header set-cookie "drover-affinity=%[var(txn.newkey)]; Path=/; HttpOnly; SameSite=Lax" if { var(txn.newkey) -m found }');
  });

  it('retries once on another Prod, connect failures always, empty responses only for idempotent methods', () => {
    has(cfg, 'retries 1');
    has(cfg, 'option redispatch');
    has(cfg, 'retry-on conn-failure empty-response');
    has(cfg, 'http-request disable-l7-retry unless { method GET HEAD OPTIONS TRACE PUT DELETE }');
    has(cfg, 'http-reuse always');
  });

  it('headers: X-Forwarded-For/-Proto/-Host, and x-drover-prod from the server name', () => {
    has(cfg, 'option forwardfor');
    has(cfg, 'http-request set-header x-forwarded-proto http');
    has(cfg, 'http-request set-header x-forwarded-host %[req.hdr(host)] if { req.hdr(host) -m found }');
    has(cfg, 'http-response set-header x-drover-prod %[srv_name]');
    assert.ok(!renderHaproxyConfig(representative({ addProdHeader: false }), { listen }).includes('x-drover-prod'), 'addProdHeader: false drops it');
  });

  it("failClosed: the edge's JSON 503 when no Prod may serve", () => {
    const line = lines(cfg).find((l) => l.startsWith('http-request return status 503'))!;
    assert.ok(line.endsWith('if !{ var(txn.srv) -m found } { nbsrv(fleet_web) eq 0 }'), line);
    const body = returnBody(line);
    assert.equal(body.code, 'DROVER_E_UNAVAILABLE');
    assert.match(body.message, /no healthy Prod can serve fleet "web" \(failMode: failClosed\)/);
    assert.match(body.fix, /drover get prods/);
    assert.ok(!cfg.includes('force-persist'), 'failClosed never sends to a down server');
  });

  it('failOpen: force-persist only while nothing is up; the tenant first, else the failover targets by weight', () => {
    const c = renderHaproxyConfig(representative({ failMode: 'failOpen' }), { listen });
    has(c, 'force-persist if { nbsrv(fleet_web) eq 0 }');
    has(c, 'http-request set-var(txn.srv) str(b1) if !{ var(txn.srv) -m found } { nbsrv(fleet_web) eq 0 } { var(txn.t) -m int 1 }');
    has(c, 'http-request set-var(txn.w) rand(350) if !{ var(txn.srv) -m found } { nbsrv(fleet_web) eq 0 }');
    has(c, 'http-request set-var(txn.srv) str(c1) if !{ var(txn.srv) -m found } { nbsrv(fleet_web) eq 0 } { var(txn.w) -m int ge 250 } { var(txn.w) -m int lt 350 }');
    assert.ok(!/nbsrv\(fleet_web\) eq 0 \} \{ var\(txn\.w\)[^\n]*str\(b[12]\)|str\(b[12]\)[^\n]*var\(txn\.w\) -m int ge/.test(c), 'cordoned and draining Prods are not in the fail-open draw');
  });

  it('failoverToDraining: drained and non-target Prods become backup servers, used only when no active one is left', () => {
    const c = renderHaproxyConfig(representative({ failoverToDraining: true }), { listen });
    has(c, 'option allbackups');
    has(c, 'server b1 10.0.1.1:8080 weight 100 backup  # osaka, active, not a failover target');
    has(c, 'server b2 10.0.1.2:8080 weight 100 backup  # osaka, draining, not a failover target');
    has(c, 'server a1 10.0.0.1:8080 weight 200  # tokyo, active');
  });

  it('weights: a Prod in several groups sums its weights, capped at 256; all dials 0 means every group counts once', () => {
    const c = renderHaproxyConfig(
      plan({
        endpoints: [ep('a1', '10.0.0.1:80', 'tokyo'), ep('b1', '10.0.0.2:80', 'osaka')],
        groups: [
          { domain: 'tokyo', trafficDial: 0, endpoints: [{ prod: 'a1', weight: 200 }] },
          { domain: 'osaka', trafficDial: 0, endpoints: [{ prod: 'a1', weight: 100 }, { prod: 'b1', weight: 1 }] },
        ],
      }),
      { listen },
    );
    has(c, 'server a1 10.0.0.1:80 weight 256  # tokyo, active');
    has(c, 'http-request set-var(txn.r) rand(2) if !{ var(txn.t) -m found }');
  });

  it('one group whose members are the failover pool is left to the load balancing (no per-request draw)', () => {
    const c = renderHaproxyConfig(
      plan({
        endpoints: [ep('u1', '127.0.0.1:9001', 'local'), ep('u2', '127.0.0.1:9002', 'local')],
        groups: [{ domain: 'local', trafficDial: 100, endpoints: [{ prod: 'u1', weight: 100 }, { prod: 'u2', weight: 100 }] }],
      }),
      { listen },
    );
    assert.ok(!c.includes('rand('), 'no draw');
    assert.ok(!c.includes('txn.host'), 'no tenant matches by host, so no per-request host normalisation');
    has(c, 'server u1 127.0.0.1:9001 weight 100  # local, active');
    has(c, 'server u2 127.0.0.1:9002 weight 100  # local, active');
  });

  it('several fleets: tenants of each, unmatched requests to the first', () => {
    const c = renderHaproxyConfig(
      [
        plan({ endpoints: [ep('w1', '10.0.0.1:80', 'tokyo')], groups: [{ domain: 'tokyo', trafficDial: 100, endpoints: [{ prod: 'w1', weight: 1 }] }] }),
        plan({ fleet: 'api', endpoints: [ep('p1', '10.0.0.9:80', 'tokyo')], tenants: [{ name: 'acme', hosts: ['api.acme.com'], redundancy: 1, prods: ['p1'] }] }),
      ],
      { listen },
    );
    has(c, 'use_backend fleet_api if { var(txn.f) -m int 1 }');
    has(c, 'default_backend fleet_web');
    has(c, 'http-request set-var(txn.f) int(1) if !{ var(txn.matched) -m found } { var(txn.host) -m str api.acme.com }');
  });

  it('is deterministic', () => {
    assert.equal(renderHaproxyConfig(representative(), { listen, stateFile: '/run/drover/state' }), cfg);
  });

  it('refuses what it cannot render safely, naming the Prod or tenant and the fix', () => {
    const refuses = (p: TrafficPlanSpec | TrafficPlanSpec[], re: RegExp) =>
      assert.throws(
        () => renderHaproxyConfig(p, { listen }),
        (e: unknown) => e instanceof DroverError && e.code === 'DROVER_E_INVALID' && re.test(e.message) && e.fix !== undefined,
        `refused with ${re}`,
      );
    refuses(plan({ endpoints: [ep('a1', '10.0.0.1:80/app', 'tokyo')] }), /Prod "a1" has an endpoint with a path/);
    refuses(plan({ tenants: [{ name: 't', hosts: [], header: { name: 'x-t', value: "it's" }, redundancy: 1, prods: [] }] }), /tenant "t" has a header value/);
    refuses(plan({ tenants: [{ name: 't', hosts: ['a b.example.com'], redundancy: 1, prods: [] }] }), /tenant "t" has a host/);
    refuses([plan(), plan()], /fleet "web" has two plans/);
    refuses(plan({ endpoints: [ep('a1', '10.0.0.1:80', 'x'), ep('a1', '10.0.0.2:80', 'x')] }), /listed twice/);
  });
});

const haproxy = findHaproxy();
describe('haproxy -c accepts the rendered configs', { skip: haproxy === undefined ? 'haproxy binary missing: apt-get install haproxy' : false }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'drover-haproxy-render-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const variants: [string, TrafficPlanSpec | TrafficPlanSpec[]][] = [
    ['representative, clientIp, failClosed', representative()],
    ['cookie affinity, failOpen', representative({ affinity: 'cookie', failMode: 'failOpen' })],
    ['no affinity, failoverToDraining', representative({ affinity: 'none', failoverToDraining: true })],
    ['https endpoint', plan({ endpoints: [ep('s1', 'prod.example.com:443', 'tokyo', { url: 'https://prod.example.com' })], groups: [{ domain: 'tokyo', trafficDial: 100, endpoints: [{ prod: 's1', weight: 1 }] }] })],
    ['no plan at all', []],
  ];
  for (const [name, p] of variants) {
    it(name, () => {
      const file = join(dir, 'haproxy.cfg');
      writeFileSync(file, renderHaproxyConfig(p, { listen, stateFile: join(dir, 'state') }));
      writeFileSync(join(dir, 'state'), '1\n');
      const r = spawnSync(haproxy!, ['-c', '-f', file], { encoding: 'utf8' });
      assert.equal(r.status, 0, `haproxy -c: ${r.stdout}${r.stderr}`);
      // An unresolvable Prod name (no DNS in a sandbox) is a warning by design: init-addr none.
      const warnings = r.stderr.split('\n').filter((l) => l.includes('[WARNING]') && !l.includes('could not resolve address'));
      assert.deepEqual(warnings, [], 'no warnings');
    });
  }
});
