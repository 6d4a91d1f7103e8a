/** One Prod endpoint as the edge holds it: pool, health, counters. Survives plan updates that keep it. */
import { Pool } from 'undici';
import { ActiveChecker, EndpointHealth, type HealthSettings } from './health.js';
import type { ProdMetrics } from './metrics.js';

/** How the edge connects to Prods; the same for every upstream (EdgeOptions, per edge). */
export interface UpstreamSettings {
  connectTimeoutMs: number;
  maxSockets: number;
  responseTimeoutMs: number;
  upstreamIdleTimeoutMs: number;
}

/** Errors that mean the connection to a Prod was never made: nothing was sent, and the Prod's health hears of it. */
export const CONNECT_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT']);

export class Upstream {
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
    s: UpstreamSettings,
    onHealth: (u: Upstream, healthy: boolean) => void,
  ) {
    const u = new URL(url);
    this.host = u.hostname.replace(/^\[|\]$/g, '');
    this.port = Number(u.port || 80);
    this.basePath = u.pathname.replace(/\/$/, '');
    this.pool = new Pool(u.origin, { connections: s.maxSockets, pipelining: 1, connect: { timeout: s.connectTimeoutMs }, headersTimeout: s.responseTimeoutMs, bodyTimeout: s.upstreamIdleTimeoutMs });
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
