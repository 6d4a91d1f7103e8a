/**
 * A Store that speaks Drover's REST API: what the CLI, agents, edges and other processes use to reach the
 * control plane. Errors come back as the server's catalogued DroverErrors (`isDroverError(e, 'DROVER_E_CONFLICT')`
 * works the same as against a local store); a watch is a streamed NDJSON response.
 */
import type { Agent, Dispatcher } from 'undici';
import { API_VERSION } from '../api/api-version.js';
import { kindByKind } from '../api/kind-names.js';
import type { AnyResource } from '../api/resource.js';
import type { KindMap, KindName } from '../api/kind-map.js';
import { DroverError, errorCatalogue, type ErrorCode } from '../errors.js';
import type { ListOptions, ListResult, Store, WatchEvent, WatchOptions } from '../store/store.js';
import { undiciParts, type RequestOptions } from './undici-parts.js';

export interface RemoteStoreOptions {
  /** Base URL of the API server, e.g. `http://127.0.0.1:7400`. */
  server: string;
  token?: string;
  /** Per-request timeout for ordinary calls (not watches). Default 30 s. */
  timeoutMs?: number;
  /**
   * A watch with no data (event or heartbeat) for this long is treated as dead and fails with
   * DROVER_E_UNAVAILABLE, so the caller reconnects. Default 45 s (the server sends heartbeats every 10 s).
   */
  watchIdleTimeoutMs?: number;
}

/** One line of a watch stream, as the server writes it. */
export interface WireWatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: unknown;
}

export class RemoteStore implements Store {
  private readonly base: string;
  // Made on the first request, so that undici loads only when the store is used (undici-parts.ts).
  private pool: Agent | undefined;
  private readonly headers: Record<string, string>;
  private readonly timeoutMs: number;
  private readonly watchIdleTimeoutMs: number;
  private readonly watches = new Set<AbortController>();

  constructor(opts: RemoteStoreOptions) {
    this.base = opts.server.replace(/\/+$/, '');
    this.headers = { accept: 'application/json' };
    if (opts.token) this.headers.authorization = `Bearer ${opts.token}`;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.watchIdleTimeoutMs = opts.watchIdleTimeoutMs ?? 45_000;
  }

  get url(): string {
    return this.base;
  }

  get<K extends KindName>(kind: K, name: string): Promise<KindMap[K] | undefined>;

  get<T extends AnyResource = AnyResource>(kind: string, name: string): Promise<T | undefined>;

  async get<T extends AnyResource = AnyResource>(kind: string, name: string): Promise<T | undefined> {
    try {
      return await this.call<T>('GET', objectPath(kind, name));
    } catch (e) {
      if (e instanceof DroverError && e.code === 'DROVER_E_NOT_FOUND') return undefined;
      throw e;
    }
  }

  list<K extends KindName>(kind: K, opts?: ListOptions): Promise<ListResult<KindMap[K]>>;

  list<T extends AnyResource = AnyResource>(kind: string, opts?: ListOptions): Promise<ListResult<T>>;

  async list<T extends AnyResource = AnyResource>(kind: string, opts: ListOptions = {}): Promise<ListResult<T>> {
    const q = opts.labelSelector ? `?labelSelector=${encodeURIComponent(opts.labelSelector)}` : '';
    const path = `${collectionPath(kind)}${q}`;
    const body = await this.call<{ items?: T[]; metadata?: { resourceVersion?: string } }>('GET', path);
    if (!Array.isArray(body.items) || typeof body.metadata?.resourceVersion !== 'string') throw notDrover(this.base, path, 200, 'JSON that is not a Drover list');
    return { items: body.items, resourceVersion: body.metadata.resourceVersion };
  }

  /** Events about one object, oldest first (`GET /api/v1/events?involvedObject=Kind/name`). */
  async eventsFor(kind: string, name: string): Promise<AnyResource[]> {
    const body = await this.call<{ items: AnyResource[] }>('GET', `/api/v1/events?involvedObject=${encodeURIComponent(`${kind}/${name}`)}`);
    return body.items;
  }

  async create<T extends AnyResource>(obj: T): Promise<T> {
    return this.call<T>('POST', collectionPath(obj.kind), obj);
  }

  async update<T extends AnyResource>(obj: T): Promise<T> {
    return this.call<T>('PUT', objectPath(obj.kind, obj.metadata.name), obj);
  }

  async updateStatus<T extends AnyResource>(obj: T): Promise<T> {
    return this.call<T>('PUT', `${objectPath(obj.kind, obj.metadata.name)}/status`, obj);
  }

  /** JSON merge patch (RFC 7386) of an object's metadata and spec, or of its status. */
  async patch<T extends AnyResource = AnyResource>(kind: string, name: string, patch: unknown, opts: { status?: boolean } = {}): Promise<T> {
    const path = `${objectPath(kind, name)}${opts.status ? '/status' : ''}`;
    return this.call<T>('PATCH', path, patch, 'application/merge-patch+json');
  }

