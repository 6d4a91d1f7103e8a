/**
 * The mirror compiler (pure): an Octavia load balancer → the NLB that mirrors it.
 *
 * Rules:
 * - Each enabled listener → an NLB listener on the same port: TCP → TCP, UDP → UDP, HTTPS (TLS
 *   passthrough in Octavia) → TCP (the TLS stream passes through unchanged), HTTP → TCP ("approximated":
 *   no X-Forwarded-For and no HTTP health of the listener itself). The listener forwards to its default pool.
 * - Refused (said in `status.notes`, never mirrored): a listener with L7 policies (an L4 mirror would send
 *   every request to the default pool, bypassing the routing rules: silently wrong, so refused rather than
 *   mirrored as TCP), TERMINATED_HTTPS (the members speak plain HTTP and the NLB would hand them TLS),
 *   SCTP and PROMETHEUS listeners, a listener without a default pool, a PROXY/PROXYV2/SCTP pool, and a
 *   second listener on a port the NLB already uses (TCP and UDP on one port need TCP_UDP: not built).
 * - Each mirrored pool → a target group (target type `ip`, same protocol as its NLB listener, port of the
 *   listener) whose targets are the members enabled with weight > 0 and not backup (NLB has no backup
 *   targets), at their address and protocol port, registered with Availability Zone `all` (the members
 *   are outside the VPC, over Direct Connect).
 * - Health monitor → target group health check: TCP → TCP, HTTP/HTTPS → HTTP/HTTPS with path and codes;
 *   PING, TLS-HELLO, UDP-CONNECT and SCTP → TCP on the traffic port (approximated: NLB cannot ping, greet
 *   TLS or probe UDP); delay/timeout/max_retries/max_retries_down → interval/timeout/healthy/unhealthy
 *   thresholds, clamped to NLB's ranges (said when clamped). No monitor → TCP on the traffic port.
 * - Names are deterministic (prefix + hash of owner, source and pool/protocol/port), so that a restart finds
 *   what it built by name before creating anything; a pool whose protocol or port changes gets a new group.
 */
import { createHash } from 'node:crypto';
import type { CloudState } from '../../api/kinds/cloud-traffic.js';
import type { MirrorNote, NlbTarget } from '../../api/kinds/load-balancer-mirror.js';
import type { OctaviaHealthMonitor, OctaviaLoadBalancer, OctaviaPool } from '../octavia/reader.js';

export type NlbProtocol = 'TCP' | 'UDP';

export interface DesiredHealthCheckTg {
  protocol: 'TCP' | 'HTTP' | 'HTTPS';
  path?: string;
  matcher?: string;
  intervalSeconds: number;
  timeoutSeconds: number;
  healthyThreshold: number;
  unhealthyThreshold: number;
}

export interface DesiredTargetGroup {
  name: string;
  poolId: string;
  protocol: NlbProtocol;
  port: number;
  healthCheck: DesiredHealthCheckTg;
  /** `ip:port` → target */
  targets: Map<string, { ip: string; port: number }>;
}

export interface DesiredListener {
  key: string;
  protocol: NlbProtocol;
  port: number;
  targetGroup: string;
  listenerId: string;
}

export interface DesiredNlb {
  name: string;
  scheme: NlbTarget['scheme'];
  subnets: string[];
  tags: Record<string, string>;
  targetGroups: Map<string, DesiredTargetGroup>;
  listeners: Map<string, DesiredListener>;
  notes: MirrorNote[];
}

export const TAG_OWNER = 'drover.dev/owner';
export const TAG_MIRROR = 'drover.dev/mirror';
export const TAG_SOURCE = 'drover.dev/octavia-lb';
export const TAG_POOL = 'drover.dev/octavia-pool';

const hash = (s: string, n: number): string => createHash('sha256').update(s).digest('hex').slice(0, n);
const clamp = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v));

export const listenerKey = (protocol: string, port: number): string => `${protocol}:${port}`;
export const targetId = (ip: string, port: number): string => `${ip}:${port}`;

