/**
 * Traffic plans → haproxy.cfg (pure: no I/O, no clocks, no randomness; equal inputs give equal text).
 *
 * Shape of the rendered config, and why:
 * - One backend per fleet that holds every Prod of the plan exactly once, with the active checks and the
 *   passive observation on those very servers. HAProxy's `observe` only sees traffic that goes through the
 *   server that owns the check; a server that `track`s another one can neither check nor observe (tried:
 *   "unable to enable checks and tracking at the same time", and errors through a tracking server never
 *   mark it down). Backends per tenant or per group with tracking servers would therefore lose passive
 *   health, or split one Prod's health into several diverging views. So the choice of a Prod is made by
 *   `http-request` rules on variables and `srv_is_up()`, and carried out with `use-server`.
 * - Unmatched traffic (rule 2): a random draw over the dials picks a group (`rand(sum of dials)`), a second
 *   draw over the healthy members' weights picks the Prod (`rand,mod(healthy weight)`). Both are exact
 *   integer draws: no rounding of dials or weights.
 * - Failover (rule 4): a group with no healthy member of weight > 0 picks nobody; the request then falls
 *   to the backend's load balancing (`balance roundrobin`), whose server weights are the failover pool:
 *   each active failover-target Prod weighted by its group weights (summed if it is in several groups,
 *   capped at HAProxy's 256; the plan's 0–255 fit as they are), everyone else weight 0. HAProxy skips
 *   down servers by itself, so that is "healthy failover targets by weight, ignoring dials". Weight-0
 *   servers are never balanced to and do not count in `nbsrv`, but `use-server` still reaches them, so a
 *   cordoned Prod keeps serving its own tenants. With `failoverToDraining`, draining and non-target Prods
 *   become `backup` servers: HAProxy uses them only when no active server is left, as the edge does.
 * - Tenants (rule 1): the frontend normalises Host (lower case, no port, no trailing dot), matches exact
 *   hosts, then `*.` wildcards (exactly one more label), then tenant headers, first tenant wins. Redundant
 *   tenants hash a client key (client IP, or a random `drover-affinity` cookie set on the first answer) onto
 *   their Prods and take the first healthy one from there, as the edge does (crc32 instead of FNV-1a, so a
 *   given client may land on the other Prod than at the edge; each client still stays on one).
 * - Fail mode: failClosed answers the edge's JSON 503 when nobody may serve. failOpen uses
 *   `force-persist` (only while `nbsrv` is 0) so `use-server` may pick a Prod HAProxy considers down.
 * - Retries (rule 5): `retries 1` + `option redispatch` + `retry-on conn-failure empty-response`, with L7
 *   retries (the empty response) disabled for non-idempotent methods. The retry is balanced over the
 *   failover pool (excluding the Prod that failed), not over the tenant's or the group's own Prods.
 *
 * What HAProxy cannot express exactly is listed in `HAPROXY_LIMITS` (the adapter's declared capabilities).
 */
import { isIP } from 'node:net';
import type { PlanEndpoint, TrafficPlanSpec } from '../../api/kinds/traffic-plan.js';
import { DroverError } from '../../errors.js';

export interface HaproxyRenderOptions {
  listen: { host: string; port: number };
  /** `server-state-file`: where a reload finds the servers' health (the process wrapper writes it). */
  stateFile?: string;
  /** Worker threads (default 1). */
  nbthread?: number;
  maxconn?: number;
  timeouts?: Partial<HaproxyTimeouts>;
}

export interface HaproxyTimeouts {
  connectMs: number;
  /** Client inactivity, and how long an idle client keep-alive connection is kept. */
  clientMs: number;
  /** The edge sets no response timeout; HAProxy needs one, so it is long. */
  serverMs: number;
  /** Old workers left after a reload are killed after this (their in-flight requests with them). */
  hardStopAfterMs: number;
}

/** Same values as the edge where it has them (connect 2 s, keep-alive 65 s). */
export const DEFAULT_TIMEOUTS: HaproxyTimeouts = { connectMs: 2000, clientMs: 65_000, serverMs: 600_000, hardStopAfterMs: 120_000 };

export const AFFINITY_COOKIE = 'drover-affinity';