  async delete<T extends AnyResource = AnyResource>(kind: string, name: string, opts: { resourceVersion?: string } = {}): Promise<T> {
    const q = opts.resourceVersion ? `?resourceVersion=${encodeURIComponent(opts.resourceVersion)}` : '';
    return this.call<T>('DELETE', `${objectPath(kind, name)}${q}`);
  }

  async revision(): Promise<string> {
    const body = await this.call<{ metadata: { resourceVersion: string } }>('GET', '/api/v1');
    return body.metadata.resourceVersion;
  }

  watch(opts: WatchOptions): AsyncIterable<WatchEvent> {
    return this.streamWatch(opts);
  }

  private async *streamWatch(opts: WatchOptions): AsyncGenerator<WatchEvent> {
    const params = new URLSearchParams({ watch: 'true' });
    if (opts.resourceVersion) params.set('resourceVersion', opts.resourceVersion);
    if (opts.labelSelector) params.set('labelSelector', opts.labelSelector);
    let path: string;
    if (opts.kind === undefined) path = '/api/v1/watch';
    else if (opts.name !== undefined) path = objectPath(opts.kind, opts.name);
    else path = collectionPath(opts.kind);
    if (opts.kind === undefined && opts.name !== undefined) params.set('name', opts.name);

    const ac = new AbortController();
    const onAbort = () => ac.abort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    this.watches.add(ac);
    let idle: NodeJS.Timeout | undefined;
    let idleExpired = false;
    const armIdle = () => {
      if (idle) clearTimeout(idle);
      idle = setTimeout(() => {
        idleExpired = true;
        ac.abort();
      }, this.watchIdleTimeoutMs);
      idle.unref();
    };
    try {
      if (opts.signal?.aborted) return;
      armIdle();
      let res: Dispatcher.ResponseData;
      try {
        res = await this.request(`${this.base}${path}?${params.toString()}`, {
          method: 'GET',
          headers: this.headers,
          signal: ac.signal,
          headersTimeout: this.timeoutMs,
          bodyTimeout: 0,
        });
      } catch (e) {
        if (ac.signal.aborted && !idleExpired) return;
        throw unavailable(this.base, e);
      }
      if (!isJson(res) && !isNdjson(res)) {
        await res.body.dump().catch(() => undefined);
        throw notDrover(this.base, path, res.statusCode, mediaType(res));
      }
      if (res.statusCode >= 400) throw await errorFromResponse(res);
      let buf = '';
      try {
        for await (const chunk of res.body) {
          armIdle();
          buf += (chunk as Buffer).toString('utf8');
          let nl: number;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl).trim();
            buf = buf.slice(nl + 1);
            if (line === '') continue;
            const ev = JSON.parse(line) as WireWatchEvent;
            if (ev.type === 'BOOKMARK') continue;
            if (ev.type === 'ERROR') throw errorFromBody(ev.object, 500);
            yield { type: ev.type, object: ev.object as AnyResource };
          }
        }
      } catch (e) {
        if (e instanceof DroverError) throw e;
        if (ac.signal.aborted && !idleExpired) return;
        throw unavailable(this.base, e);
      }
      if (opts.signal?.aborted) return;
      // The server ended the stream (shutdown): the caller reconnects.
      throw new DroverError('DROVER_E_UNAVAILABLE', `watch stream from ${this.base} ended`, { fix: 'watch again from the last resourceVersion' });
    } finally {
      if (idle) clearTimeout(idle);
      opts.signal?.removeEventListener('abort', onAbort);
      this.watches.delete(ac);
      ac.abort();
    }
  }

  async close(): Promise<void> {
    for (const ac of this.watches) ac.abort();
    const pool = this.pool;
    if (pool) await pool.close().catch(() => pool.destroy());
  }

  private request(url: string, opts: RequestOptions): Promise<Dispatcher.ResponseData> {
    const undici = undiciParts();
    this.pool ??= new undici.Agent({ keepAliveTimeout: 30_000, connections: 128, pipelining: 1 });
    return undici.request(this.pool, url, opts);
  }

  private async call<T>(method: Dispatcher.HttpMethod, path: string, body?: unknown, contentType = 'application/json'): Promise<T> {
    let res: Dispatcher.ResponseData;
    const payload = body === undefined ? undefined : JSON.stringify(body);
    try {
      res = await this.request(`${this.base}${path}`, {
        method,
        headers: payload === undefined ? this.headers : { ...this.headers, 'content-type': contentType },
        body: payload,
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
      });
    } catch (e) {
      // A server that refuses a large body answers before reading it; if the connection broke under our
      // write, that answer was most likely the 413 (the socket error won the race to us). Ask the
      // server's advertised limit rather than blaming the network.
      if (payload !== undefined && SEND_BROKEN.has(errorCode(e))) {
        const size = Buffer.byteLength(payload);
        const limit = await this.bodyLimit().catch(() => undefined);
        if (limit !== undefined && size > limit) throw documentTooLarge(size, limit);
      }
      throw unavailable(this.base, e);
    }
    // A 413 from something other than a Drover server (a proxy) carries no catalogued body.
    if (res.statusCode === 413 && !isJson(res) && payload !== undefined) {
      await res.body.dump().catch(() => undefined);
      throw documentTooLarge(Buffer.byteLength(payload), undefined);
    }
    if (!isJson(res)) {
      await res.body.dump().catch(() => undefined);
      throw notDrover(this.base, path, res.statusCode, mediaType(res));
    }
    if (res.statusCode >= 400) throw await errorFromResponse(res);
    const parsed: unknown = await res.body.json().catch(() => undefined);
    if (parsed === null || typeof parsed !== 'object') throw notDrover(this.base, path, res.statusCode, 'a body that is not a JSON object');
    return parsed as T;
  }

  /** The server's request body limit, from discovery (servers before it was advertised: undefined). */
  private async bodyLimit(): Promise<number | undefined> {
    const body = await this.call<{ limits?: { bodyBytes?: unknown } }>('GET', '/api/v1');
    const n = body.limits?.bodyBytes;
    return typeof n === 'number' ? n : undefined;
  }
}

