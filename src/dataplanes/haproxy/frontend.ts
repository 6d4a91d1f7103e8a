/**
 * The frontend: the listener, X-Forwarded-* and hop-by-hop headers, and traffic rule 1 — a request is
 * matched to a tenant (exact hosts, then `*.` wildcards, then headers; first tenant wins) and sent to
 * its fleet's backend with `txn.t` set for tenants that have Prods of their own.
 */
import type { TrafficPlanSpec } from '../../api/kinds/traffic-plan.js';
import { comment, invalid } from './syntax.js';
import type { RenderCtx } from './tenant-refs.js';

const HOST = /^(\*\.)?[a-z0-9_.-]+$|^\[[0-9a-f:.]+\]$/;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;

export function frontend(plans: readonly TrafficPlanSpec[], listen: { host: string; port: number }, ctx: RenderCtx): string[] {
  const o: string[] = [];
  o.push('frontend drover');
  const host = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
  o.push(`  bind ${host}:${listen.port}`);
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