/**
 * What this adapter cannot express of the traffic rules, and why. The conformance suite skips tests that
 * need one of these with the reason; docs/architecture.md repeats them.
 */
export const HAPROXY_LIMITS = {
  'update-on-open-connections':
    'a plan update is a reload: a new worker takes new connections, while a client connection that is already open stays with the old worker and its old plan for one more request (answered with Connection: close; option idle-close-on-response, so that no request is dropped)',
  'passive-thresholds':
    'HAProxy keeps one consecutive-error counter per server (observe layer7 counts refused connections and 5xx alike), so passive.connectErrors cannot differ from passive.consecutive5xx; the rendered error-limit is passive.consecutive5xx',
  'retry-target':
    'a retry is redispatched by the backend load balancing, i.e. over the failover pool minus the Prod that failed, not over the same tenant or group first, and without preferring another cluster',
  'start-optimism':
    'at start (not after a reload, which restores the saved state) HAProxy holds every server one failed check away from down (its check health starts at `rise`), so the first failed check marks a Prod down whatever healthCheck.unhealthyThreshold says',
  'endpoint-path': 'a server is an address: endpoint URLs with a path prefix are refused at render time',
  'connection-named-headers':
    'HAProxy drops the standard hop-by-hop headers (rendered del-header rules) but not the ones a Connection header names: that needs the header\'s value as a list of names, which its rules cannot iterate',
  'edge-metrics': 'per-Prod metrics are HAProxy\'s own (stats socket, Prometheus exporter), not drover_edge_*; release gates read the edge\'s',
} as const;
export type HaproxyLimit = keyof typeof HAPROXY_LIMITS;

const RESOLVERS = 'drover_dns';
const IDEMPOTENT = 'GET HEAD OPTIONS TRACE PUT DELETE';
const NAME = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/;
const HOST = /^(\*\.)?[a-z0-9_.-]+$|^\[[0-9a-f:.]+\]$/;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;

interface TenantRef {
  /** Unique over all plans: the value of txn.t. */
  id: number;
  name: string;
  /** Assigned Prods that are in the plan and active, in plan order (the affinity slots). */
  assigned: string[];
  /** The plan's fallback Prods that are in the plan and active: tried, in order, when no assigned one is up. */
  fallback: string[];
}

interface Ctx {
  fleetIndex: Map<string, number>;
  tenants: Map<string, TenantRef[]>;
}

