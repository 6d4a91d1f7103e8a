/**
 * The one way the driver talks to a Kubernetes API server: JSON over HTTP(S), authenticated by
 * client-node's KubeConfig (`applyToHTTPSOptions` adds the CA, client certificate, bearer token or
 * exec/auth-provider credentials).
 *
 * Why not client-node's typed APIs or KubernetesObjectApi: they re-serialize request bodies through their
 * model classes, which rename fields (a NetworkPolicy rule's `from` is `_from` there) and silently drop
 * the ones they do not know, so a plain Kubernetes object would be applied without its `from` peers, i.e.
 * as deny-all. Sending the rendered JSON as is keeps "what we render is what we apply".
 *
 * Errors come out as `KubeApiError`: the HTTP status, the Status reason and message from the body, and a
 * Retry-After when the server sent one, all with credentials scrubbed. The raw response is not kept.
 */
import http from 'node:http';
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { DroverError, type ErrorCode } from '../../errors.js';
import { credentialStrings, scrub } from './credentials.js';

export class KubeApiError extends DroverError {
  /** HTTP status, or 0 when no answer came (connection refused, timeout, TLS failure). */
  readonly httpStatus: number;
  /** Status.reason from the body ("NotFound", "AlreadyExists", "Expired"…) when there is one. */
  readonly reason: string | undefined;
  readonly retryAfterMs: number | undefined;
  /**
   * A 403 that is not about permissions: the namespace is still being deleted ("unable to create new
   * content in namespace X because it is being terminated"). It passes once the deletion finishes, so it
   * is retried and reported as unavailable, not as forbidden (which reads like RBAC).
   */
  readonly namespaceTerminating: boolean;

  constructor(httpStatus: number, message: string, reason?: string, retryAfterMs?: number, namespaceTerminating = false) {
    super(errorCode(httpStatus, namespaceTerminating), message, { fix: fixFor(httpStatus, namespaceTerminating) });
    this.name = 'KubeApiError';
    this.httpStatus = httpStatus;
    this.reason = reason;
    this.retryAfterMs = retryAfterMs;
    this.namespaceTerminating = namespaceTerminating;
  }
}

function fixFor(httpStatus: number, namespaceTerminating: boolean): string | undefined {
  if (namespaceTerminating) return 'nothing to do: the previous namespace of this Prod is still being deleted, and the agent retries';
  if (httpStatus === 0) return 'check that the cluster is reachable with `kubectl --context <context> get nodes`';
  if (httpStatus === 401) return "the cluster rejected the kubeconfig's credentials: renew the token or certificate of the context's user (`kubectl --context <context> auth whoami`)";
  if (httpStatus === 403) return "grant the context's user the permission named in the message (docs/kubernetes.md, \"Permissions the driver needs\")";
  return undefined;
}

function errorCode(httpStatus: number, namespaceTerminating: boolean): ErrorCode {
  if (namespaceTerminating) return 'DROVER_E_UNAVAILABLE';
  if (httpStatus === 404) return 'DROVER_E_NOT_FOUND';
  if (httpStatus === 409) return 'DROVER_E_CONFLICT';
  if (httpStatus === 410) return 'DROVER_E_GONE';
  if (httpStatus === 401) return 'DROVER_E_UNAUTHORIZED';
  if (httpStatus === 403) return 'DROVER_E_FORBIDDEN';
  if (httpStatus === 400 || httpStatus === 422) return 'DROVER_E_INVALID';
  if (httpStatus === 0 || httpStatus === 429 || httpStatus >= 500) return 'DROVER_E_UNAVAILABLE';
  return 'DROVER_E_INTERNAL';
}

export function isKubeStatus(e: unknown, ...statuses: number[]): e is KubeApiError {
  return e instanceof KubeApiError && statuses.includes(e.httpStatus);
}

export interface KubeRequest {
  method: 'GET' | 'PATCH' | 'DELETE' | 'POST';
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  timeoutMs?: number;
}

/** Retry-After is either seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || v.trim() === '') return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function execCommand(exec: unknown): string {
  const command = typeof exec === 'object' && exec !== null ? (exec as Record<string, unknown>).command : undefined;
  return typeof command === 'string' ? command : '';
}

function credentialIdentity(kc: KubeConfig): string {
  const user = kc.getCurrentUser();
  const kind = !user
    ? 'no credentials'
    : user.token || user.authProvider
      ? 'bearer token'
      : user.exec
        ? `exec plugin ${execCommand(user.exec)}`.trim()
        : user.certData || user.certFile
          ? 'client certificate'
          : user.username
            ? 'basic auth'
            : 'no credentials';
  return `user "${user?.name ?? '?'}" (${kind}) of context "${kc.getCurrentContext()}"`;
}

function statusFields(body: unknown): { reason?: string; message?: string; namespaceTerminating: boolean } {
  if (typeof body !== 'object' || body === null) return { namespaceTerminating: false };
  const b = body as Record<string, unknown>;
  const message = typeof b.message === 'string' ? b.message : undefined;
  // Status.details.causes[].reason is "NamespaceTerminating" on current servers; older ones only say it.
  const details = typeof b.details === 'object' && b.details !== null ? (b.details as Record<string, unknown>) : {};
  const causes = Array.isArray(details.causes) ? (details.causes as unknown[]) : [];
  const causeSaysSo = causes.some((c) => typeof c === 'object' && c !== null && (c as Record<string, unknown>).reason === 'NamespaceTerminating');
  return {
    ...(typeof b.reason === 'string' ? { reason: b.reason } : {}),
    ...(message !== undefined ? { message } : {}),
    namespaceTerminating: b.code === 403 && (causeSaysSo || /because it is being terminated/.test(message ?? '')),
  };
}

/** Requests sent, by kind: what `bench/kubernetes.ts` reports per reconcile (the target is 0 writes when nothing changed). */
export interface KubeRequestCounts {
  reads: number;
  writes: number;
}

