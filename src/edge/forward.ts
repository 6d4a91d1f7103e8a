/**
 * The edge's request passes, in order: match tenant → pick endpoint → forward → retry → record, each
 * small and tested on its own (routing.ts, headers.ts, `retryDecision` here, the attempt in attempt.ts).
 * The passes talk to the edge only through `EdgeHooks`: the routing table in force, and where outcomes
 * go. Plans and health changes rebuild the table (plan-state.ts); a request reads it once per pick.
 */
import type http from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Dispatcher } from 'undici';
import { DroverError } from '../errors.js';
import { sendDroverError } from '../runtime/http-io.js';
import { affinityBy, affinityOf } from './affinity.js';
import { Forward, type AttemptHooks, type RequestCtx } from './attempt.js';
import { headerString, hostOnly, isIdempotent, upstreamRequestHeaders } from './headers.js';
import type { ClientErrorReason, FailureReason } from './metrics.js';
import type { RouteTable } from './routing.js';
import { CONNECT_CODES, type Upstream } from './upstream.js';

/** What the passes need of the edge. */
export interface EdgeHooks {
  /** The routing table in force; read once per pick, so a plan change mid-request is seen by a retry. */
  table(): RouteTable<Upstream>;
  /** Pass 5: a request a Prod answered (or failed): its metrics and the window stats release gates read. */
  record(up: Upstream, status: number, start: number, error: boolean): void;
  /** The edge answered itself because no Prod could. */
  failure(reason: FailureReason): void;
  /** The client was at fault; counted apart, never against a Prod. */
  clientError(reason: ClientErrorReason): void;
}

/** The edge's limits the passes apply (EdgeOptions; a fleet's TrafficPolicy `timeouts` override some). */
export interface ForwardSettings {
  responseTimeoutMs: number;
  bodyTimeoutMs: number;
  bufferBodyBytes: number;
  maxStreamingBodies: number;
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

/** UND_ERR_SOCKET: undici's "other side closed" — the connection dropped under the request. */
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'UND_ERR_SOCKET']);
/**
 * undici refusing the request itself (a header value it will not send, a method it does not know): the
 * client's request is at fault, no Prod was involved.
 */
const CLIENT_FAULT_CODES = new Set(['UND_ERR_INVALID_ARG', 'UND_ERR_NOT_SUPPORTED']);

export class ForwardPasses implements AttemptHooks {
  constructor(
    private readonly hooks: EdgeHooks,
    private readonly s: ForwardSettings,
  ) {}

