/**
 * The Drover edge: an L7 HTTP proxy that executes traffic plans. Each request goes through ordered
 * passes — match tenant → pick endpoint → forward → retry → record — each small and tested on its own
 * (routing.ts, headers.ts, `retryDecision` here). Plans and health changes rebuild the routing table;
 * requests only read it. Plan changes never touch client connections: in-flight requests keep the
 * upstream they started on, and a Prod removed from the plan is closed once its last request ends.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { Pool, type Dispatcher } from 'undici';
import type { PlanEndpoint, TrafficPlanSpec } from '../api/kinds/traffic-plan.js';
import { DroverError } from '../errors.js';
import type { EdgeStats } from '../traffic/stats.js';
import { clientResponseHeaders, cookieValue, hostOnly, isIdempotent, responseHead, upstreamRequestHeaders } from './headers.js';
import { ActiveChecker, EndpointHealth, type HealthSettings } from './health.js';
import { EdgeMetrics, type FailureReason, type ProdMetrics } from './metrics.js';
import { fnv1a } from './picker.js';
import type { PlanSource } from './plan-source.js';
import { RouteTable, type TenantRoute } from './routing.js';
import { WindowStats } from './window-stats.js';

export const AFFINITY_COOKIE = 'drover-affinity';

export interface HostPort {
  host: string;
  port: number;
}

export interface EdgeOptions {
  source: PlanSource;
  /** Proxy listener; default 127.0.0.1:8080. Port 0 picks a free port. */
  listen?: HostPort;
  /** Admin listener (/metrics, /stats, /healthz, /plan); default 127.0.0.1 on a free port; false: none. */
  adminListen?: HostPort | false;
  /** Edge instance id reported in /stats. */
  id?: string;
  /** How long a new upstream connection may take before it counts as a connect failure. */
  connectTimeoutMs?: number;
  /** Upper bound of pooled connections per upstream. */
  maxSocketsPerUpstream?: number;
  /**
   * How long a Prod may take to start answering (its response head) before the edge gives up with
   * 504; 0 waits forever. Default 60 s, the idle timeout AWS load balancers use. Once the head has
   * arrived the body may take as long as it streams (server-sent events, long downloads).
   */
  responseTimeoutMs?: number;
  log?: (msg: string) => void;
}

/** One Prod endpoint as the edge holds it: pool, health, counters. Survives plan updates that keep it. */
class Upstream {
  readonly host: string;
  readonly port: number;
  readonly basePath: string;
  /**
   * Keep-alive connections for proxied requests. undici, not node:http's client: per request it costs a
   * fraction of `http.request` (no ClientRequest/IncomingMessage streams), which is most of the edge's time.
   */
  readonly pool: Pool;
  readonly health: EndpointHealth;
  readonly checker: ActiveChecker;
  inflight = 0;
  removed = false;
  /** Date.now() of the last health change. */
  healthChangedAt: number | undefined;

  constructor(
    readonly name: string,
    readonly cluster: string,
    readonly url: string,
    settings: HealthSettings,
    readonly metrics: ProdMetrics,
    maxSockets: number,
    connectTimeoutMs: number,
    responseTimeoutMs: number,
    onHealth: (u: Upstream, healthy: boolean) => void,
  ) {
    const u = new URL(url);
    this.host = u.hostname.replace(/^\[|\]$/g, '');
    this.port = Number(u.port || 80);
    this.basePath = u.pathname.replace(/\/$/, '');
    // No body timeout: a streaming answer may pause as long as it likes once it has started.
    this.pool = new Pool(u.origin, { connections: maxSockets, pipelining: 1, connect: { timeout: connectTimeoutMs }, headersTimeout: responseTimeoutMs, bodyTimeout: 0 });
    this.health = new EndpointHealth(settings, (healthy) => onHealth(this, healthy));
    this.checker = new ActiveChecker(u, this.health);
    metrics.setHealthy(true);
  }

  release(): void {
    this.inflight--;
    if (this.removed && this.inflight === 0) this.close();
  }

  close(): void {
    this.pool.destroy().catch(() => {});
  }
}

export type RetryOutcome = 'retry' | 'fail';

