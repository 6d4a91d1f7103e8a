/**
 * The HTTP API server: node:http, no framework. REST under `/api/v1/<plural>[/<name>[/status]]` for every
 * kind in the registry, NDJSON watches, `/healthz`, `/readyz`, `/metrics`; bearer tokens with two roles;
 * one error handler (src/server/http-io.ts `sendError`) turning errors into catalogued responses.
 */
import { setMaxListeners } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { register } from 'prom-client';
import { API_VERSION } from '../api/meta.js';
import { WATCH_FROM_HEADER } from '../client/watch-resume.js';
import { kinds } from '../api/registry.js';
import { DroverError } from '../errors.js';
import { parseHostPort } from '../runtime/http-io.js';
import type { Store } from '../store/store.js';
import { TokenSet, type Role, type TokenGrant } from './auth.js';
import { DEFAULT_BODY_LIMIT, readJsonBody, sendError, sendJson } from './http-io.js';
import { ApiMetrics } from './metrics.js';
import { Admission } from './admission.js';
import {
  createObject,
  deleteObject,
  getObject,
  listObjects,
  patchObject,
  replaceObject,
  type Answer,
  type HandlerContext,
} from './resource-handlers.js';
import { matchRoute, routeLabel, type Route } from './routes.js';
import { createListener, requireClientCert, type ApiTlsOptions } from './tls-listener.js';
import { streamWatch } from './watch-stream.js';

export interface ApiServerOptions {
  store: Store;
  /** `host:port`, `:port` or `port`; default `127.0.0.1:7400`. Port 0 picks a free port. */
  listen?: string;
  tokens: readonly TokenGrant[];
  bodyLimitBytes?: number;
  /** Interval of BOOKMARK lines on idle watches. Default 10 s. */
  watchHeartbeatMs?: number;
  /** Include Node process metrics in /metrics. Default true. */
  processMetrics?: boolean;
  log?: (level: 'info' | 'error', msg: string, err?: unknown) => void;
  /** Serve HTTPS with these files (reloaded on change), optionally requiring client certificates. */
  tls?: ApiTlsOptions;
  /** More fields for `/readyz` (the control plane's: replica, who leads and since when); a throw is not ready. */
  readiness?: () => Promise<Record<string, unknown>>;
}

export interface ApiServer {
  /** Base URL, e.g. `http://127.0.0.1:7400` (with the chosen port when asked for port 0; https:// with TLS). */
  url: string;
  /** TLS certificate reloads applied since start. */
  tlsReloads(): number;
  port: number;
  metrics: ApiMetrics;
  /** Stops accepting connections, ends watches, waits for in-flight requests (up to `graceMs`). */
  close(opts?: { graceMs?: number }): Promise<void>;
}

export const DEFAULT_LISTEN = '127.0.0.1:7400';