export function renderHaproxyConfig(plans: TrafficPlanSpec | readonly TrafficPlanSpec[], opts: HaproxyRenderOptions): string {
  const list: readonly TrafficPlanSpec[] = Array.isArray(plans) ? plans : [plans as TrafficPlanSpec];
  const t = { ...DEFAULT_TIMEOUTS, ...opts.timeouts };
  const seen = new Set<string>();
  for (const p of list) {
    if (seen.has(p.fleet)) throw invalid(`fleet "${p.fleet}" has two plans`, 'render one plan per fleet');
    seen.add(p.fleet);
    checkName(p.fleet, 'fleet');
  }
  const out: string[] = [];
  const revs = list.map((p) => `${p.fleet}@${p.revision}`).join(', ') || 'none';
  out.push(`# Rendered by Drover from traffic plans: ${revs}. Re-rendered on every plan change; edits are lost.`);
  out.push('global');
  out.push(`  nbthread ${opts.nbthread ?? 1}`);
  out.push(`  maxconn ${opts.maxconn ?? 4096}`);
  out.push(`  hard-stop-after ${t.hardStopAfterMs}ms`);
  if (opts.stateFile !== undefined) out.push(`  server-state-file ${quote(opts.stateFile)}`);
  out.push('');
  out.push('defaults');
  out.push('  mode http');
  out.push(`  timeout connect ${t.connectMs}ms`);
  out.push(`  timeout client ${t.clientMs}ms`);
  out.push(`  timeout http-keep-alive ${t.clientMs}ms`);
  out.push(`  timeout server ${t.serverMs}ms`);
  out.push(`  timeout tunnel ${t.serverMs}ms`);
  // A reload closes idle client connections only after answering their next request, so a client
  // that was about to send on one does not see it reset under its feet.
  out.push('  option idle-close-on-response');
  if (opts.stateFile !== undefined) out.push('  load-server-state-from-file global');
  // HAProxy's own error pages in the edge's JSON shape.
  out.push(`  http-error status 502 content-type application/json string ${quote(errorJson('DROVER_E_BAD_GATEWAY', 'the Prod failed before answering, and so did the retry', "check the Prods' health (drover get prods)"))}`);
  out.push(`  http-error status 503 content-type application/json string ${quote(errorJson('DROVER_E_UNAVAILABLE', 'no healthy Prod can serve this request', "check the Prods' health (drover get prods)"))}`);
  out.push(`  http-error status 504 content-type application/json string ${quote(errorJson('DROVER_E_GATEWAY_TIMEOUT', 'the Prod did not answer in time', "check the Prods' health (drover get prods)"))}`);
  out.push('');
  if (needsResolvers(list)) {
    out.push(`resolvers ${RESOLVERS}`);
    out.push('  parse-resolv-conf');
    out.push('  hold valid 10s');
    out.push('');
  }

  const ctx: Ctx = { fleetIndex: new Map(list.map((p, i) => [p.fleet, i] as const)), tenants: new Map() };
  let id = 0;
  for (const p of list) {
    const active = new Set(p.endpoints.filter((e) => e.state === 'active').map((e) => e.prod));
    ctx.tenants.set(
      p.fleet,
      p.tenants.map((tn) => {
        const assigned = tn.prods.filter((n) => active.has(n));
        return { id: id++, name: tn.name, assigned, fallback: (tn.fallback ?? []).filter((n) => active.has(n) && !assigned.includes(n)) };
      }),
    );
  }
  out.push(...frontend(list, opts, ctx));
  for (const p of list) {
    out.push('');
    out.push(...fleetBackend(p, ctx));
  }
  if (list.length === 0) {
    out.push('');
    out.push('backend no_plan');
    out.push(`  http-request return status 503 content-type application/json string ${quote(errorJson('DROVER_E_UNAVAILABLE', 'this data plane has no traffic plan yet', 'check that the control plane is reachable and the fleet exists (drover get trafficplans)'))}`);
  }
  return out.join('\n') + '\n';
}

