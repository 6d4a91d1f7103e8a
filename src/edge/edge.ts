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
import { EdgeMetrics, type ClientErrorReason, type FailureReason, type ProdMetrics } from './metrics.js';
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
  /**
   * Longest pause between chunks of a Prod's response body before the answer is cut off; 0 waits
   * forever. Default 5 minutes (Envoy's stream idle timeout): long enough for server-sent events with
   * heartbeats, short enough that a hung Prod does not hold a connection for ever. Per fleet:
   * TrafficPolicy `timeouts.upstreamIdleMs`.
   */
  upstreamIdleTimeoutMs?: number;
  /**
   * How long a client may take to send its request head (request line and headers); 408 after.
   * Default 10 s. Per edge only: the tenant is not known before the head has arrived.
   */
  headerTimeoutMs?: number;
  /**
   * How long a client may take to send the whole request body once its head has arrived; 408 after,
   * and any upstream request it was feeding is aborted. 0 waits forever. Default 30 s.
   * Per fleet: TrafficPolicy `timeouts.requestBodyMs`.
   */
  bodyTimeoutMs?: number;
  /** How long an idle client keep-alive connection is kept. Default 65 s (longer than AWS load balancers' 60 s). */
  idleTimeoutMs?: number;
  /**
   * Request bodies with a Content-Length up to this are read whole before a Prod is picked, so a slow
   * client never holds a Prod's connection (nginx's request buffering). Default 64 KiB; 0 streams all.
   */
  bufferBodyBytes?: number;
  /**
   * Streamed request bodies (chunked, or above `bufferBodyBytes`) one Prod may be fed at once; more get
   * 503 at once, so slow uploads cannot take every connection to a Prod. Default a quarter of
   * `maxSocketsPerUpstream`.
   */
  maxStreamingBodiesPerProd?: number;
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
  /** Requests whose body is still streaming to this Prod. */
  streamingBodies = 0;
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
    upstreamIdleTimeoutMs: number,
    onHealth: (u: Upstream, healthy: boolean) => void,
  ) {
    const u = new URL(url);
    this.host = u.hostname.replace(/^\[|\]$/g, '');
    this.port = Number(u.port || 80);
    this.basePath = u.pathname.replace(/\/$/, '');
    this.pool = new Pool(u.origin, { connections: maxSockets, pipelining: 1, connect: { timeout: connectTimeoutMs }, headersTimeout: responseTimeoutMs, bodyTimeout: upstreamIdleTimeoutMs });
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
/**
 * undici refusing the request itself (a header value it will not send, a method it does not know): the
 * client's request is at fault, no Prod was involved.
 */
const CLIENT_FAULT_CODES = new Set(['UND_ERR_INVALID_ARG', 'UND_ERR_NOT_SUPPORTED']);

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
  /** The whole body, when it was small enough to read before picking a Prod (`bufferBodyBytes`). */
  body: Buffer | undefined;
  /** Fires when the body has not arrived within the body timeout. */
  bodyTimer: NodeJS.Timeout | undefined;
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
  /** Holds one of the Prod's streaming-body slots until the body has been sent or the attempt ends. */
  private streamSlot = false;

  constructor(
    private readonly edge: Edge,
    readonly ctx: RequestCtx,
    readonly up: Upstream,
    readonly attempt: number,
  ) {}

  private release(): void {
    this.releaseStream();
    if (!this.released) {
      this.released = true;
      this.up.release();
    }
  }

  holdStream(): void {
    this.streamSlot = true;
    this.up.streamingBodies++;
  }

  readonly releaseStream = (): void => {
    if (this.streamSlot) {
      this.streamSlot = false;
      this.up.streamingBodies--;
    }
  };

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
  private readonly upstreamIdleTimeoutMs: number;
  private readonly bodyTimeoutMs: number;
  private readonly bufferBodyBytes: number;
  private readonly maxStreamingBodies: number;
  private readonly log: (msg: string) => void;
  url = '';
  adminUrl = '';

  constructor(private readonly opts: EdgeOptions) {
    this.id = opts.id ?? `edge-${randomBytes(4).toString('hex')}`;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 2000;
    this.maxSockets = opts.maxSocketsPerUpstream ?? 512;
    this.responseTimeoutMs = opts.responseTimeoutMs ?? 60_000;
    this.upstreamIdleTimeoutMs = opts.upstreamIdleTimeoutMs ?? 300_000;
    this.bodyTimeoutMs = opts.bodyTimeoutMs ?? 30_000;
    this.bufferBodyBytes = opts.bufferBodyBytes ?? 64 * 1024;
    this.maxStreamingBodies = opts.maxStreamingBodiesPerProd ?? Math.max(1, Math.floor(this.maxSockets / 4));
    this.log = opts.log ?? (() => {});
    const headersTimeout = opts.headerTimeoutMs ?? 10_000;
    this.server = http.createServer(
      {
        keepAlive: true,
        keepAliveTimeout: opts.idleTimeoutMs ?? 65_000,
        // The body timeout is the edge's own (per fleet, see `armBodyTimer`); node's whole-request
        // timeout would cut off long uploads a policy allows.
        requestTimeout: 0,
        headersTimeout,
        // Node checks head timeouts on this beat (30 s by default, which would triple a 10 s limit).
        connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(headersTimeout / 4))),
      },
      this.onRequest,
    );
    this.server.on('upgrade', this.onUpgrade);
    this.server.on('clientError', this.onClientError);
  }

  /**
   * What node's parser refused (malformed request, head too slow or too large): answered by the edge
   * in its catalogued JSON shape, counted as a client error, never against a Prod.
   */
  private readonly onClientError = (err: NodeJS.ErrnoException, socket: Duplex): void => {
    const code = err.code ?? '';
    // A client resetting or vanishing is not a request to answer.
    if (!socket.writable || code === 'ECONNRESET' || code === 'EPIPE') {
      socket.destroy();
      return;
    }
    let status: 400 | 408 | 431 = 400;
    let reason: ClientErrorReason = 'bad_request';
    let e: DroverError;
    if (code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      status = 408;
      reason = 'header_timeout';
      e = new DroverError('DROVER_E_REQUEST_TIMEOUT', 'the request head did not arrive in time', { fix: 'send the request line and headers at once; the edge\'s limit is drover edge --header-timeout' });
    } else if (code === 'HPE_HEADER_OVERFLOW') {
      status = 431;
      reason = 'headers_too_large';
      e = new DroverError('DROVER_E_BAD_REQUEST', 'the request headers are too large', { fix: 'send fewer or smaller headers (node\'s limit is 16 KiB)' });
    } else {
      e = new DroverError('DROVER_E_BAD_REQUEST', `malformed HTTP request (${code || err.message})`, { fix: 'send a valid HTTP/1.1 request' });
    }
    this.metrics.clientError(reason);
    const body = JSON.stringify(e.toBody());
    const text = status === 408 ? 'Request Timeout' : status === 431 ? 'Request Header Fields Too Large' : 'Bad Request';
    socket.end(`HTTP/1.1 ${status} ${text}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  };

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
      const u = new Upstream(name, pe.cluster, pe.url, settings, this.metrics.prod(name), this.maxSockets, this.connectTimeoutMs, this.responseTimeoutMs, this.upstreamIdleTimeoutMs, (up, healthy) => this.onHealth(up, healthy));
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
    const hasBody = te !== undefined || (cl !== undefined && cl !== '0');
    const ctx: RequestCtx = {
      req,
      res,
      start: performance.now(),
      tenant,
      plan,
      affinity,
      extraHeaders,
      headers: undefined,
      hasBody,
      body: undefined,
      bodyTimer: undefined,
      attempt: undefined,
      done: false,
    };
    // The client going away aborts the upstream request.
    res.on('close', () => {
      if (ctx.bodyTimer) clearTimeout(ctx.bodyTimer);
      if (!ctx.done) {
        ctx.done = true;
        ctx.attempt?.abort?.(new Error('client went away'));
      }
    });
    if (hasBody) {
      this.armBodyTimer(ctx);
      // A small body is read whole first: a slow client then holds nothing of the Prod's.
      if (te === undefined && Number(cl) <= this.bufferBodyBytes) {
        this.bufferBody(ctx);
        return;
      }
    }
    this.pickAndForward(ctx);
  };

  /** The request body must have arrived within the fleet's body timeout (traffic policy) or the edge's. */
  private armBodyTimer(ctx: RequestCtx): void {
    const ms = ctx.plan.timeouts?.requestBodyMs ?? this.bodyTimeoutMs;
    if (ms <= 0) return;
    const timer = setTimeout(() => this.bodyTimedOut(ctx, ms), ms);
    ctx.bodyTimer = timer;
    ctx.req.once('end', () => clearTimeout(timer));
  }

  private bodyTimedOut(ctx: RequestCtx, ms: number): void {
    ctx.bodyTimer = undefined;
    if (ctx.done || ctx.req.readableEnded) return;
    ctx.done = true;
    // The Prod's connection is freed at once; the client's fault, so nothing is recorded against it.
    ctx.attempt?.abort?.(new Error('request body timed out'));
    this.metrics.clientError('body_timeout');
    const err = new DroverError('DROVER_E_REQUEST_TIMEOUT', `the request body did not arrive within ${ms} ms`, {
      fix: 'send the body faster; the limit is the fleet\'s TrafficPolicy timeouts.requestBodyMs or drover edge --body-timeout',
    });
    if (ctx.res.headersSent) {
      ctx.res.destroy();
      return;
    }
    const text = JSON.stringify(err.toBody());
    ctx.res.writeHead(408, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), connection: 'close' });
    ctx.res.end(text);
  }

  private bufferBody(ctx: RequestCtx): void {
    const chunks: Buffer[] = [];
    ctx.req.on('data', (c: Buffer) => chunks.push(c));
    ctx.req.once('end', () => {
      if (ctx.done) return;
      ctx.body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      this.pickAndForward(ctx);
    });
  }

  private pickAndForward(ctx: RequestCtx): void {
    // Pass 2: pick endpoint.
    const { tenant, affinity } = ctx;
    const p = this.table.pick(tenant, affinity, Math.random());
    if (!p) {
      this.unavailable(ctx);
      return;
    }
    this.forward(ctx, p.endpoint, 0);
  }

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
    if (ctx.headers === undefined) {
      const h = upstreamRequestHeaders(req.rawHeaders, { clientIp: req.socket.remoteAddress ?? '', proto: 'http' }, false, true);
      if (!Array.isArray(h)) {
        this.clientFault(ctx, h.clientError);
        return;
      }
      ctx.headers = h;
    }
    const streaming = ctx.hasBody && ctx.body === undefined;
    if (streaming && up.streamingBodies >= this.maxStreamingBodies) {
      ctx.done = true;
      this.fail(ctx.res, 'upload_limit', 503, `Prod ${up.name} already takes ${this.maxStreamingBodies} streamed request bodies`, 'retry later; the limit is drover edge --max-streaming-bodies (bodies up to --buffer-body bytes with a Content-Length are buffered and not limited)');
      return;
    }
    up.inflight++;
    const f = new Forward(this, ctx, up, attempt);
    ctx.attempt = f;
    if (streaming) {
      f.holdStream();
      req.once('end', f.releaseStream);
    }
    const t = ctx.plan.timeouts;
    const opts: Dispatcher.DispatchOptions = { method: req.method ?? 'GET', path: up.basePath + (req.url ?? '/'), headers: ctx.headers, body: ctx.body ?? (streaming ? req : null) };
    if (t?.responseMs !== undefined) opts.headersTimeout = t.responseMs;
    if (t?.upstreamIdleMs !== undefined) opts.bodyTimeout = t.upstreamIdleMs;
    up.pool.dispatch(opts, f);
  }

  /** The request is malformed: 400, the client's error, not counted against any Prod. */
  private clientFault(ctx: RequestCtx, message: string): void {
    ctx.done = true;
    this.metrics.clientError('bad_request');
    const err = new DroverError('DROVER_E_BAD_REQUEST', message, { fix: 'send a valid HTTP/1.1 request (one Host header, header values without control characters)' });
    const text = JSON.stringify(err.toBody());
    const headers: http.OutgoingHttpHeaders = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) };
    // Its body (if any) is not wanted: close rather than parse what follows it as the next request.
    if (!ctx.req.readableEnded) headers.connection = 'close';
    if (ctx.res.headersSent) ctx.res.destroy();
    else {
      ctx.res.writeHead(400, headers);
      ctx.res.end(text);
    }
  }

  /** An attempt failed before the response finished. */
  failed(f: Forward, err: NodeJS.ErrnoException): void {
    const { ctx, up, attempt } = f;
    if (ctx.done) return;
    const code = err.code ?? '';
    if (!f.responded && CLIENT_FAULT_CODES.has(code)) {
      this.clientFault(ctx, `the request cannot be forwarded: ${err.message}`);
      return;
    }
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
    const bodyStarted = ctx.hasBody && ctx.body === undefined && ctx.req.readableDidRead;
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
      sendError(ctx.res, 504, new DroverError('DROVER_E_GATEWAY_TIMEOUT', `Prod ${up.name} did not start answering within ${ctx.plan.timeouts?.responseMs ?? this.responseTimeoutMs} ms`, {
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
    const upgradeHeaders = upstreamRequestHeaders(req.rawHeaders, { clientIp: req.socket.remoteAddress ?? '', proto: 'http' }, true);
    if (!Array.isArray(upgradeHeaders)) {
      this.metrics.clientError('bad_request');
      const body = JSON.stringify({ code: 'DROVER_E_BAD_REQUEST', message: upgradeHeaders.clientError });
      socket.end(`HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
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
      headers: upgradeHeaders,
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
