/**
 * The second mirror source: a Kubernetes Service of type LoadBalancer on a Drover cluster, read into the
 * same normalized model the Octavia reader produces (`OctaviaLoadBalancer`), so the compiler, the diff,
 * the NLB adapter and the DNS split do not know which source they mirror.
 *
 * Mapping:
 * - each Service port → a listener (its protocol: TCP, UDP; SCTP is refused by the compiler) on the same
 *   port, with its own pool;
 * - the pool's members are the ready endpoints of the Service's EndpointSlices (label
 *   `kubernetes.io/service-name`), IPv4 addresses, at the port the slice gives for that Service port (the
 *   resolved targetPort). `ready` unset counts as ready (the EndpointSlice API says so); terminating and
 *   not-ready endpoints are not members. The same address in two slices is one member.
 * - health: a Service has no health check of its own, so every pool gets the NLB's TCP check on the
 *   traffic port (the compiler's defaults), said in the notes; Kubernetes readiness already decides which
 *   endpoints are members;
 * - the source side of the DNS split is `status.loadBalancer.ingress[0]` (its IP, else its hostname).
 *
 * Two GETs a sync: the Service and its EndpointSlices (one list call, paginated with `continue`).
 * Errors name the spec field: no such cluster or not a Kubernetes one (`spec.source.service.cluster`), no
 * such Service or not of type LoadBalancer (`spec.source.service.name`), API unreachable or refusing the
 * credentials (`spec.source.service.cluster`).
 */
import type { MirrorNote } from '../../api/kinds/load-balancer-mirror.js';
import { OctaviaError } from '../octavia/errors.js';
import type { OctaviaListener, OctaviaLoadBalancer, OctaviaMember, OctaviaMeter, OctaviaPool } from '../octavia/reader.js';

export interface ServiceRef {
  cluster: string;
  namespace: string;
  name: string;
}

/**
 * What the reader needs of a Kubernetes API: a GET returning the parsed JSON, or `undefined` for a 404.
 * Other failures throw an error with `httpStatus` (0 when no answer came), as KubeHttp's KubeApiError.
 */
export interface KubeGetter {
  get(path: string, query?: Record<string, string>): Promise<unknown>;
}

/** A cluster as the reader needs it: its provider and, when it is a Kubernetes one, the API to read. */
export interface ServiceCluster {
  provider: string;
  api?: KubeGetter | undefined;
}

export interface ServiceSourceRead {
  lb: OctaviaLoadBalancer;
  /** What a Service cannot say that an Octavia LB would (health checks, skipped addresses). */
  notes: MirrorNote[];
}

type Dict = Record<string, unknown>;
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const num = (v: unknown): number => (typeof v === 'number' ? v : 0);
const arr = (v: unknown): Dict[] => (Array.isArray(v) ? (v as Dict[]) : []);
const dict = (v: unknown): Dict => (typeof v === 'object' && v !== null ? (v as Dict) : {});

/** The compiler's "no monitor" defaults, as a TCP monitor: the same NLB check, without Octavia's note. */
const TCP_CHECK = { type: 'TCP', delay: 30, timeout: 10, maxRetries: 3, maxRetriesDown: 3 } as const;

/** The stable id of a Service source: names of the NLB and groups hash it, so a re-created Service keeps them. */
export function serviceSourceId(ref: ServiceRef): string {
  return `k8s:${ref.cluster}/${ref.namespace}/${ref.name}`;
}

function apiFailure(e: unknown, ref: ServiceRef): OctaviaError {
  const status = (e as { httpStatus?: unknown }).httpStatus;
  const message = e instanceof Error ? e.message : String(e);
  if (status === 401 || status === 403) {
    return new OctaviaError('ServiceAuth', message, { field: 'spec.source.service.cluster', fix: `give the kubeconfig user of cluster ${ref.cluster} get on services and list on endpointslices (discovery.k8s.io) in namespace ${ref.namespace}`, cause: e });
  }
  if (status === 0 || status === 429 || (typeof status === 'number' && status >= 500)) {
    return new OctaviaError('ServiceUnreachable', message, { field: 'spec.source.service.cluster', fix: `check that cluster ${ref.cluster} is reachable (\`kubectl --context <its context> get svc -n ${ref.namespace}\`)`, cause: e });
  }
  return new OctaviaError('ServiceError', message, { cause: e });
}

async function get(api: KubeGetter, meter: OctaviaMeter, ref: ServiceRef, path: string, query?: Record<string, string>): Promise<unknown> {
  meter.calls++;
  try {
    return await api.get(path, query);
  } catch (e) {
    throw apiFailure(e, ref);
  }
}