function healthCheckOf(pool: OctaviaPool, hm: OctaviaHealthMonitor | undefined, notes: MirrorNote[]): DesiredHealthCheckTg {
  const resource = `pool/${pool.name || pool.id}`;
  if (!hm) {
    notes.push({ resource, severity: 'approximated', message: 'no health monitor in Octavia: the NLB checks TCP on the traffic port (it always checks)' });
    return { protocol: 'TCP', intervalSeconds: 30, timeoutSeconds: 10, healthyThreshold: 3, unhealthyThreshold: 3 };
  }
  const say = (message: string): void => void notes.push({ resource: `healthmonitor/${hm.id}`, severity: 'approximated', message });
  let protocol: DesiredHealthCheckTg['protocol'] = 'TCP';
  if (hm.type === 'HTTP' || hm.type === 'HTTPS') protocol = hm.type;
  else if (hm.type !== 'TCP') say(`type ${hm.type} cannot be mapped (NLB checks TCP, HTTP or HTTPS only): TCP on the traffic port`);
  const interval = clamp(hm.delay, 5, 300);
  const timeout = clamp(hm.timeout, 2, 120);
  const healthy = clamp(hm.maxRetries, 2, 10);
  const unhealthy = clamp(hm.maxRetriesDown, 2, 10);
  if (interval !== hm.delay) say(`delay ${hm.delay}s → interval ${interval}s (NLB: 5–300)`);
  if (timeout !== hm.timeout) say(`timeout ${hm.timeout}s → ${timeout}s (NLB: 2–120)`);
  if (healthy !== hm.maxRetries) say(`max_retries ${hm.maxRetries} → healthy threshold ${healthy} (NLB: 2–10)`);
  if (unhealthy !== hm.maxRetriesDown) say(`max_retries_down ${hm.maxRetriesDown} → unhealthy threshold ${unhealthy} (NLB: 2–10)`);
  if (protocol !== 'TCP' && hm.httpMethod && hm.httpMethod !== 'GET') say(`http_method ${hm.httpMethod} cannot be mapped: NLB checks with GET`);
  if (pool.members.some((m) => m.monitorPort !== undefined || m.monitorAddress !== undefined)) say('members with monitor_port/monitor_address: NLB checks every target on its traffic port');
  return {
    protocol,
    ...(protocol !== 'TCP' ? { path: hm.urlPath ?? '/', matcher: hm.expectedCodes ?? '200' } : {}),
    intervalSeconds: interval,
    timeoutSeconds: timeout,
    healthyThreshold: healthy,
    unhealthyThreshold: unhealthy,
  };
}

const LISTENER_MAP: Record<string, { to: NlbProtocol; note?: string } | { refuse: string }> = {
  TCP: { to: 'TCP' },
  UDP: { to: 'UDP' },
  HTTPS: { to: 'TCP' },
  HTTP: { to: 'TCP', note: 'HTTP mirrored as TCP: the NLB inserts no X-Forwarded-For header' },
  TERMINATED_HTTPS: { refuse: 'TERMINATED_HTTPS cannot be mirrored: Octavia terminates TLS and its members speak HTTP; an NLB passing TLS through would hand them TLS' },
  SCTP: { refuse: 'SCTP cannot be mirrored by an NLB' },
  PROMETHEUS: { refuse: 'a PROMETHEUS listener is Octavia\'s own metrics endpoint: not mirrored' },
};

export interface MirrorIdentity {
  name: string;
  ownerId: string;
}