export function collectionPath(kind: string): string {
  return `/api/v1/${kindByKind(kind).plural}`;
}

export function objectPath(kind: string, name: string): string {
  return `${collectionPath(kind)}/${encodeURIComponent(name)}`;
}

/** Socket errors that mean the server closed the connection while the request was being sent. */
const SEND_BROKEN = new Set(['EPIPE', 'ECONNRESET', 'UND_ERR_SOCKET']);

function errorCode(e: unknown): string {
  return e instanceof Error ? ((e as { code?: string }).code ?? '') : '';
}

function documentTooLarge(size: number, limit: number | undefined): DroverError {
  return new DroverError('DROVER_E_TOO_LARGE', `document too large: it is ${size} bytes${limit === undefined ? ', more than the server accepts' : `, larger than the API server's limit of ${limit} bytes`}`, {
    fix: 'split it into smaller documents (large data belongs in the app, not in a spec), or start the server with a larger --body-limit',
  });
}

function unavailable(base: string, cause: unknown): DroverError {
  const detail = cause instanceof Error ? ((cause as { code?: string }).code ?? cause.message) : String(cause);
  return new DroverError('DROVER_E_UNAVAILABLE', `cannot reach the Drover API server at ${base} (${detail})`, {
    fix: 'start it with `drover server` (or `drover up`), or point --server / DROVER_SERVER at a running one',
    cause,
  });
}

function mediaType(res: Dispatcher.ResponseData): string {
  const v = res.headers['content-type'];
  return (Array.isArray(v) ? v[0] : v)?.split(';')[0]?.trim() || 'no content type';
}

function isJson(res: Dispatcher.ResponseData): boolean {
  return /json/i.test(mediaType(res));
}

function isNdjson(res: Dispatcher.ResponseData): boolean {
  return /ndjson|json-seq|stream/i.test(mediaType(res));
}

/**
 * Something answered HTTP at --server but it is not Drover's API (a web page, another service, a proxy's
 * error page): say so, instead of a parse error or a misleading "not found".
 */
function notDrover(base: string, path: string, status: number, what: string): DroverError {
  return new DroverError('DROVER_E_NOT_DROVER', `${base} is not a Drover API server (got HTTP ${status} ${what} from ${base}${path})`, {
    field: '--server',
    fix: 'point --server (or DROVER_SERVER, or the CLI config) at the URL `drover server` or `drover up` printed, e.g. http://127.0.0.1:7400',
  });
}

async function errorFromResponse(res: Dispatcher.ResponseData): Promise<DroverError> {
  const text = await res.body.text().catch(() => '');
  let parsed: unknown = undefined;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: a proxy or something else answered
  }
  return errorFromBody(parsed ?? { message: text || `HTTP ${res.statusCode}` }, res.statusCode);
}

/** Maps an error body `{code, message, field?, fix?}` back to the DroverError the server raised. */
export function errorFromBody(body: unknown, status: number): DroverError {
  const b = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
  const code = typeof b.code === 'string' && b.code in errorCatalogue ? (b.code as ErrorCode) : codeForStatus(status);
  const message = typeof b.message === 'string' ? b.message : `HTTP ${status}`;
  return new DroverError(code, message, {
    ...(typeof b.field === 'string' ? { field: b.field } : {}),
    ...(typeof b.fix === 'string' ? { fix: b.fix } : {}),
  });
}

function codeForStatus(status: number): ErrorCode {
  for (const [code, info] of Object.entries(errorCatalogue)) if (info.status === status) return code as ErrorCode;
  return status >= 500 ? 'DROVER_E_INTERNAL' : 'DROVER_E_BAD_REQUEST';
}

export const LIST_KIND = { apiVersion: API_VERSION, kind: 'List' } as const;
