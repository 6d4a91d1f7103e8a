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
 * What HAProxy cannot express exactly is listed in `HAPROXY_LIMITS` (limits.ts, the adapter's declared
 * capabilities). Files: this one renders global/defaults and assembles; frontend.ts (rule 1), backend.ts
 * (rules 2, 4, 5 per fleet), tenant-refs.ts (tenants as the rules number them), syntax.ts (quoting, names).
 */
import type { TrafficPlanSpec } from '../../api/kinds/traffic-plan.js';
import { fleetBackend, needsResolvers } from './backend.js';
import { frontend } from './frontend.js';
import { checkName, errorJson, invalid, quote, RESOLVERS } from './syntax.js';
import { renderCtx } from './tenant-refs.js';

export { AFFINITY_COOKIE } from './backend.js';
export { HAPROXY_LIMITS, type HaproxyLimit } from './limits.js';

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

  const ctx = renderCtx(list);
  out.push(...frontend(list, opts.listen, ctx));
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
