/**
 * One backend per fleet: every Prod of the plan once as a server (with the active checks and the passive
 * observation), the failover pool as the servers' weights (rule 4), retries (rule 5), and the
 * `http-request` rules that pick a Prod — the tenant's own by affinity, then its fallback (rule 1), else
 * a group by dial and a member by weight (rule 2) — carried out with `use-server`. Why this shape:
 * render.ts's header.
 */
import { isIP } from 'node:net';
import type { PlanEndpoint, TrafficPlanSpec } from '../../api/kinds/traffic-plan.js';
import { HAPROXY_LIMITS } from './limits.js';
import { checkName, comment, errorJson, invalid, quote, RESOLVERS } from './syntax.js';
import type { RenderCtx } from './tenant-refs.js';

export const AFFINITY_COOKIE = 'drover-affinity';
const IDEMPOTENT = 'GET HEAD OPTIONS TRACE PUT DELETE';

export function fleetBackend(plan: TrafficPlanSpec, ctx: RenderCtx): string[] {
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

export function needsResolvers(plans: readonly TrafficPlanSpec[]): boolean {
  return plans.some((p) => p.endpoints.some((e) => URL.canParse(e.url) && isIP(new URL(e.url).hostname.replace(/^\[|\]$/g, '')) === 0));
}
