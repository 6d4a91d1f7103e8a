/**
 * The traffic plan as the targets of one ELBv2 target group (target type `ip` or `instance`) shared by every
 * cluster of the fleet. Pure.
 *
 * - A target per serving Prod (plan endpoint `active`, in a group with weight > 0) of a cluster that is
 *   Ready, uncordoned and undrained (src/cloud/cluster-weights.ts decides; a target group has no weights,
 *   so "weight 0" means "not registered").
 * - Its address: the host of the Prod's endpoint URL when it is an IP a load balancer can reach (not
 *   loopback or unspecified); else the cluster's `spec.loadBalancer.address` (a node or host-port address)
 *   with the Prod's port. The port is `targetGroup.port` when set, else the endpoint URL's port.
 * - `instance` target groups: a serving Prod is one target per instance of its cluster
 *   (`targetGroup.instanceIds[cluster]`), at the endpoint URL's port — the node port of a Kubernetes
 *   Service of type NodePort (the driver's `serviceType=NodePort` puts it in the endpoint), a local
 *   cluster's host port. Instance ids come from the spec: neither the Cluster nor its agent knows them.
 * - Fail static (every cluster looks lost at once): the health-zeroed clusters keep their plan targets, as
 *   GA keeps plan weights; the target adapter also deregisters nothing then (src/cloud/target-group/target.ts).
 */
import { isIP } from 'node:net';
import type { Cluster } from '../../api/kinds/cluster.js';
import type { CloudChange, CloudState, TargetGroupSpec } from '../../api/kinds/cloud-traffic.js';
import type { TrafficPlanSpec } from '../../api/kinds/traffic-plan.js';
import { fleetTraffic } from '../cluster-weights.js';

export interface DesiredTarget {
  /** What RegisterTargets names: an IP address (`ip`), or an EC2 instance id (`instance`). */
  id: string;
  port: number;
  cluster: string;
  prods: string[];
}

export interface DesiredTargetGroup {
  /** Target id (`ip:port`, `[v6]:port`, `i-…:port`) → target. */
  targets: Map<string, DesiredTarget>;
  notes: string[];
  failStatic: boolean;
}

export const TARGET_PREFIX = 'target/';

export function targetId(id: string, port: number): string {
  return isIP(id) === 6 ? `[${id}]:${port}` : `${id}:${port}`;
}

export const tgResource = (id: string): string => `${TARGET_PREFIX}${id}`;

/** The target ids named in a state's resources (`target/<id>`). */
export function targetIdsIn(state: CloudState | undefined): string[] {
  return Object.keys(state ?? {})
    .filter((r) => r.startsWith(TARGET_PREFIX))
    .map((r) => r.slice(TARGET_PREFIX.length));
}

/** A registered target as flat state: registration is all Drover sets on it. */
export function targetFields(): CloudState[string] {
  return { registered: true };
}

export function targetsState(ids: Iterable<string>): CloudState {
  const out: CloudState = {};
  for (const id of [...ids].sort()) out[tgResource(id)] = targetFields();
  return out;
}

/** IPs no load balancer can send to: the Prod's endpoint is local to its host. */
function reachableIp(host: string): boolean {
  const kind = isIP(host);
  if (kind === 4) return !host.startsWith('127.') && host !== '0.0.0.0';
  if (kind === 6) return host !== '::1' && host !== '::';
  return false;
}

function endpointHostPort(url: string): { host: string; port: number | undefined } | undefined {
  try {
    const u = new URL(url);
    const host = u.hostname.replace(/^\[|\]$/g, '');
    const port = u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : u.protocol === 'http:' ? 80 : undefined;
    return { host, port };
  } catch {
    return undefined;
  }
}

export function compileTargetGroup(spec: TargetGroupSpec, plan: TrafficPlanSpec, clusters: readonly Cluster[]): DesiredTargetGroup {
  const traffic = fleetTraffic(plan, clusters);
  const byProd = new Map(plan.endpoints.map((e) => [e.prod, e] as const));
  const serving = new Set<string>();
  for (const g of plan.groups) for (const m of g.endpoints) if (m.weight > 0) serving.add(m.prod);
  const targets = new Map<string, DesiredTarget>();
  const notes: string[] = [];
  const add = (id: string, port: number, cluster: string, prod: string): void => {
    const key = targetId(id, port);
    const t = targets.get(key);
    if (t) t.prods.push(prod);
    else targets.set(key, { id, port, cluster, prods: [prod] });
  };
  for (const prod of [...serving].sort()) {
    const e = byProd.get(prod);
    if (!e || e.state !== 'active') continue;
    const c = traffic.clusters.get(e.cluster);
    if (!c || c.weight <= 0) continue;
    const hp = endpointHostPort(e.url);
    const port = spec.port ?? hp?.port;
    if (spec.targetType === 'instance') {
      const instances = spec.instanceIds[c.cluster] ?? [];
      if (instances.length === 0 || port === undefined) {
        notes.push(`Prod ${prod} (cluster ${c.cluster}) serves the fleet but cannot be registered as instance targets: ${instances.length === 0 ? `targetGroup.instanceIds has no instances for cluster ${c.cluster}` : `its endpoint ${e.url} has no port`}`);
        continue;
      }
      // Every node of the cluster forwards its node port to the Prod.
      for (const i of instances) add(i, port, c.cluster, prod);
      continue;
    }
    const address = hp && reachableIp(hp.host) ? hp.host : c.loadBalancer?.address !== undefined && isIP(c.loadBalancer.address) ? c.loadBalancer.address : undefined;
    if (address === undefined || port === undefined) {
      notes.push(`Prod ${prod} (cluster ${c.cluster}) serves the fleet but has no address a target group can register: its endpoint ${e.url} is not a reachable IP and the cluster has no spec.loadBalancer.address IP`);
      continue;
    }
    add(address, port, c.cluster, prod);
  }
  return { targets, notes, failStatic: traffic.failStatic };
}

export function targetGroupDesiredState(d: DesiredTargetGroup): CloudState {
  return targetsState(d.targets.keys());
}

/**
 * The targets Drover registered, after a sync: those still in the target group (`held`), plus the ones
 * this sync registered, minus the ones it deregistered. After a failed write the registrations are
 * counted anyway (the call may have gone through before it failed): an id that is not in the group is
 * dropped by the next read, so a target someone else registers later is never mistaken for Drover's.
 */
export function registeredAfter(held: readonly string[], changes: readonly CloudChange[], ok: boolean): string[] {
  const out = new Set(held);
  for (const c of changes) {
    if (!c.resource.startsWith(TARGET_PREFIX)) continue;
    const id = c.resource.slice(TARGET_PREFIX.length);
    if (c.action === 'create') out.add(id);
    else if (c.action === 'delete' && ok) out.delete(id);
  }
  return [...out].sort();
}