export function compileMirror(lb: OctaviaLoadBalancer, nlb: NlbTarget, who: MirrorIdentity): DesiredNlb {
  const notes: MirrorNote[] = [];
  const pools = new Map(lb.pools.map((p) => [p.id, p] as const));
  const ownerTags = { [TAG_OWNER]: who.ownerId, [TAG_MIRROR]: who.name, [TAG_SOURCE]: lb.id };
  const targetGroups = new Map<string, DesiredTargetGroup>();
  const listeners = new Map<string, DesiredListener>();
  const usedPorts = new Map<number, string>();
  for (const l of [...lb.listeners].sort((a, b) => a.protocolPort - b.protocolPort || a.protocol.localeCompare(b.protocol) || a.id.localeCompare(b.id))) {
    const resource = `listener/${l.name || l.id} (${l.protocol}:${l.protocolPort})`;
    const refuse = (message: string): void => void notes.push({ resource, severity: 'refused', message });
    if (!l.adminStateUp) {
      refuse('disabled in Octavia (admin_state_up false): not mirrored');
      continue;
    }
    const map = LISTENER_MAP[l.protocol] ?? { refuse: `protocol ${l.protocol} is unknown to the mirror` };
    if ('refuse' in map) {
      refuse(map.refuse);
      continue;
    }
    if (l.l7PolicyCount > 0) {
      refuse(`${l.l7PolicyCount} L7 polic${l.l7PolicyCount === 1 ? 'y' : 'ies'}: an L4 mirror would send every request to the default pool, bypassing them; remove the policies or mirror that traffic another way`);
      continue;
    }
    const pool = l.defaultPoolId ? pools.get(l.defaultPoolId) : undefined;
    if (!pool) {
      refuse('no default pool: nothing to forward to');
      continue;
    }
    if (pool.protocol === 'PROXY' || pool.protocol === 'PROXYV2' || pool.protocol === 'SCTP') {
      refuse(`pool ${pool.name || pool.id} speaks ${pool.protocol}: the NLB would not send the PROXY header its members expect`);
      continue;
    }
    const taken = usedPorts.get(l.protocolPort);
    if (taken) {
      refuse(`port ${l.protocolPort} is already mirrored for ${taken}: TCP and UDP on one port would need a TCP_UDP listener (not built)`);
      continue;
    }
    usedPorts.set(l.protocolPort, resource);
    if (map.note) notes.push({ resource, severity: 'approximated', message: map.note });
    const tgName = `${nlb.namePrefix}-${hash(`${who.ownerId}|${lb.id}|${pool.id}|${map.to}|${l.protocolPort}`, 16)}`;
    const targets = new Map<string, { ip: string; port: number }>();
    for (const m of pool.members) {
      if (m.backup) {
        notes.push({ resource: `member/${m.address}:${m.protocolPort}`, severity: 'approximated', message: 'backup member not registered: an NLB has no backup targets' });
        continue;
      }
      if (!m.adminStateUp || m.weight === 0) continue;
      targets.set(targetId(m.address, m.protocolPort), { ip: m.address, port: m.protocolPort });
    }
    targetGroups.set(tgName, { name: tgName, poolId: pool.id, protocol: map.to, port: l.protocolPort, healthCheck: healthCheckOf(pool, pool.healthMonitor, notes), targets });
    const key = listenerKey(map.to, l.protocolPort);
    listeners.set(key, { key, protocol: map.to, port: l.protocolPort, targetGroup: tgName, listenerId: l.id });
  }
  if (lb.pools.some((p) => p.lbAlgorithm && p.lbAlgorithm !== 'ROUND_ROBIN' && p.lbAlgorithm !== 'SOURCE_IP')) {
    notes.push({ resource: `loadbalancer/${lb.id}`, severity: 'approximated', message: 'the NLB balances by flow hash; LEAST_CONNECTIONS and SOURCE_IP_PORT are not mirrored' });
  }
  return {
    name: `${nlb.namePrefix}-${hash(`${who.ownerId}|${lb.id}`, 16)}`,
    scheme: nlb.scheme,
    subnets: [...nlb.subnets].sort(),
    tags: { ...nlb.tags, ...ownerTags },
    targetGroups,
    listeners,
    notes,
  };
}

/** The desired NLB as flat fields per resource (the state shape of src/cloud/state.ts). */
export function desiredState(d: DesiredNlb): CloudState {
  const out: CloudState = { loadBalancer: { name: d.name, scheme: d.scheme, subnets: d.subnets.join(',') } };
  for (const tg of d.targetGroups.values()) {
    out[`targetGroup/${tg.name}`] = tgFields(tg);
    for (const id of tg.targets.keys()) out[`target/${tg.name}/${id}`] = { registered: true };
  }
  for (const l of d.listeners.values()) out[`listener/${l.key}`] = { targetGroup: l.targetGroup };
  return out;
}

export function tgFields(tg: { protocol: string; port: number; healthCheck: DesiredHealthCheckTg }): CloudState[string] {
  const h = tg.healthCheck;
  return {
    protocol: tg.protocol,
    port: tg.port,
    healthCheck: h.protocol,
    healthCheckPath: h.path ?? null,
    matcher: h.matcher ?? null,
    interval: h.intervalSeconds,
    timeout: h.timeoutSeconds,
    healthyThreshold: h.healthyThreshold,
    unhealthyThreshold: h.unhealthyThreshold,
  };
}
