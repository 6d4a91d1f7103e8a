/**
 * One forward attempt (pass 3) as an undici dispatch handler: the Prod's answer is written straight into
 * the client response with undici's pause/resume as backpressure — no intermediate streams, one object
 * per attempt instead of a ClientRequest, an IncomingMessage and their listeners.
 */
import type http from 'node:http';
import type { Dispatcher } from 'undici';
import type { TrafficPlanSpec } from '../api/kinds/traffic-plan.js';
import { responseHead } from './headers.js';
import type { TenantRoute } from './routing.js';
import type { Upstream } from './upstream.js';

/** One client request as it goes through the passes. */
export interface RequestCtx {
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

/** Where an attempt's end goes: a complete answer is recorded (pass 5), a failure goes to the retry pass. */
export interface AttemptHooks {
  record(up: Upstream, status: number, start: number, error: boolean): void;
  failed(f: Forward, err: NodeJS.ErrnoException): void;
}

export class Forward implements Dispatcher.DispatchHandler {
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
    private readonly hooks: AttemptHooks,
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
    this.hooks.record(this.up, this.status, ctx.start, this.status >= 500);
  }

  onError(err: Error): void {
    this.release();
    this.hooks.failed(this, err);
  }
}
