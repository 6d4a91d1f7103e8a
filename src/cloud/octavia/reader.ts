/**
 * Reads one Octavia load balancer through the Octavia v2 API (`/v2/lbaas/…`): the LB, its listeners and
 * pools (one list call each, filtered by `loadbalancer_id`), each pool's members (one call per pool) and
 * the health monitors of its pools (one list call, only when a pool has one). So a sync costs
 * 3 + pools (+1) GETs, whatever the number of members.
 *
 * Errors name the spec field and the fix: no such LB (404), Octavia not reachable (connection refused,
 * timeout), credentials refused (401/403). A 401 drops the cached token so the next read authenticates again.
 */
import { openSession, resolveOctaviaAuth, type OctaviaSession } from './auth.js';
import { OctaviaError } from './errors.js';

export interface OctaviaMember {
  id: string;
  address: string;
  protocolPort: number;
  weight: number;
  adminStateUp: boolean;
  backup: boolean;
  operatingStatus: string;
  monitorPort?: number;
  monitorAddress?: string;
}

export interface OctaviaHealthMonitor {
  id: string;
  type: string;
  delay: number;
  timeout: number;
  maxRetries: number;
  maxRetriesDown: number;
  httpMethod?: string;
  urlPath?: string;
  expectedCodes?: string;
}

export interface OctaviaPool {
  id: string;
  name: string;
  protocol: string;
  lbAlgorithm: string;
  healthMonitorId?: string;
  members: OctaviaMember[];
  healthMonitor?: OctaviaHealthMonitor;
}

export interface OctaviaListener {
  id: string;
  name: string;
  protocol: string;
  protocolPort: number;
  defaultPoolId?: string;
  adminStateUp: boolean;
  l7PolicyCount: number;
}

export interface OctaviaLoadBalancer {
  id: string;
  name: string;
  vipAddress: string;
  operatingStatus: string;
  provisioningStatus: string;
  listeners: OctaviaListener[];
  pools: OctaviaPool[];
}

/** Counts Octavia API calls (bench/, status). */
export class OctaviaMeter {
  calls = 0;
}

type Dict = Record<string, unknown>;
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const num = (v: unknown, d = 0): number => (typeof v === 'number' ? v : d);
const ids = (v: unknown): string[] => (Array.isArray(v) ? v.map((x) => str((x as Dict).id)).filter((x) => x !== '') : []);

export interface OctaviaReaderOptions {
  fetch?: typeof fetch;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

/** One reader per mirror: keeps its Keystone token until it nears expiry or is refused. */
export class OctaviaReader {
  private session: OctaviaSession | undefined;
  private readonly fetchImpl: typeof fetch;
  private readonly timeoutMs: number;

  constructor(
    private readonly cloud: { name: string; configPath?: string | undefined } | undefined,
    private readonly opts: OctaviaReaderOptions = {},
  ) {
    this.fetchImpl = opts.fetch ?? fetch;
    this.timeoutMs = opts.timeoutMs ?? 10_000;
  }

  private async sessionNow(): Promise<OctaviaSession> {
    if (this.session && this.session.expiresAt - 60_000 > Date.now()) return this.session;
    this.session = await openSession(resolveOctaviaAuth(this.cloud, this.opts.env ?? process.env), this.fetchImpl, this.timeoutMs);
    return this.session;
  }