export async function startApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  const { host, port } = parseHostPort(opts.listen ?? DEFAULT_LISTEN, 'listen', DEFAULT_LISTEN);
  const tokens = new TokenSet(opts.tokens);
  const bodyLimit = opts.bodyLimitBytes ?? DEFAULT_BODY_LIMIT;
  const heartbeatMs = opts.watchHeartbeatMs ?? 10_000;
  const metrics = new ApiMetrics({ defaultMetrics: opts.processMetrics ?? true });
  const log = opts.log ?? ((level, msg, err) => (level === 'error' ? console.error(msg, err ?? '') : console.log(msg)));
  const shutdown = new AbortController();
  setMaxListeners(0, shutdown.signal); // every open watch listens for shutdown
  const store = opts.store;
  const admission = new Admission(store);

  async function route(req: IncomingMessage, res: ServerResponse, r: Route, url: URL, role: Role | undefined): Promise<Answer | undefined> {
    const method = req.method ?? 'GET';
    switch (r.type) {
      case 'healthz':
        return { status: 200, body: { status: 'ok' } };
      case 'readyz': {
        let extra: Record<string, unknown> = {};
        try {
          await store.revision();
          if (opts.readiness) extra = await opts.readiness();
        } catch (e) {
          throw new DroverError('DROVER_E_UNAVAILABLE', `store is not answering: ${(e as Error).message}`, { fix: 'see the server log' });
        }
        if (shutdown.signal.aborted) throw new DroverError('DROVER_E_UNAVAILABLE', 'server is shutting down');
        return { status: 200, body: { status: 'ready', ...extra } };
      }
      case 'metrics': {
        // The API's own registry, then the process-wide one (the reconcile runtime's and the leader election's).
        const text = `${await metrics.registry.metrics()}\n${await register.metrics()}`;
        res.writeHead(200, { 'content-type': metrics.registry.contentType });
        res.end(text);
        return undefined;
      }
    }
    if (role === undefined) throw new DroverError('DROVER_E_INTERNAL', 'route reached without authentication');
    if (r.type === 'discovery') {
      allow(method, ['GET']);
      return {
        status: 200,
        body: {
          apiVersion: API_VERSION,
          kind: 'APIResourceList',
          metadata: { resourceVersion: await store.revision() },
          // Clients check a large document against this before sending it (src/client/remote-store.ts).
          limits: { bodyBytes: bodyLimit },
          resources: kinds.map((k) => ({ name: k.plural, singularName: k.singular, kind: k.kind, shortNames: k.shortNames, systemOwned: k.systemOwned })),
        },
      };
    }
    if (r.type === 'watchAll') {
      allow(method, ['GET']);
      await watch(req, res, url, {});
      return undefined;
    }
    const ctx: HandlerContext = { store, role, info: r.info, admission, readBody: () => readJsonBody(req, bodyLimit) };
    const q = url.searchParams;
    if (r.type === 'collection') {
      allow(method, ['GET', 'POST']);
      if (method === 'POST') return createObject(ctx);
      if (q.get('watch') === 'true' || q.get('watch') === '1') {
        await watch(req, res, url, { kind: r.info.kind });
        return undefined;
      }
      return listObjects(ctx, q);
    }
    if (r.type === 'status') {
      allow(method, ['GET', 'PUT', 'PATCH']);
      if (method === 'GET') return getObject(ctx, r.name);
      if (method === 'PUT') return replaceObject(ctx, r.name, true);
      return patchObject(ctx, req, r.name, true);
    }
    allow(method, ['GET', 'PUT', 'PATCH', 'DELETE']);
    switch (method) {
      case 'GET':
        if (q.get('watch') === 'true' || q.get('watch') === '1') {
          await watch(req, res, url, { kind: r.info.kind, name: r.name });
          return undefined;
        }
        return getObject(ctx, r.name);
      case 'PUT':
        return replaceObject(ctx, r.name, false);
      case 'PATCH':
        return patchObject(ctx, req, r.name, false);
      default:
        return deleteObject(ctx, r.name, q);
    }
  }

  async function watch(req: IncomingMessage, res: ServerResponse, url: URL, w: { kind?: string; name?: string }): Promise<void> {
    const q = url.searchParams;
    const rv = q.get('resourceVersion') ?? '';
    if (rv !== '' && !/^\d+$/.test(rv)) {
      throw new DroverError('DROVER_E_BAD_REQUEST', `resourceVersion "${rv}" is not a revision`, { field: 'resourceVersion', fix: 'use the resourceVersion of a list or object' });
    }
    const labelSelector = q.get('labelSelector') ?? undefined;
    const name = w.name ?? q.get('name') ?? undefined;
    // "From now" is pinned here and told to the client, so that a client which fails over to another
    // replica before the first event resumes from this revision, not from that replica's "now".
    const from = rv || (await store.revision());
    res.setHeader(WATCH_FROM_HEADER, from);
    await streamWatch(req, res, {
      store,
      watch: { ...(w.kind ? { kind: w.kind } : {}), ...(name ? { name } : {}), resourceVersion: from, ...(labelSelector ? { labelSelector } : {}) },
      heartbeatMs,
      shutdown: shutdown.signal,
      onStart: () => {
        metrics.watchers.inc();
        observe(req, 200, starts.get(req));
      },
      onEnd: () => metrics.watchers.dec(),
    });
  }

  const starts = new WeakMap<IncomingMessage, { t: bigint; route: string }>();
  function observe(req: IncomingMessage, code: number, s: { t: bigint; route: string } | undefined): void {
    if (!s) return;
    starts.delete(req);
    const method = req.method ?? 'GET';
    metrics.requests.inc({ method, route: s.route, code: String(code) });
    metrics.latency.observe({ method, route: s.route }, Number(process.hrtime.bigint() - s.t) / 1e9);
  }

  const inflight = new Set<Promise<void>>();
  const listener = createListener(
    (req, res) => {
      const p = handle(req, res);
      inflight.add(p);
      void p.finally(() => inflight.delete(p));
    },
    opts.tls,
    log,
  );
  const server = listener.server;
  server.keepAliveTimeout = 65_000;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let r: Route | undefined;
    const s = { t: process.hrtime.bigint(), route: 'unknown' };
    starts.set(req, s);
    let code = 500;
    try {
      const raw = req.url ?? '/';
      // Probes answer without a token; everything else is authenticated before any parsing that
      // could fail, so that an anonymous client learns nothing but 401.
      const probe = isProbePath(raw);
      if (opts.tls?.clientCaFile && !probe) requireClientCert(req);
      const role = probe ? undefined : tokens.authenticate(req);
      const url = parseRequestUrl(raw);
      r = matchRoute(url.pathname);
      s.route = routeLabel(r);
      const answer = await route(req, res, r, url, role);
      if (answer) {
        sendJson(res, answer.status, answer.body);
        code = answer.status;
      } else code = res.statusCode;
    } catch (e) {
      if (!(e instanceof DroverError)) {
        metrics.internalErrors.inc();
        log('error', `${req.method ?? '?'} ${req.url ?? '?'} failed`, e);
      }
      code = sendError(req, res, e);
    } finally {
      observe(req, code, starts.get(req));
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      const inUse = e.code === 'EADDRINUSE';
      listener.stop();
      reject(
        new DroverError('DROVER_E_UNAVAILABLE', `cannot listen on ${host}:${port}: ${inUse ? 'address already in use' : e.message}`, {
          field: 'listen',
          fix: inUse ? 'stop the other process or pick another --listen address (port 0 picks a free one)' : 'pick another --listen address',
          cause: e,
        }),
      );
    });
    server.listen(port, host, () => {
      server.removeAllListeners('error');
      server.on('error', (e) => log('error', 'API server error', e));
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const urlHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  let closing: Promise<void> | undefined;

  return {
    url: `${listener.scheme}://${urlHost}:${addr.port}`,
    port: addr.port,
    metrics,
    tlsReloads: () => listener.reloads(),
    close({ graceMs = 5000 } = {}) {
      closing ??= (async () => {
        listener.stop();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        shutdown.abort();
        server.closeIdleConnections();
        const grace = new Promise<void>((resolve) => setTimeout(resolve, graceMs).unref());
        await Promise.race([Promise.allSettled([...inflight]).then(() => undefined), grace]);
        server.closeAllConnections();
        await closed;
        await admission.stop();
      })();
      return closing;
    },
  };
}

const PROBE_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

function isProbePath(raw: string): boolean {
  const q = raw.indexOf('?');
  return PROBE_PATHS.has(q < 0 ? raw : raw.slice(0, q));
}

function parseRequestUrl(raw: string): URL {
  try {
    return new URL(raw, 'http://drover.invalid');
  } catch {
    throw new DroverError('DROVER_E_BAD_REQUEST', 'the request target is not a valid URL path', { fix: 'send a path like /api/v1/<plural>[/<name>]' });
  }
}

function allow(method: string, allowed: readonly string[]): void {
  if (!allowed.includes(method)) {
    throw new DroverError('DROVER_E_METHOD_NOT_ALLOWED', `${method} is not allowed here`, { fix: `use one of: ${allowed.join(', ')}` });
  }
}