export async function readServiceSource(meter: OctaviaMeter, cluster: ServiceCluster | undefined, ref: ServiceRef): Promise<ServiceSourceRead> {
  if (!cluster) {
    throw new OctaviaError('ServiceClusterNotFound', `there is no Cluster ${ref.cluster}`, { field: 'spec.source.service.cluster', fix: 'name a cluster of `drover get clusters` (register it with `drover cluster add`)' });
  }
  if ((cluster.provider !== 'kubernetes' && cluster.provider !== 'eks') || !cluster.api) {
    throw new OctaviaError('ServiceClusterNotKubernetes', `Cluster ${ref.cluster} is of provider ${cluster.provider}${cluster.provider === 'local' ? '' : ' without spec.kubernetes (context, kubeconfig)'}: it has no Kubernetes API to read a Service from`, {
      field: 'spec.source.service.cluster',
      fix: 'name a cluster registered with `drover cluster add NAME --provider kubernetes --context CONTEXT`',
    });
  }
  const api = cluster.api;
  const ns = encodeURIComponent(ref.namespace);
  const svc = dict(await get(api, meter, ref, `/api/v1/namespaces/${ns}/services/${encodeURIComponent(ref.name)}`));
  if (Object.keys(svc).length === 0) {
    throw new OctaviaError('ServiceNotFound', `cluster ${ref.cluster} has no Service ${ref.namespace}/${ref.name}`, { field: 'spec.source.service.name', fix: `use a Service of \`kubectl get svc -n ${ref.namespace}\` on that cluster (and check spec.source.service.namespace)` });
  }
  const spec = dict(svc.spec);
  const type = str(spec.type) || 'ClusterIP';
  if (type !== 'LoadBalancer') {
    throw new OctaviaError('ServiceNotLoadBalancer', `Service ${ref.namespace}/${ref.name} is of type ${type}, not LoadBalancer`, { field: 'spec.source.service.name', fix: 'mirror a Service of type LoadBalancer (the NLB twins its load balancer), or change the Service\'s type' });
  }

  const slices: Dict[] = [];
  let cont = '';
  do {
    const page = dict(await get(api, meter, ref, `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`, { labelSelector: `kubernetes.io/service-name=${ref.name}`, ...(cont ? { continue: cont } : {}) }));
    slices.push(...arr(page.items));
    cont = str(dict(page.metadata).continue);
  } while (cont);

  const notes: MirrorNote[] = [];
  const resource = `service/${ref.namespace}/${ref.name}`;
  const id = serviceSourceId(ref);
  const listeners: OctaviaListener[] = [];
  const pools: OctaviaPool[] = [];
  let allReady = true;
  const skipped = new Set<string>();
  for (const p of arr(spec.ports)) {
    const protocol = str(p.protocol) || 'TCP';
    const port = num(p.port);
    const portName = str(p.name);
    const poolId = `${id}|${protocol}:${port}`;
    const members = new Map<string, OctaviaMember>();
    for (const slice of slices) {
      const sp = arr(slice.ports).find((x) => str(x.name) === portName && (str(x.protocol) || 'TCP') === protocol);
      if (!sp) continue;
      const addressType = str(slice.addressType);
      for (const ep of arr(slice.endpoints)) {
        const cond = dict(ep.conditions);
        if (cond.ready === false) {
          allReady = false;
          continue;
        }
        for (const address of (Array.isArray(ep.addresses) ? ep.addresses : []).map(str)) {
          if (addressType !== 'IPv4') {
            skipped.add(`${addressType} ${address}`);
            continue;
          }
          const key = `${address}:${num(sp.port)}`;
          members.set(key, { id: key, address, protocolPort: num(sp.port), weight: 1, adminStateUp: true, backup: false, operatingStatus: 'ONLINE' });
        }
      }
    }
    listeners.push({ id: `${protocol}:${port}`, name: portName || `${protocol.toLowerCase()}-${port}`, protocol, protocolPort: port, defaultPoolId: poolId, adminStateUp: true, l7PolicyCount: 0 });
    pools.push({ id: poolId, name: portName || `${protocol.toLowerCase()}-${port}`, protocol, lbAlgorithm: 'ROUND_ROBIN', members: [...members.values()].sort((a, b) => a.id.localeCompare(b.id)), healthMonitor: { id: `${resource}:${protocol}:${port}`, ...TCP_CHECK } });
    if (protocol === 'UDP') notes.push({ resource: `${resource} (UDP:${port})`, severity: 'approximated', message: 'the NLB checks a UDP group over TCP on the traffic port: the pods must also accept TCP there, or every target is unhealthy' });
  }
  notes.unshift({ resource, severity: 'approximated', message: 'a Service has no health check: the NLB checks TCP on each port\'s traffic port (the targetPort); Kubernetes readiness decides which endpoints are targets' });
  if (skipped.size > 0) notes.push({ resource, severity: 'approximated', message: `endpoints not registered (IPv4 targets only): ${[...skipped].sort().join(', ')}` });

  const ingress = arr(dict(dict(svc.status).loadBalancer).ingress)[0];
  const address = ingress ? str(ingress.ip) || str(ingress.hostname) : '';
  return {
    lb: {
      id,
      name: `${ref.namespace}/${ref.name}`,
      vipAddress: address,
      // Octavia's words, so `status.health.source` reads the same for both sources.
      operatingStatus: !address ? 'OFFLINE' : allReady ? 'ONLINE' : 'DEGRADED',
      provisioningStatus: address ? 'ACTIVE' : 'PENDING_CREATE',
      listeners,
      pools,
    },
    notes,
  };
}