export class KubeHttp {
  readonly server: string;
  readonly counts: KubeRequestCounts = { reads: 0, writes: 0 };
  private readonly secrets: string[];

  constructor(
    private readonly kc: KubeConfig,
    private readonly defaultTimeoutMs = 30_000,
  ) {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new DroverError('DROVER_E_INVALID', 'the kubeconfig context has no cluster', { field: 'spec.kubernetes.context' });
    this.server = cluster.server.replace(/\/+$/, '');
    this.secrets = credentialStrings(kc);
    this.identity = credentialIdentity(kc);
  }

  /** Which credential this client presents, for errors (never the secret itself). */
  readonly identity: string;

  scrub(message: string): string {
    return scrub(message, this.secrets);
  }

  private url(path: string, query: KubeRequest['query']): URL {
    const url = new URL(this.server + path);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    return url;
  }

  private async options(method: string, headers: Record<string, string>): Promise<https.RequestOptions> {
    const opts: https.RequestOptions = { method, headers: { Accept: 'application/json', ...headers } };
    await this.kc.applyToHTTPSOptions(opts);
    return opts;
  }

  private describe(method: string, path: string): string {
    return `${method} ${path}`;
  }

  private failure(method: string, path: string, e: unknown): KubeApiError {
    if (e instanceof KubeApiError) return e;
    const text = e instanceof Error ? e.message : String(e);
    return new KubeApiError(0, this.scrub(`kubernetes API ${this.describe(method, path)} at ${this.server}: ${text}`));
  }

  /** One request, JSON in and out. Throws KubeApiError for non-2xx answers and transport failures. */
  async request(req: KubeRequest): Promise<unknown> {
    if (req.method === 'GET') this.counts.reads++;
    else this.counts.writes++;
    const url = this.url(req.path, req.query);
    const payload = req.body === undefined ? undefined : JSON.stringify(req.body);
    const headers: Record<string, string> = payload === undefined ? {} : { 'Content-Type': req.contentType ?? 'application/json' };
    try {
      const opts = await this.options(req.method, headers);
      const { status, headers: resHeaders, text } = await new Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }>((resolve, reject) => {
        const send = url.protocol === 'https:' ? https.request : http.request;
        const r = send(url, opts, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        });
        r.setTimeout(req.timeoutMs ?? this.defaultTimeoutMs, () => r.destroy(new Error(`no answer within ${req.timeoutMs ?? this.defaultTimeoutMs} ms`)));
        r.on('error', reject);
        r.end(payload);
      });
      let body: unknown = undefined;
      try {
        body = text.length > 0 ? JSON.parse(text) : undefined;
      } catch {
        body = undefined;
      }
      if (status >= 200 && status < 300) return body;
      const { reason, message, namespaceTerminating } = statusFields(body);
      const detail = message ?? (text.slice(0, 200) || http.STATUS_CODES[status] || '');
      throw new KubeApiError(
        status,
        this.scrub(`kubernetes API ${this.describe(req.method, req.path)}: HTTP ${status}${reason ? ` ${reason}` : ''}: ${detail}`),
        reason,
        parseRetryAfter(resHeaders['retry-after']),
        namespaceTerminating,
      );
    } catch (e) {
      throw this.failure(req.method, req.path, e);
    }
  }

  /**
   * A streaming GET (watch): calls `onLine` with each JSON line until the server ends the stream (resolves)
   * or the signal aborts (resolves). A non-200 answer rejects with KubeApiError.
   */
  async stream(path: string, query: KubeRequest['query'], onLine: (value: unknown) => void, signal: AbortSignal): Promise<void> {
    this.counts.reads++;
    const url = this.url(path, query);
    try {
      const opts = await this.options('GET', {});
      await new Promise<void>((resolve, reject) => {
        const send = url.protocol === 'https:' ? https.request : http.request;
        const r = send(url, { ...opts, signal }, (res) => {
          if (res.statusCode !== 200) {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => {
              const text = Buffer.concat(chunks).toString('utf8');
              let parsed: unknown;
              try {
                parsed = JSON.parse(text);
              } catch {
                parsed = undefined;
              }
              const { reason, message } = statusFields(parsed);
              const status = res.statusCode ?? 0;
              reject(new KubeApiError(status, this.scrub(`kubernetes API watch ${path}: HTTP ${status}: ${message ?? ''}`), reason, parseRetryAfter(res.headers['retry-after'])));
            });
            return;
          }
          let buffered = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            buffered += chunk;
            let nl: number;
            while ((nl = buffered.indexOf('\n')) >= 0) {
              const line = buffered.slice(0, nl).trim();
              buffered = buffered.slice(nl + 1);
              if (line.length === 0) continue;
              try {
                onLine(JSON.parse(line));
              } catch (e) {
                r.destroy(e instanceof Error ? e : new Error(String(e)));
                return;
              }
            }
          });
          res.on('end', () => resolve());
          res.on('error', (e) => (signal.aborted ? resolve() : reject(e)));
        });
        r.on('error', (e) => (signal.aborted ? resolve() : reject(e)));
        r.end();
      });
    } catch (e) {
      throw this.failure('GET', path, e);
    }
  }
}