/**
 * Pass 4, the retry rule (traffic rule 5): once, and only before any response byte; for a connect
 * failure whatever the method (nothing was sent), for a reset only for idempotent methods whose body
 * (if any) has not started streaming.
 */
export function retryDecision(o: { attempt: number; responded: boolean; connectFailed: boolean; reset: boolean; idempotent: boolean; bodyStarted: boolean }): RetryOutcome {
  if (o.attempt > 0 || o.responded || o.bodyStarted) return 'fail';
  if (o.connectFailed) return 'retry';
  if (o.reset && o.idempotent) return 'retry';
  return 'fail';
}

const CONNECT_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT']);
/** UND_ERR_SOCKET: undici's "other side closed" — the connection dropped under the request. */
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'UND_ERR_SOCKET']);

interface RequestCtx {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  start: number;
  tenant: TenantRoute<Upstream> | undefined;
  plan: TrafficPlanSpec;
  affinity: number | undefined;
  extraHeaders: string[];
  headers: string[] | undefined;
  hasBody: boolean;
  /** The attempt in flight, to abort when the client goes away. */
  attempt: Forward | undefined;
  done: boolean;
}

/**
 * One forward attempt as an undici dispatch handler: the Prod's answer is written straight into the
 * client response with undici's pause/resume as backpressure — no intermediate streams, one object
 * per attempt instead of a ClientRequest, an IncomingMessage and their listeners.
 */
class Forward implements Dispatcher.DispatchHandler {
  abort: ((err?: Error) => void) | undefined;
  connected = false;
  responded = false;
  private status = 0;
  private resume: (() => void) | undefined;
  /** The Prod's Content-Length, -1 when it streams without one. */
  private contentLength = -1;
  /** A body that arrived whole in one chunk, sent with the head in `onComplete`. */
  private whole: Buffer | undefined;
  private released = false;

  constructor(
    private readonly edge: Edge,
    readonly ctx: RequestCtx,
    readonly up: Upstream,
    readonly attempt: number,
  ) {}

  private release(): void {
    if (!this.released) {
      this.released = true;
      this.up.release();
    }
  }

  // Called once a pooled connection takes the request, just before it is written.
  onConnect(abort: (err?: Error) => void): void {
    if (this.ctx.done) {
      abort(new Error('client went away'));
      return;
    }
    this.abort = abort;
    this.connected = true;
  }

  onHeaders(status: number, raw: Buffer[], resume: () => void, statusText: string): boolean {
    if (status < 200) return true; // 1xx interim answers are not relayed
    this.responded = true;
    this.status = status;
    this.resume = resume;
    this.up.health.response(status);
    const { ctx } = this;
    if (ctx.done) return true;
    const extra = ctx.plan.addProdHeader ? ['x-drover-prod', this.up.name, ...ctx.extraHeaders] : ctx.extraHeaders;
    const head = responseHead(raw, extra);
    this.contentLength = head.contentLength;
    ctx.res.writeHead(status, statusText, head.headers);
    return true;
  }

  onData(chunk: Buffer): boolean {
    const { res } = this.ctx;
    if (this.ctx.done) return true; // the client went away: drain what is already on its way
    // The whole body in one chunk (the common small answer): the parser reports completion within
    // the same read, so hold it and let `end` send head and body together, one pass through
    // node:http instead of write + end. A streamed body is never held.
    if (chunk.length === this.contentLength && this.whole === undefined) {
      this.whole = chunk;
      return true;
    }
    if (res.write(chunk)) return true;
    res.once('drain', this.resume!);
    return false;
  }

  onComplete(): void {
    this.release();
    const { ctx } = this;
    if (ctx.done) return;
    ctx.done = true;
    if (this.whole) ctx.res.end(this.whole);
    else ctx.res.end();
    this.edge.record(this.up, this.status, ctx.start, this.status >= 500);
  }

  onError(err: Error): void {
    this.release();
    this.edge.failed(this, err);
  }
}