  private async get(meter: OctaviaMeter, path: string, notFound?: () => OctaviaError): Promise<Dict> {
    const session = await this.sessionNow();
    const url = path.startsWith('http') ? path : `${session.endpoint}${path}`;
    meter.calls++;
    let res: Response;
    try {
      res = await this.fetchImpl(url, { headers: { accept: 'application/json', ...session.headers }, signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (e) {
      const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).name;
      throw new OctaviaError('OctaviaUnreachable', `Octavia at ${session.endpoint} is unreachable: ${cause}`, { field: 'spec.source.octavia.cloud', fix: 'check the endpoint (catalog or load_balancer_endpoint_override) and that the control plane can reach it', cause: e });
    }
    if (res.status === 404 && notFound) throw notFound();
    if (res.status === 401 || res.status === 403) {
      this.session = undefined;
      throw new OctaviaError('OctaviaAuth', `Octavia refused the request: HTTP ${res.status}`, { field: 'spec.source.octavia.cloud', fix: 'check the cloud\'s credentials and its role on the project that owns the load balancer' });
    }
    if (!res.ok) throw new OctaviaError('OctaviaError', `GET ${path}: HTTP ${res.status} ${(await res.text()).slice(0, 200)}`);
    return (await res.json()) as Dict;
  }

  /** Every item of a paginated list (`{listeners: [...], listeners_links: [{rel: next, href}]}`). */
  private async list(meter: OctaviaMeter, path: string, key: string): Promise<Dict[]> {
    const out: Dict[] = [];
    let next: string | undefined = path;
    while (next) {
      const page = await this.get(meter, next);
      out.push(...((page[key] ?? []) as Dict[]));
      const links = (page[`${key}_links`] ?? []) as { rel?: string; href?: string }[];
      next = links.find((l) => l.rel === 'next')?.href;
    }
    return out;
  }

  async read(meter: OctaviaMeter, loadBalancerId: string): Promise<OctaviaLoadBalancer> {
    const id = encodeURIComponent(loadBalancerId);
    const lbDoc = await this.get(meter, `/v2/lbaas/loadbalancers/${id}`, () =>
      new OctaviaError('OctaviaNotFound', `Octavia has no load balancer ${loadBalancerId}`, { field: 'spec.source.octavia.loadBalancerId', fix: 'use an id from `openstack loadbalancer list` in the project of the cloud\'s credentials' }),
    );
    const lb = (lbDoc.loadbalancer ?? {}) as Dict;
    const listenerIds = new Set(ids(lb.listeners));
    const poolIds = new Set(ids(lb.pools));
    const listeners = (listenerIds.size > 0 ? await this.list(meter, `/v2/lbaas/listeners?loadbalancer_id=${id}`, 'listeners') : [])
      .filter((l) => listenerIds.has(str(l.id)))
      .map(
        (l): OctaviaListener => ({
          id: str(l.id),
          name: str(l.name),
          protocol: str(l.protocol),
          protocolPort: num(l.protocol_port),
          ...(str(l.default_pool_id) ? { defaultPoolId: str(l.default_pool_id) } : {}),
          adminStateUp: l.admin_state_up !== false,
          l7PolicyCount: ids(l.l7policies).length,
        }),
      );
    const poolDocs = (poolIds.size > 0 ? await this.list(meter, `/v2/lbaas/pools?loadbalancer_id=${id}`, 'pools') : []).filter((p) => poolIds.has(str(p.id)));
    const monitors = new Map<string, OctaviaHealthMonitor>();
    if (poolDocs.some((p) => str(p.healthmonitor_id))) {
      for (const h of await this.list(meter, '/v2/lbaas/healthmonitors', 'healthmonitors')) {
        monitors.set(str(h.id), {
          id: str(h.id),
          type: str(h.type),
          delay: num(h.delay, 5),
          timeout: num(h.timeout, 5),
          maxRetries: num(h.max_retries, 3),
          maxRetriesDown: num(h.max_retries_down, 3),
          ...(str(h.http_method) ? { httpMethod: str(h.http_method) } : {}),
          ...(str(h.url_path) ? { urlPath: str(h.url_path) } : {}),
          ...(str(h.expected_codes) ? { expectedCodes: str(h.expected_codes) } : {}),
        });
      }
    }
    // Members are one call per pool (Octavia has no list across pools), one after the other: the per-call
    // timeout counts time spent queued, and 4 reads at once behind a single-threaded octavia-api took up to
    // 16 s a call in bench/mirror.ts against under 2 s one at a time, for no shorter total.
    const memberLists: Dict[][] = [];
    for (const p of poolDocs) memberLists.push(await this.list(meter, `/v2/lbaas/pools/${encodeURIComponent(str(p.id))}/members`, 'members'));
    const pools = poolDocs.map((p, i): OctaviaPool => {
      const members = (memberLists[i] ?? []).map(
        (m): OctaviaMember => ({
          id: str(m.id),
          address: str(m.address),
          protocolPort: num(m.protocol_port),
          weight: num(m.weight, 1),
          adminStateUp: m.admin_state_up !== false,
          backup: m.backup === true,
          operatingStatus: str(m.operating_status),
          ...(typeof m.monitor_port === 'number' ? { monitorPort: m.monitor_port } : {}),
          ...(str(m.monitor_address) ? { monitorAddress: str(m.monitor_address) } : {}),
        }),
      );
      const hm = monitors.get(str(p.healthmonitor_id));
      return {
        id: str(p.id),
        name: str(p.name),
        protocol: str(p.protocol),
        lbAlgorithm: str(p.lb_algorithm),
        ...(str(p.healthmonitor_id) ? { healthMonitorId: str(p.healthmonitor_id) } : {}),
        members,
        ...(hm ? { healthMonitor: hm } : {}),
      };
    });
    return {
      id: str(lb.id),
      name: str(lb.name),
      vipAddress: str(lb.vip_address),
      operatingStatus: str(lb.operating_status),
      provisioningStatus: str(lb.provisioning_status),
      listeners,
      pools,
    };
  }
}