function frontend(plans: readonly TrafficPlanSpec[], opts: HaproxyRenderOptions, ctx: Ctx): string[] {
  const o: string[] = [];
  o.push('frontend drover');
  const host = opts.listen.host.includes(':') ? `[${opts.listen.host}]` : opts.listen.host;
  o.push(`  bind ${host}:${opts.listen.port}`);
  // X-Forwarded-*: the client's own Proto/Host are not trusted; For is appended to (one more header line).
  o.push('  option forwardfor');
  o.push('  http-request del-header x-forwarded-proto');
  o.push('  http-request del-header x-forwarded-host');
  o.push('  http-request set-header x-forwarded-proto http');
  o.push('  http-request set-header x-forwarded-host %[req.hdr(host)] if { req.hdr(host) -m found }');
  // Hop-by-hop headers stay on their hop (Connection and Upgrade are HAProxy's own to manage; the headers
  // a Connection header names cannot be expressed, see HAPROXY_LIMITS['connection-named-headers']).
  for (const h of ['keep-alive', 'proxy-connection', 'te', 'trailer', 'proxy-authorization']) o.push(`  http-request del-header ${h}`);
  for (const h of ['keep-alive', 'proxy-connection', 'trailer', 'proxy-authenticate']) o.push(`  http-response del-header ${h}`);

  // Rule 1: exact hosts, then wildcards, then headers; the first tenant in plan order wins a tie.
  interface T {
    id: number;
    fleet: number;
    name: string;
    hosts: string[];
    wild: string[];
    header: { name: string; value: string } | undefined;
    assigned: boolean;
  }
  const tenants: T[] = [];
  for (const p of plans) {
    const refs = ctx.tenants.get(p.fleet)!;
    p.tenants.forEach((tn, i) => {
      const hosts = tn.hosts.map((h) => h.toLowerCase().replace(/\.$/, ''));
      for (const h of hosts) if (!HOST.test(h)) throw invalid(`tenant "${tn.name}" has a host HAProxy cannot match safely: ${JSON.stringify(h)}`, 'use a DNS name or a *.wildcard');
      if (tn.header) {
        if (!HEADER_NAME.test(tn.header.name.toLowerCase())) throw invalid(`tenant "${tn.name}" has an invalid header name ${JSON.stringify(tn.header.name)}`, 'use an HTTP token as the header name');
        if (!/^[\x21-\x7e]+$/.test(tn.header.value) || tn.header.value.includes("'")) {
          throw invalid(`tenant "${tn.name}" has a header value HAProxy cannot match safely: ${JSON.stringify(tn.header.value)}`, 'use printable ASCII without spaces or quotes');
        }
      }
      const ref = refs[i]!;
      tenants.push({
        id: ref.id,
        fleet: ctx.fleetIndex.get(p.fleet)!,
        name: tn.name,
        hosts: hosts.filter((h) => !h.startsWith('*.')),
        wild: hosts.filter((h) => h.startsWith('*.')).map((h) => h.slice(2)),
        header: tn.header ? { name: tn.header.name.toLowerCase(), value: tn.header.value } : undefined,
        assigned: ref.assigned.length > 0,
      });
    });
  }
  // txn.matched stops the search at the first match; txn.t is set only for tenants with Prods of their
  // own (a tenant without any is served by its fleet's groups, as at the edge); txn.f picks the fleet.
  const match = (tn: T, cond: string) => {
    const not = '!{ var(txn.matched) -m found }';
    o.push(`  http-request set-var(txn.f) int(${tn.fleet}) if ${not} ${cond}`);
    if (tn.assigned) o.push(`  http-request set-var(txn.t) int(${tn.id}) if ${not} ${cond}`);
    o.push(`  http-request set-var(txn.matched) bool(true) if ${not} ${cond}  # tenant ${comment(tn.name)}`);
  };
  // Host normalisation only when some tenant matches by host: it is per-request work.
  if (tenants.some((tn) => tn.hosts.length > 0 || tn.wild.length > 0)) {
    o.push("  http-request set-var(txn.host) req.hdr(host),lower,regsub(':[0-9]+$',''),regsub('\\.$','')");
  }
  if (tenants.some((tn) => tn.wild.length > 0)) {
    o.push("  http-request set-var(txn.hsuffix) var(txn.host),regsub('^[^.]+\\.','') if { var(txn.host) -m reg '^[^.]+\\.' }");
  }
  for (const tn of tenants) if (tn.hosts.length > 0) match(tn, `{ var(txn.host) -m str ${tn.hosts.join(' ')} }`);
  for (const tn of tenants) if (tn.wild.length > 0) match(tn, `{ var(txn.hsuffix) -m str ${tn.wild.join(' ')} }`);
  // Header names in order of first appearance, as the edge looks them up.
  const names: string[] = [];
  for (const tn of tenants) if (tn.header && !names.includes(tn.header.name)) names.push(tn.header.name);
  for (const name of names) {
    for (const tn of tenants) if (tn.header?.name === name) match(tn, `{ req.hdr(${name}) -m str '${tn.header.value}' }`);
  }
  for (const p of plans.slice(1)) o.push(`  use_backend fleet_${p.fleet} if { var(txn.f) -m int ${ctx.fleetIndex.get(p.fleet)} }`);
  o.push(plans[0] ? `  default_backend fleet_${plans[0].fleet}` : '  default_backend no_plan');
  return o;
}