export class Edge {
  private readonly server: http.Server;
  private admin: http.Server | undefined;
  private readonly upstreams = new Map<string, Upstream>();
  private plans: TrafficPlanSpec[] = [];
  private table = new RouteTable<Upstream>([], new Map(), () => false);
  readonly metrics = new EdgeMetrics();
  readonly stats = new WindowStats();
  readonly id: string;
  private readonly connectTimeoutMs: number;
  private readonly maxSockets: number;
  private readonly responseTimeoutMs: number;
  private readonly log: (msg: string) => void;
  url = '';
  adminUrl = '';

  constructor(private readonly opts: EdgeOptions) {
    this.id = opts.id ?? `edge-${randomBytes(4).toString('hex')}`;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 2000;
    this.maxSockets = opts.maxSocketsPerUpstream ?? 512;
    this.responseTimeoutMs = opts.responseTimeoutMs ?? 60_000;
    this.log = opts.log ?? (() => {});
    this.server = http.createServer({ keepAlive: true, keepAliveTimeout: 65_000, requestTimeout: 0, headersTimeout: 60_000 }, this.onRequest);
    this.server.on('upgrade', this.onUpgrade);
    this.server.on('clientError', (_err, socket: Duplex) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      else socket.destroy();
    });
  }

  async start(): Promise<{ url: string; adminUrl: string }> {
    await this.opts.source.start((plans) => this.applyPlans(plans));
    const listen = this.opts.listen ?? { host: '127.0.0.1', port: 8080 };
    this.url = await listenOn(this.server, listen);
    if (this.opts.adminListen !== false) {
      this.admin = http.createServer((req, res) => void this.onAdmin(req, res));
      this.adminUrl = await listenOn(this.admin, this.opts.adminListen ?? { host: '127.0.0.1', port: 0 });
    }
    return { url: this.url, adminUrl: this.adminUrl };
  }

  async stop(): Promise<void> {
    await this.opts.source.stop();
    for (const u of this.upstreams.values()) {
      u.checker.close();
      u.close();
    }
    this.upstreams.clear();
    const closing = [closeServer(this.server)];
    if (this.admin) closing.push(closeServer(this.admin));
    await Promise.all(closing);
  }

  /** The plans in use (as `/plan` shows them). */
  currentPlans(): readonly TrafficPlanSpec[] {
    return this.plans;
  }

  /** Health of every endpoint, by Prod name. */
  healthState(): Record<string, boolean> {
    const out: Record<string, boolean> = {};
    for (const [n, u] of this.upstreams) out[n] = u.health.healthy;
    return out;
  }

  /** When the Prod's health last changed (Date.now()), if it ever did. */
  healthChangedAt(prod: string): number | undefined {
    return this.upstreams.get(prod)?.healthChangedAt;
  }

  // ---- plans -------------------------------------------------------------------------------------

  applyPlans(plans: readonly TrafficPlanSpec[]): void {
    const wanted = new Map<string, { pe: PlanEndpoint; settings: HealthSettings }>();
    for (const plan of plans) {
      const settings: HealthSettings = { healthCheck: plan.healthCheck, passive: plan.passive };
      for (const pe of plan.endpoints) if (!wanted.has(pe.prod)) wanted.set(pe.prod, { pe, settings });
      this.metrics.revision(plan.fleet, plan.revision);
    }
    // Traffic rule 6: a Prod that leaves the plan drains — no new requests; closed after its last one.
    for (const [name, u] of this.upstreams) {
      const w = wanted.get(name);
      if (w && w.pe.url === u.url && w.pe.cluster === u.cluster) continue;
      this.upstreams.delete(name);
      this.retire(u);
    }
    for (const [name, { pe, settings }] of wanted) {
      const existing = this.upstreams.get(name);
      if (existing) {
        const before = existing.health.settings.healthCheck;
        existing.health.settings = settings;
        if (before.intervalMs !== settings.healthCheck.intervalMs) existing.checker.start();
        continue;
      }
      const u = new Upstream(name, pe.cluster, pe.url, settings, this.metrics.prod(name), this.maxSockets, this.connectTimeoutMs, this.responseTimeoutMs, (up, healthy) => this.onHealth(up, healthy));
      this.upstreams.set(name, u);
      u.checker.start();
    }
    this.plans = [...plans];
    this.rebuild();
    this.log(`applied ${plans.length} plan(s): ${plans.map((p) => `${p.fleet}@${p.revision}`).join(', ') || '(none)'}`);
  }

  private retire(u: Upstream): void {
    u.removed = true;
    u.checker.close();
    if (u.inflight === 0) u.close();
  }

  private onHealth(u: Upstream, healthy: boolean): void {
    u.healthChangedAt = Date.now();
    u.metrics.setHealthy(healthy);
    if (this.upstreams.get(u.name) !== u) return;
    this.log(`${u.name} is now ${healthy ? 'healthy' : 'unhealthy'}`);
    this.rebuild();
  }

  private rebuild(): void {
    this.table = new RouteTable(this.plans, this.upstreams, (u) => u.health.healthy);
  }

  // ---- request passes ----------------------------------------------------------------------------

  private readonly onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const table = this.table;
    // Pass 1: match tenant.
    const tenant = table.matchTenant({ host: hostOnly(req.headers.host), header: (n) => headerString(req.headers[n]) });
    const fleet = tenant?.fleet ?? table.defaultFleet;
    if (!fleet) {
      this.fail(res, 'no_plan', 503, 'this edge has no traffic plan yet', 'check that the control plane is reachable and the fleet exists (drover get trafficplans)');
      return;
    }
    const plan = fleet.plan;
    const extraHeaders: string[] = [];
    const affinity = tenant && tenant.assigned.length > 1 ? this.affinityOf(req, plan, extraHeaders) : undefined;
    const te = req.headers['transfer-encoding'];
    const cl = req.headers['content-length'];
    const ctx: RequestCtx = {
      req,
      res,
      start: performance.now(),
      tenant,
      plan,
      affinity,
      extraHeaders,
      headers: undefined,
      hasBody: te !== undefined || (cl !== undefined && cl !== '0'),
      attempt: undefined,
      done: false,
    };
    // The client going away aborts the upstream request.
    res.on('close', () => {
      if (!ctx.done) {
        ctx.done = true;
        ctx.attempt?.abort?.(new Error('client went away'));
      }
    });
    // Pass 2: pick endpoint.
    const p = table.pick(tenant, affinity, Math.random());
    if (!p) {
      this.unavailable(ctx);
      return;
    }
    this.forward(ctx, p.endpoint, 0);
  };

  private affinityOf(req: http.IncomingMessage, plan: TrafficPlanSpec, extraHeaders: string[]): number | undefined {
    if (plan.affinity === 'clientIp') return fnv1a(req.socket.remoteAddress ?? '');
    if (plan.affinity === 'cookie') {
      let key = cookieValue(req.headers.cookie, AFFINITY_COOKIE);
      if (key === undefined) {
        key = randomBytes(8).toString('hex');
        extraHeaders.push('Set-Cookie', `${AFFINITY_COOKIE}=${key}; Path=/; HttpOnly; SameSite=Lax`);
      }
      return fnv1a(key);
    }
    return undefined;
  }

  /** Pass 3: forward to one upstream, streaming both ways (see `Forward`). */
  private forward(ctx: RequestCtx, up: Upstream, attempt: number): void {
    const { req } = ctx;
    ctx.headers ??= upstreamRequestHeaders(req.rawHeaders, { clientIp: req.socket.remoteAddress ?? '', proto: 'http' }, false, true);
    up.inflight++;
    const f = new Forward(this, ctx, up, attempt);
    ctx.attempt = f;
    up.pool.dispatch({ method: req.method ?? 'GET', path: up.basePath + (req.url ?? '/'), headers: ctx.headers, body: ctx.hasBody ? req : null }, f);
  }

  /** An attempt failed before the response finished. */
  failed(f: Forward, err: NodeJS.ErrnoException): void {
    const { ctx, up, attempt } = f;
    if (ctx.done) return;
    const code = err.code ?? '';
    const connectFailed = !f.connected && CONNECT_CODES.has(code);
    const reset = RESET_CODES.has(code);
    if (connectFailed) up.health.connectError();
    if (f.responded) {
      ctx.done = true;
      this.record(up, 502, ctx.start, true);
      ctx.res.destroy();
      return;
    }
    // Pass 4: retry once on another healthy Prod of the same tenant or group. undici reads the
    // body stream only once it writes to the Prod, so an unread `req` means nothing was sent.
    const bodyStarted = ctx.hasBody && ctx.req.readableDidRead;
    const decision = retryDecision({ attempt, responded: false, connectFailed, reset: reset || (!f.connected && !connectFailed), idempotent: isIdempotent(ctx.req.method), bodyStarted: bodyStarted && !connectFailed });
    if (decision === 'retry') {
      const next = this.table.pick(ctx.tenant, ctx.affinity, Math.random(), up);
      if (next && next.endpoint !== up) {
        up.metrics.retry();
        this.forward(ctx, next.endpoint, attempt + 1);
        return;
      }
    }
    ctx.done = true;
    if (code === 'UND_ERR_HEADERS_TIMEOUT') {
      // Not retried: the Prod may still be working on it, and a second wait would double the delay.
      this.record(up, 504, ctx.start, true);
      this.metrics.failure('upstream_timeout');
      sendError(ctx.res, 504, new DroverError('DROVER_E_GATEWAY_TIMEOUT', `Prod ${up.name} did not start answering within ${this.responseTimeoutMs} ms`, {
        fix: 'check the Prod (drover describe prod ' + up.name + '); raise the limit with drover edge --response-timeout if such waits are expected',
      }));
      return;
    }
    this.record(up, 502, ctx.start, true);
    this.metrics.failure('upstream_error');
    sendError(ctx.res, 502, new DroverError('DROVER_E_BAD_GATEWAY', `Prod ${up.name} failed before answering (${code || err.message})${attempt > 0 ? ' after a retry' : ''}`, {
      fix: 'the edge retries once on another Prod; if this persists, check the Prods\' health (drover get prods)',
    }));
  }

  /** Pass 5: record. */
  record(up: Upstream, status: number, start: number, error: boolean): void {
    const ms = performance.now() - start;
    up.metrics.observe(status, ms / 1000);
    this.stats.record(up.name, ms, error);
  }

  private unavailable(ctx: RequestCtx): void {
    ctx.done = true;
    const who = ctx.tenant ? `tenant "${ctx.tenant.name}" of fleet "${ctx.plan.fleet}"` : `fleet "${ctx.plan.fleet}"`;
    this.fail(ctx.res, 'no_healthy_endpoint', 503, `no healthy Prod can serve ${who} (failMode: ${ctx.plan.failMode})`, 'check the Prods\' health (drover get prods) and the traffic plan (drover get trafficplan ' + ctx.plan.fleet + ' -o yaml)');
  }

  private fail(res: http.ServerResponse, reason: FailureReason, status: 502 | 503, message: string, fix: string): void {
    this.metrics.failure(reason);
    sendError(res, status, new DroverError(status === 503 ? 'DROVER_E_UNAVAILABLE' : 'DROVER_E_BAD_GATEWAY', message, { fix }));
  }

  // ---- WebSocket (and other) upgrades --------------------------------------------------------------

  private readonly onUpgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer): void => {
    const table = this.table;
    const tenant = table.matchTenant({ host: hostOnly(req.headers.host), header: (n) => headerString(req.headers[n]) });
    const fleet = tenant?.fleet ?? table.defaultFleet;
    const extra: string[] = [];
    const affinity = fleet && tenant && tenant.assigned.length > 1 ? this.affinityOf(req, fleet.plan, extra) : undefined;
    const p = fleet ? table.pick(tenant, affinity, Math.random()) : undefined;
    socket.on('error', () => socket.destroy());
    if (!p || !fleet) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n' + JSON.stringify({ code: 'DROVER_E_UNAVAILABLE', message: 'no healthy Prod can take this connection' }));
      return;
    }
    const up = p.endpoint;
    const start = performance.now();
    up.inflight++;
    const upReq = http.request({
      host: up.host,
      port: up.port,
      method: req.method,
      path: up.basePath + (req.url ?? '/'),
      headers: upstreamRequestHeaders(req.rawHeaders, { clientIp: req.socket.remoteAddress ?? '', proto: 'http' }, true),
      setHost: false,
    });
    upReq.end();
    let released = false;
    const release = () => {
      if (!released) {
        released = true;
        up.release();
      }
    };
    upReq.on('upgrade', (upRes, upSocket, upHead) => {
      if (fleet.plan.addProdHeader) extra.push('x-drover-prod', up.name);
      let head1 = `HTTP/1.1 101 ${upRes.statusMessage ?? 'Switching Protocols'}\r\n`;
      const raw = upRes.rawHeaders;
      for (let i = 0; i + 1 < raw.length; i += 2) head1 += `${raw[i]}: ${raw[i + 1]}\r\n`;
      for (let i = 0; i + 1 < extra.length; i += 2) head1 += `${extra[i]}: ${extra[i + 1]}\r\n`;
      socket.write(head1 + '\r\n');
      if (upHead.length > 0) socket.write(upHead);
      if (head.length > 0) upSocket.write(head);
      upSocket.on('error', () => socket.destroy());
      socket.on('close', () => {
        upSocket.destroy();
        release();
      });
      upSocket.on('close', () => socket.destroy());
      upSocket.pipe(socket);
      socket.pipe(upSocket);
      this.record(up, 101, start, false);
    });
    upReq.on('response', (upRes) => {
      // The upstream refused the upgrade: relay its answer.
      let text = `HTTP/1.1 ${upRes.statusCode ?? 502} ${upRes.statusMessage ?? ''}\r\n`;
      const hdrs = clientResponseHeaders(upRes.rawHeaders, []);
      for (let i = 0; i + 1 < hdrs.length; i += 2) text += `${hdrs[i]}: ${hdrs[i + 1]}\r\n`;
      socket.write(text + 'Connection: close\r\n\r\n');
      upRes.pipe(socket);
      upRes.on('end', release);
    });
    upReq.on('error', (err: NodeJS.ErrnoException) => {
      release();
      if (CONNECT_CODES.has(err.code ?? '')) up.health.connectError();
      this.record(up, 502, start, true);
      socket.end('HTTP/1.1 502 Bad Gateway\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n' + JSON.stringify({ code: 'DROVER_E_BAD_GATEWAY', message: `Prod ${up.name} failed before answering the upgrade` }));
    });
    socket.on('close', () => upReq.destroy());
  };

  // ---- admin ---------------------------------------------------------------------------------------

  private async onAdmin(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://admin');
    try {
      switch (url.pathname) {
        case '/healthz': {
          const st = this.opts.source.status();
          sendJson(res, 200, { ok: true, edge: this.id, plans: this.plans.map((p) => ({ fleet: p.fleet, revision: p.revision })), source: st });
          return;
        }
        case '/metrics': {
          const body = await this.metrics.registry.metrics();
          res.writeHead(200, { 'content-type': this.metrics.registry.contentType });
          res.end(body);
          return;
        }
        case '/stats': {
          const raw = url.searchParams.get('windowMs');
          const windowMs = raw === null ? 60_000 : Number(raw);
          if (!Number.isFinite(windowMs) || windowMs <= 0) {
            sendError(res, 400, new DroverError('DROVER_E_BAD_REQUEST', `windowMs must be a positive number of milliseconds, got ${JSON.stringify(raw)}`, { field: 'windowMs', fix: 'use e.g. /stats?windowMs=60000' }));
            return;
          }
          const win = Math.min(windowMs, this.stats.maxWindowMs);
          const body: EdgeStats = { edge: this.id, windowMs: win, at: new Date().toISOString(), prods: this.stats.snapshot(win) };
          sendJson(res, 200, body);
          return;
        }
        case '/plan':
          sendJson(res, 200, { plans: this.plans, health: this.healthState() });
          return;
        default:
          sendError(res, 404, new DroverError('DROVER_E_NOT_FOUND', `no admin endpoint ${url.pathname}`, { fix: 'use /metrics, /stats?windowMs=N, /healthz or /plan' }));
      }
    } catch (e) {
      sendError(res, 500, new DroverError('DROVER_E_INTERNAL', e instanceof Error ? e.message : String(e)));
    }
  }
}

function headerString(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function sendError(res: http.ServerResponse, status: number, err: DroverError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, status, err.toBody());
}

async function listenOn(server: http.Server, at: HostPort): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port, at.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const a = server.address() as AddressInfo;
  const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
  return `http://${host}:${a.port}`;
}

async function closeServer(server: http.Server): Promise<void> {
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