  readonly onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const table = this.hooks.table();
    // Pass 1: match tenant.
    const tenant = table.matchTenant({ host: hostOnly(req.headers.host), header: (n) => headerString(req.headers[n]) });
    const fleet = tenant?.fleet ?? table.defaultFleet;
    if (!fleet) {
      this.fail(res, 'no_plan', 503, 'this edge has no traffic plan yet', 'check that the control plane is reachable and the fleet exists (drover get trafficplans)');
      return;
    }
    const plan = fleet.plan;
    const extraHeaders: string[] = [];
    // A user covered by a migration keeps one key for its side and its Prod (legacy-split.ts).
    const split = table.legacyFor(tenant);
    const affinity = split ? affinityBy(req, split.affinity, extraHeaders) : tenant && tenant.assigned.length > 1 ? affinityOf(req, plan, extraHeaders) : undefined;
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
      if (te === undefined && Number(cl) <= this.s.bufferBodyBytes) {
        this.bufferBody(ctx);
        return;
      }
    }
    this.pickAndForward(ctx);
  };

  /** The request body must have arrived within the fleet's body timeout (traffic policy) or the edge's. */
  private armBodyTimer(ctx: RequestCtx): void {
    const ms = ctx.plan.timeouts?.requestBodyMs ?? this.s.bodyTimeoutMs;
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
    this.hooks.clientError('body_timeout');
    const err = new DroverError('DROVER_E_REQUEST_TIMEOUT', `the request body did not arrive within ${ms} ms`, {
      fix: 'send the body faster; the limit is the fleet\'s TrafficPolicy timeouts.requestBodyMs or drover edge --body-timeout',
    });
    sendDroverError(ctx.res, err, { connection: 'close' });
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
    const p = this.hooks.table().pick(tenant, affinity, Math.random());
    if (!p) {
      this.unavailable(ctx);
      return;
    }
    this.forward(ctx, p.endpoint, 0);
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
    if (streaming && up.streamingBodies >= this.s.maxStreamingBodies) {
      ctx.done = true;
      this.fail(ctx.res, 'upload_limit', 503, `Prod ${up.name} already takes ${this.s.maxStreamingBodies} streamed request bodies`, 'retry later; the limit is drover edge --max-streaming-bodies (bodies up to --buffer-body bytes with a Content-Length are buffered and not limited)');
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
    this.hooks.clientError('bad_request');
    const err = new DroverError('DROVER_E_BAD_REQUEST', message, { fix: 'send a valid HTTP/1.1 request (one Host header, header values without control characters)' });
    // Its body (if any) is not wanted: close rather than parse what follows it as the next request.
    sendDroverError(ctx.res, err, ctx.req.readableEnded ? undefined : { connection: 'close' });
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
      this.hooks.record(up, 502, ctx.start, true);
      ctx.res.destroy();
      return;
    }
    // Pass 4: retry once on another healthy Prod of the same tenant or group. undici reads the
    // body stream only once it writes to the Prod, so an unread `req` means nothing was sent.
    const bodyStarted = ctx.hasBody && ctx.body === undefined && ctx.req.readableDidRead;
    const decision = retryDecision({ attempt, responded: false, connectFailed, reset: reset || (!f.connected && !connectFailed), idempotent: isIdempotent(ctx.req.method), bodyStarted: bodyStarted && !connectFailed });
    if (decision === 'retry') {
      const next = this.hooks.table().pick(ctx.tenant, ctx.affinity, Math.random(), up);
      if (next && next.endpoint !== up) {
        up.metrics.retry();
        this.forward(ctx, next.endpoint, attempt + 1);
        return;
      }
    }
    ctx.done = true;
    if (code === 'UND_ERR_HEADERS_TIMEOUT') {
      // Not retried: the Prod may still be working on it, and a second wait would double the delay.
      this.hooks.record(up, 504, ctx.start, true);
      this.hooks.failure('upstream_timeout');
      sendDroverError(ctx.res, new DroverError('DROVER_E_GATEWAY_TIMEOUT', `Prod ${up.name} did not start answering within ${ctx.plan.timeouts?.responseMs ?? this.s.responseTimeoutMs} ms`, {
        fix: 'check the Prod (drover describe prod ' + up.name + '); raise the limit with drover edge --response-timeout if such waits are expected',
      }));
      return;
    }
    this.hooks.record(up, 502, ctx.start, true);
    this.hooks.failure('upstream_error');
    sendDroverError(ctx.res, new DroverError('DROVER_E_BAD_GATEWAY', `Prod ${up.name} failed before answering (${code || err.message})${attempt > 0 ? ' after a retry' : ''}`, {
      fix: 'the edge retries once on another Prod; if this persists, check the Prods\' health (drover get prods)',
    }));
  }

  /** Pass 5 for an attempt that completed (`AttemptHooks`). */
  record(up: Upstream, status: number, start: number, error: boolean): void {
    this.hooks.record(up, status, start, error);
  }

  private unavailable(ctx: RequestCtx): void {
    ctx.done = true;
    const who = ctx.tenant ? `tenant "${ctx.tenant.name}" of fleet "${ctx.plan.fleet}"` : `fleet "${ctx.plan.fleet}"`;
    this.fail(ctx.res, 'no_healthy_endpoint', 503, `no healthy Prod can serve ${who} (failMode: ${ctx.plan.failMode})`, 'check the Prods\' health (drover get prods) and the traffic plan (drover get trafficplan ' + ctx.plan.fleet + ' -o yaml)');
  }

  private fail(res: http.ServerResponse, reason: FailureReason, status: 502 | 503, message: string, fix: string): void {
    this.hooks.failure(reason);
    sendDroverError(res, new DroverError(status === 503 ? 'DROVER_E_UNAVAILABLE' : 'DROVER_E_BAD_GATEWAY', message, { fix }));
  }
}