function fleetBackend(plan: TrafficPlanSpec, ctx: Ctx): string[] {
  const be = `fleet_${plan.fleet}`;
  const o: string[] = [];
  const byName = new Map<string, PlanEndpoint>();
  for (const e of plan.endpoints) {
    checkName(e.prod, 'Prod');
    if (byName.has(e.prod)) throw invalid(`Prod "${e.prod}" is listed twice in the plan of fleet "${plan.fleet}"`, 'list each Prod once');
    byName.set(e.prod, e);
  }
  const active = (n: string) => byName.get(n)?.state === 'active';
  const up = (n: string) => `{ srv_is_up(${be}/${n}) }`;
  const SRV = '{ var(txn.srv) -m found }';
  const hc = plan.healthCheck;
  if (!/^\/[\x21-\x7e]*$/.test(hc.path)) throw invalid(`health check path ${JSON.stringify(hc.path)} of fleet "${plan.fleet}" is not a plain path`, 'use a path without spaces, e.g. /healthz');

  // Failover pool weights (rule 4): active failover targets by their group weights, ignoring dials.
  const poolWeight = new Map<string, number>();
  const spareWeight = new Map<string, number>();
  for (const g of plan.groups) {
    for (const m of g.endpoints) {
      const e = byName.get(m.prod);
      if (!e || m.weight <= 0) continue;
      const into = e.state === 'active' && e.failoverTarget ? poolWeight : spareWeight;
      into.set(m.prod, (into.get(m.prod) ?? 0) + m.weight);
    }
  }
  if (plan.failoverToDraining) for (const e of plan.endpoints) if (!poolWeight.has(e.prod) && !spareWeight.has(e.prod)) spareWeight.set(e.prod, 1);

  o.push(`backend ${be}`);
  o.push('  balance roundrobin');
  // The policy's body timeout: HAProxy waits for the body (up to its buffer) before picking a server,
  // and answers 408 when it does not arrive in time, as the edge does.
  const bodyMs = plan.timeouts?.requestBodyMs;
  if (bodyMs !== undefined && bodyMs > 0) {
    o.push('  option http-buffer-request');
    o.push(`  timeout http-request ${bodyMs}ms`);
  }
  if (plan.timeouts?.responseMs !== undefined && plan.timeouts.responseMs > 0) o.push(`  timeout server ${plan.timeouts.responseMs}ms`);
  o.push('  option allbackups');
  o.push('  http-reuse always');
  o.push('  retries 1');
  o.push('  option redispatch');
  o.push('  retry-on conn-failure empty-response');
  // Rule 5: a reset after the request went out is retried only for idempotent methods.
  o.push(`  http-request disable-l7-retry unless { method ${IDEMPOTENT} }`);
  o.push(`  option httpchk GET ${hc.path}`);
  o.push(`  timeout check ${hc.timeoutMs}ms`);
  // One counter of consecutive errors per server (see HAPROXY_LIMITS['passive-thresholds']).
  o.push(`  default-server check inter ${hc.intervalMs}ms fall ${hc.unhealthyThreshold} rise ${hc.healthyThreshold} observe layer7 error-limit ${plan.passive.consecutive5xx} on-error mark-down`);
  if (plan.failMode === 'failOpen') o.push(`  force-persist if { nbsrv(${be}) eq 0 }`);
  for (const e of plan.endpoints) {
    const pool = poolWeight.get(e.prod);
    const spare = spareWeight.get(e.prod);
    const weight = pool !== undefined ? Math.min(256, pool) : plan.failoverToDraining && spare !== undefined ? Math.min(256, spare) : 0;
    const backup = pool === undefined && plan.failoverToDraining && spare !== undefined ? ' backup' : '';
    o.push(`  server ${e.prod} ${address(e)} weight ${weight}${backup}  # ${comment(`${e.domain}, ${e.state}${e.failoverTarget ? '' : ', not a failover target'}`)}`);
  }

  // Tenants with Prods of their own.
  const tenants = (ctx.tenants.get(plan.fleet) ?? []).filter((x) => x.assigned.length > 0);
  const redundant = tenants.filter((x) => x.assigned.length > 1);
  if (redundant.length > 0) {
    const R = `{ var(txn.t) -m int ${redundant.map((x) => x.id).join(' ')} }`;
    if (plan.affinity === 'clientIp') o.push(`  http-request set-var(txn.key) src,crc32 if ${R}`);
    else if (plan.affinity === 'cookie') {
      o.push(`  http-request set-var(txn.key) req.cook(${AFFINITY_COOKIE}),crc32 if ${R} { req.cook(${AFFINITY_COOKIE}) -m found }`);
      o.push(`  http-request set-var(txn.newkey) uuid(4) if ${R} !{ req.cook(${AFFINITY_COOKIE}) -m found }`);
      o.push('  http-request set-var(txn.key) var(txn.newkey),crc32 if { var(txn.newkey) -m found }');
      o.push(`  http-response add-header set-cookie "${AFFINITY_COOKIE}=%[var(txn.newkey)]; Path=/; HttpOnly; SameSite=Lax" if { var(txn.newkey) -m found }`);
    } else o.push(`  http-request set-var(txn.key) rand if ${R}`);
  }
  for (const x of tenants) {
    const T = `{ var(txn.t) -m int ${x.id} }`;
    o.push(`  # tenant ${comment(x.name)}: ${x.assigned.join(', ')}`);
    const n = x.assigned.length;
    if (n === 1) {
      o.push(`  http-request set-var(txn.srv) str(${x.assigned[0]}) if ${T} ${up(x.assigned[0]!)}`);
    } else {
      // From the client's slot, the first healthy Prod onwards (so only a failed Prod's clients move).
      o.push(`  http-request set-var(txn.slot) var(txn.key),mod(${n}) if ${T}`);
      for (let s = 0; s < n; s++) {
        for (let k = 0; k < n; k++) {
          const p = x.assigned[(s + k) % n]!;
          o.push(`  http-request set-var(txn.srv) str(${p}) if ${T} { var(txn.slot) -m int ${s} } !${SRV} ${up(p)}`);
        }
      }
    }
    // None of its own is up: where the scheduler will move it, before the fleet's failover pool.
    for (const p of x.fallback) o.push(`  http-request set-var(txn.srv) str(${p}) if ${T} !${SRV} ${up(p)}  # fallback`);
  }

  // Rule 2: groups by dial, then members by weight among the healthy ones. Tenant requests skip this.
  const dialTotal = plan.groups.reduce((s, g) => s + g.trafficDial, 0);
  const groups = plan.groups
    .map((g) => ({ g, dial: dialTotal > 0 ? g.trafficDial : 1, members: g.endpoints.filter((m) => m.weight > 0 && active(m.prod)) }))
    .filter((x) => x.dial > 0);
  const oneGroupIsThePool =
    plan.groups.length === 1 && groups[0] !== undefined && groups[0].members.every((m) => byName.get(m.prod)?.failoverTarget === true && poolWeight.get(m.prod) === m.weight);
  const NT = '!{ var(txn.t) -m found }';
  if (oneGroupIsThePool) {
    o.push(`  # one group whose members are exactly the failover pool: the load balancing alone does rule 2`);
  } else if (groups.length > 0) {
    const D = groups.reduce((s, x) => s + x.dial, 0);
    o.push(`  http-request set-var(txn.r) rand(${D}) if ${NT}`);
    let from = 0;
    groups.forEach((x, gi) => {
      const G = `{ var(txn.g) -m int ${gi} }`;
      o.push(`  # group ${comment(x.g.domain)}: dial ${x.g.trafficDial} (${from}–${from + x.dial - 1} of ${D})`);
      o.push(`  http-request set-var(txn.g) int(${gi}) if ${NT} { var(txn.r) -m int ge ${from} } { var(txn.r) -m int lt ${from + x.dial} }`);
      from += x.dial;
      if (x.members.length === 0) return;
      o.push(`  http-request set-var(txn.hw) int(0) if ${G}`);
      for (const m of x.members) o.push(`  http-request set-var(txn.hw) var(txn.hw),add(${m.weight}) if ${G} ${up(m.prod)}`);
      const HW = '{ var(txn.hw) -m int gt 0 }';
      o.push(`  http-request set-var(txn.w) rand,mod(txn.hw) if ${G} ${HW}`);
      x.members.forEach((m, mi) => {
        o.push(`  http-request set-var(txn.srv) str(${m.prod}) if ${G} ${HW} !${SRV} ${up(m.prod)} { var(txn.w) -m int lt ${m.weight} }`);
        if (mi < x.members.length - 1) o.push(`  http-request set-var(txn.w) var(txn.w),sub(${m.weight}) if ${G} ${HW} !${SRV} ${up(m.prod)}`);
      });
    });
    // A member going down between the sums and the pick leaves txn.srv unset: the pool then serves.
  }

  // Rule 4's end: nobody may serve.
  const NONE = `!${SRV} { nbsrv(${be}) eq 0 }`;
  if (plan.failMode === 'failOpen') {
    // The unhealthy ones are tried instead: the tenant's own Prods first, else the failover targets.
    for (const x of tenants) {
      const T = `{ var(txn.t) -m int ${x.id} }`;
      const n = x.assigned.length;
      if (n === 1) o.push(`  http-request set-var(txn.srv) str(${x.assigned[0]}) if ${NONE} ${T}`);
      else {
        o.push(`  http-request set-var(txn.slot) rand(${n}) if ${NONE} ${T}`);
        x.assigned.forEach((p, s) => o.push(`  http-request set-var(txn.srv) str(${p}) if ${NONE} ${T} { var(txn.slot) -m int ${s} }`));
      }
    }
    const open = [...poolWeight].filter(([, w]) => w > 0);
    const total = open.reduce((s, [, w]) => s + w, 0);
    if (total > 0) {
      o.push(`  http-request set-var(txn.w) rand(${total}) if ${NONE}`);
      let acc = 0;
      for (const [p, w] of open) {
        o.push(`  http-request set-var(txn.srv) str(${p}) if ${NONE} { var(txn.w) -m int ge ${acc} } { var(txn.w) -m int lt ${acc + w} }`);
        acc += w;
      }
    }
  }
  const who = `fleet "${plan.fleet}"`;
  o.push(`  http-request return status 503 content-type application/json string ${quote(errorJson('DROVER_E_UNAVAILABLE', `no healthy Prod can serve ${who} (failMode: ${plan.failMode})`, `check the Prods' health (drover get prods) and the traffic plan (drover get trafficplan ${plan.fleet} -o yaml)`))} if ${NONE}`);
  for (const e of plan.endpoints) o.push(`  use-server ${e.prod} if { var(txn.srv) -m str ${e.prod} }`);
  if (plan.addProdHeader) o.push('  http-response set-header x-drover-prod %[srv_name]');
  return o;
}

function address(e: PlanEndpoint): string {
  let u: URL;
  try {
    u = new URL(e.url);
  } catch {
    throw invalid(`Prod "${e.prod}" has an endpoint that is not a URL: ${JSON.stringify(e.url)}`, 'the plan compiler writes http(s)://host:port');
  }
  if (u.pathname !== '/' && u.pathname !== '') throw invalid(`Prod "${e.prod}" has an endpoint with a path (${e.url}); ${HAPROXY_LIMITS['endpoint-path']}`, 'serve the Prod at the root of its address');
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw invalid(`Prod "${e.prod}" has an endpoint that is not http(s): ${e.url}`, 'use http:// or https://');
  const tls = u.protocol === 'https:';
  const port = u.port || (tls ? '443' : '80');
  const host = u.hostname;
  if (!/^[a-z0-9.-]+$|^\[[0-9a-f:.]+\]$/i.test(host)) throw invalid(`Prod "${e.prod}" has an endpoint host HAProxy cannot take: ${host}`, 'use a DNS name or an IP address');
  const bare = host.replace(/^\[|\]$/g, '');
  // A name is resolved at run time, as the edge does per connection: HAProxy would otherwise refuse to
  // start while one Prod's name does not resolve.
  const dns = isIP(bare) === 0 ? ` resolvers ${RESOLVERS} init-addr last,libc,none` : '';
  return `${host}:${port}${dns}${tls ? ` ssl verify required ca-file @system-ca sni str(${bare})` : ''}`;
}

function needsResolvers(plans: readonly TrafficPlanSpec[]): boolean {
  return plans.some((p) => p.endpoints.some((e) => URL.canParse(e.url) && isIP(new URL(e.url).hostname.replace(/^\[|\]$/g, '')) === 0));
}

function checkName(n: string, what: string): void {
  if (!NAME.test(n)) throw invalid(`${what} name ${JSON.stringify(n)} is not usable as an HAProxy ${what === 'fleet' ? 'backend' : 'server'} name`, 'use a DNS label (lower-case letters, digits, -)');
}

function errorJson(code: string, message: string, fix: string): string {
  return JSON.stringify({ code, message, fix });
}

/** A double-quoted HAProxy word: backslash, double quote and `$` (environment expansion) escaped. */
function quote(s: string): string {
  if (/[\r\n\0]/.test(s)) throw invalid(`a value for the HAProxy config holds a line break: ${JSON.stringify(s)}`, 'remove line breaks');
  return `"${s.replace(/[\\"$]/g, (c) => `\\${c}`)}"`;
}

function comment(s: string): string {
  return s.replace(/[\r\n]+/g, ' ');
}

function invalid(message: string, fix: string): DroverError {
  return new DroverError('DROVER_E_INVALID', `cannot render the HAProxy config: ${message}`, { fix });
}
