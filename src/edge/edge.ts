/**
 * The Drover edge: an L7 HTTP proxy that executes traffic plans. This file assembles it and runs its
 * life (start, stop); the rooms are
 * - plan-state.ts: the plans, one `Upstream` (upstream.ts) per Prod, and the routing table they make;
 * - forward.ts: the request passes (match tenant → pick → forward → retry → record), attempt.ts the
 *   forward attempt itself; they reach the edge only through `EdgeHooks`;
 * - websocket.ts: upgrades, tunnelled to the Prod; client-errors.ts: what node's parser refused;
 * - admin.ts: the admin port (/healthz, /metrics, /stats, /plan).
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import type { TrafficPlanSpec } from '../api/kinds/traffic-plan.js';
import { closeServer, listenOn, type HostPort } from '../runtime/http-io.js';
import { adminHandler } from './admin.js';
import { clientErrorHandler } from './client-errors.js';
import { ForwardPasses, type EdgeHooks } from './forward.js';
import { EdgeMetrics } from './metrics.js';
import type { PlanSource } from './plan-source.js';
import { PlanState } from './plan-state.js';
import { WindowStats } from './window-stats.js';
import { upgradeHandler } from './websocket.js';

export { AFFINITY_COOKIE } from './affinity.js';
export { retryDecision, type RetryOutcome } from './forward.js';
export type { HostPort } from '../runtime/http-io.js';

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

export class Edge {
  private readonly server: http.Server;
  private admin: http.Server | undefined;
  private readonly state: PlanState;
  readonly metrics = new EdgeMetrics();
  readonly stats = new WindowStats();
  readonly id: string;
  url = '';
  adminUrl = '';

  constructor(private readonly opts: EdgeOptions) {
    this.id = opts.id ?? `edge-${randomBytes(4).toString('hex')}`;
    const maxSockets = opts.maxSocketsPerUpstream ?? 512;
    const responseTimeoutMs = opts.responseTimeoutMs ?? 60_000;
    this.state = new PlanState(
      { connectTimeoutMs: opts.connectTimeoutMs ?? 2000, maxSockets, responseTimeoutMs, upstreamIdleTimeoutMs: opts.upstreamIdleTimeoutMs ?? 300_000 },
      this.metrics,
      opts.log ?? (() => {}),
    );
    const { state, metrics, stats } = this;
    const hooks: EdgeHooks = {
      table: () => state.table,
      record(up, status, start, error) {
        const ms = performance.now() - start;
        up.metrics.observe(status, ms / 1000);
        stats.record(up.name, ms, error);
      },
      failure: (reason) => metrics.failure(reason),
      clientError: (reason) => metrics.clientError(reason),
    };
    const passes = new ForwardPasses(hooks, {
      responseTimeoutMs,
      bodyTimeoutMs: opts.bodyTimeoutMs ?? 30_000,
      bufferBodyBytes: opts.bufferBodyBytes ?? 64 * 1024,
      maxStreamingBodies: opts.maxStreamingBodiesPerProd ?? Math.max(1, Math.floor(maxSockets / 4)),
    });
    const headersTimeout = opts.headerTimeoutMs ?? 10_000;
    this.server = http.createServer(
      {
        keepAlive: true,
        keepAliveTimeout: opts.idleTimeoutMs ?? 65_000,
        // The body timeout is the edge's own (per fleet, see `armBodyTimer` in forward.ts); node's
        // whole-request timeout would cut off long uploads a policy allows.
        requestTimeout: 0,
        headersTimeout,
        // Node checks head timeouts on this beat (30 s by default, which would triple a 10 s limit).
        connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(headersTimeout / 4))),
      },
      passes.onRequest,
    );
    this.server.on('upgrade', upgradeHandler(hooks));
    this.server.on('clientError', clientErrorHandler((reason) => metrics.clientError(reason)));
  }

  async start(): Promise<{ url: string; adminUrl: string }> {
    await this.opts.source.start((plans) => this.applyPlans(plans));
    this.url = await listenOn(this.server, this.opts.listen ?? { host: '127.0.0.1', port: 8080 }, '--listen');
    if (this.opts.adminListen !== false) {
      const onAdmin = adminHandler({ id: this.id, source: this.opts.source, metrics: this.metrics, stats: this.stats, plans: () => this.state.currentPlans(), health: () => this.state.healthState() });
      this.admin = http.createServer((req, res) => void onAdmin(req, res));
      this.adminUrl = await listenOn(this.admin, this.opts.adminListen ?? { host: '127.0.0.1', port: 0 }, '--admin-listen');
    }
    return { url: this.url, adminUrl: this.adminUrl };
  }

  async stop(): Promise<void> {
    await this.opts.source.stop();
    this.state.close();
    const closing = [closeServer(this.server)];
    if (this.admin) closing.push(closeServer(this.admin));
    await Promise.all(closing);
  }

  applyPlans(plans: readonly TrafficPlanSpec[]): void {
    this.state.apply(plans);
  }

  /** The plans in use (as `/plan` shows them). */
  currentPlans(): readonly TrafficPlanSpec[] {
    return this.state.currentPlans();
  }

  /** Health of every endpoint, by Prod name. */
  healthState(): Record<string, boolean> {
    return this.state.healthState();
  }

  /** When the Prod's health last changed (Date.now()), if it ever did. */
  healthChangedAt(prod: string): number | undefined {
    return this.state.healthChangedAt(prod);
  }
}
