/**
 * A Store that speaks Drover's REST API: what the CLI, agents, edges and other processes use to reach the
 * control plane. Errors come back as the server's catalogued DroverErrors (`isDroverError(e, 'DROVER_E_CONFLICT')`
 * works the same as against a local store); a watch is a streamed NDJSON response.
 *
 * Several server URLs make one client of a replicated control plane (failover.ts): a request that finds
 * its replica away goes to the next one, and a watch resumes on the next one from the last revision it
 * delivered, so that its reader sees every change once. Which failed writes are retried (retry policy):
 * GET, PUT (an update carrying metadata.resourceVersion cannot apply twice: the retry answers CONFLICT and
 * the caller's conflict loop re-reads), PATCH (a merge patch gives the same object applied twice) and
 * DELETE (a retry that finds the object gone says so) always; a create only when it names its object: a
 * retry answered "already exists" reads the object and returns it when it holds what was sent (the first
 * attempt made it), else fails with the ALREADY_EXISTS.
 */
import type { Agent, Dispatcher } from 'undici';
import { API_VERSION } from '../api/api-version.js';
import { kindByKind } from '../api/kind-names.js';
import type { AnyResource } from '../api/resource.js';
import type { KindMap, KindName } from '../api/kind-map.js';
import { DroverError, isDroverError } from '../errors.js';
import { sleep } from '../runtime/sleep.js';
import type { ListOptions, ListResult, Store, WatchEvent, WatchOptions } from '../store/store.js';
import { readClientTls, type ClientTls } from './client-tls.js';
import { errorCode, failureKind, Replicas, tlsError, type ReplicaSetOptions } from './failover.js';
import { documentTooLarge, errorFromBody, errorFromResponse, isJson, isNdjson, mediaType, notDrover, unavailable } from './remote-errors.js';
import { undiciParts, type RequestOptions } from './undici-parts.js';
import { contains, newerRevision, WATCH_FROM_HEADER } from './watch-resume.js';

export { errorFromBody } from './remote-errors.js';

export interface RemoteStoreOptions {
  /** Base URL(s) of the API server replicas, e.g. `http://127.0.0.1:7400`, a list, or `a,b,c`. */
  server: string | readonly string[];
  token?: string;
  /** CA and client certificate files for https:// servers. */
  tls?: ClientTls;
  /**
   * Per-request timeout for ordinary calls (not watches). Default 30 s with one server; 10 s with several,
   * where a replica that holds a request that long (paused, overloaded) is passed over for the next.
   */
  timeoutMs?: number;
  /**
   * A watch with no data (event or heartbeat) for this long is treated as dead: it resumes on the next
   * replica, or fails with DROVER_E_UNAVAILABLE when none answers, so the caller reconnects. Default 45 s
   * (the server sends heartbeats every 10 s).
   */
  watchIdleTimeoutMs?: number;
  /** Rounds over the replicas and the backoff between rounds (failover.ts). */
  failover?: ReplicaSetOptions;
}

/** One line of a watch stream, as the server writes it. */
export interface WireWatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: unknown;
}

/** Filled in by `call`: whether an earlier attempt of the request may have reached a server. */
interface Attempts {
  maybeSent: boolean;
  base?: string;
}

export class RemoteStore implements Store {
  private readonly replicas: Replicas;
  // Made on the first request, so that undici loads only when the store is used (undici-parts.ts).
  private pool: Agent | undefined;
  private readonly headers: Record<string, string>;
  private readonly timeoutMs: number;
  private readonly watchIdleTimeoutMs: number;
  private readonly watches = new Set<AbortController>();

  constructor(private readonly opts: RemoteStoreOptions) {
    this.replicas = new Replicas(opts.server, opts.failover);
    this.headers = { accept: 'application/json' };
    if (opts.token) this.headers.authorization = `Bearer ${opts.token}`;
    this.timeoutMs = opts.timeoutMs ?? (this.replicas.urls.length > 1 ? 10_000 : 30_000);
    this.watchIdleTimeoutMs = opts.watchIdleTimeoutMs ?? 45_000;
  }

  /** The replica requests go to now. */
  get url(): string {
    return this.replicas.current;
  }

  get urls(): readonly string[] {
    return this.replicas.urls;
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
    if (!Array.isArray(body.items) || typeof body.metadata?.resourceVersion !== 'string') throw notDrover(this.url, path, 200, 'JSON that is not a Drover list');
    return { items: body.items, resourceVersion: body.metadata.resourceVersion };
  }

  /** Events about one object, oldest first (`GET /api/v1/events?involvedObject=Kind/name`). */
  async eventsFor(kind: string, name: string): Promise<AnyResource[]> {
    const body = await this.call<{ items: AnyResource[] }>('GET', `/api/v1/events?involvedObject=${encodeURIComponent(`${kind}/${name}`)}`);
    return body.items;
  }

  async create<T extends AnyResource>(obj: T): Promise<T> {
    const attempts: Attempts = { maybeSent: false };
    try {
      return await this.call<T>('POST', collectionPath(obj.kind), obj, 'application/json', attempts);
    } catch (e) {
      if (!attempts.maybeSent || !isDroverError(e, 'DROVER_E_ALREADY_EXISTS')) throw e;
      // An earlier attempt may have made it: ours if it holds everything we sent.
      const stored = await this.get<T>(obj.kind, obj.metadata.name);
      if (stored && contains(stored, { metadata: { labels: obj.metadata.labels, annotations: obj.metadata.annotations }, spec: (obj as { spec?: unknown }).spec })) return stored;
      throw e;
    }
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
    const attempts: Attempts = { maybeSent: false };
    try {
      return await this.call<T>('DELETE', `${objectPath(kind, name)}${q}`, undefined, 'application/json', attempts);
    } catch (e) {
      if (!attempts.maybeSent || !isDroverError(e, 'DROVER_E_NOT_FOUND')) throw e;
      throw new DroverError('DROVER_E_NOT_FOUND', `${e.message} (the attempt on ${attempts.base ?? 'another replica'} that broke off has probably deleted it)`, { fix: 'nothing to do if you meant to delete it' });
    }
  }

  async revision(): Promise<string> {
    const body = await this.call<{ metadata: { resourceVersion: string } }>('GET', '/api/v1');
    return body.metadata.resourceVersion;
  }

  watch(opts: WatchOptions): AsyncIterable<WatchEvent> {
    return this.streamWatch(opts);
  }

  /**
   * The watch, resumed on the next replica when its stream breaks, idles out or ends: from the revision
   * of the last event or BOOKMARK it delivered (a watch "from now" learns its starting revision from the
   * response header), and events not newer than that are dropped, so the reader sees each change once.
   */
  private async *streamWatch(opts: WatchOptions): AsyncGenerator<WatchEvent> {
    let path: string;
    if (opts.kind === undefined) path = '/api/v1/watch';
    else if (opts.name !== undefined) path = objectPath(opts.kind, opts.name);
    else path = collectionPath(opts.kind);
    const ac = new AbortController();
    const onAbort = () => ac.abort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    this.watches.add(ac);
    const at = { rv: opts.resourceVersion, progressed: false };
    let failures = 0;
    try {
      while (!ac.signal.aborted) {
        const base = this.replicas.current;
        const params = new URLSearchParams({ watch: 'true' });
        if (at.rv) params.set('resourceVersion', at.rv);
        if (opts.labelSelector) params.set('labelSelector', opts.labelSelector);
        if (opts.kind === undefined && opts.name !== undefined) params.set('name', opts.name);
        at.progressed = false;
        let failure: unknown;
        try {
          yield* this.watchOnce(base, `${path}?${params.toString()}`, ac.signal, at);
        } catch (e) {
          if (failureKind(e) === undefined) throw tlsError(base, e) ?? e;
          failure = e;
        }
        if (ac.signal.aborted) return;
        if (at.progressed) failures = 0;
        failures++;
        if (failures >= this.replicas.attempts) {
          throw failure instanceof DroverError && this.replicas.urls.length === 1 ? failure : unavailable(this.replicas.urls, failure ?? 'watch stream ended');
        }
        await sleep(this.replicas.failed(base, failures), ac.signal);
      }
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
      this.watches.delete(ac);
      ac.abort();
    }
  }

  /** One watch request to one replica. Returns when aborted; throws what went wrong otherwise. */
  private async *watchOnce(base: string, pathAndQuery: string, outer: AbortSignal, at: { rv: string | undefined; progressed: boolean }): AsyncGenerator<WatchEvent> {
    const ac = new AbortController();
    const onAbort = () => ac.abort();
    outer.addEventListener('abort', onAbort, { once: true });
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
      armIdle();
      let res: Dispatcher.ResponseData;
      try {
        res = await this.request(`${base}${pathAndQuery}`, { method: 'GET', headers: this.headers, signal: ac.signal, headersTimeout: this.timeoutMs, bodyTimeout: 0 });
      } catch (e) {
        if (outer.aborted) return;
        throw idleExpired ? new DroverError('DROVER_E_UNAVAILABLE', `watch on ${base} got no answer`) : e;
      }
      if (!isJson(res) && !isNdjson(res)) {
        await res.body.dump().catch(() => undefined);
        throw notDrover(base, pathAndQuery, res.statusCode, mediaType(res));
      }
      if (res.statusCode >= 400) throw await errorFromResponse(res);
      const from = res.headers[WATCH_FROM_HEADER];
      if (at.rv === undefined && typeof from === 'string' && from !== '') at.rv = from;
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
            if (ev.type === 'ERROR') throw errorFromBody(ev.object, 500);
            at.progressed = true;
            const rv = (ev.object as { metadata?: { resourceVersion?: unknown } } | null)?.metadata?.resourceVersion;
            const newer = typeof rv === 'string' && newerRevision(rv, at.rv);
            if (newer) at.rv = rv;
            // An event at or before where this watch already is came twice (a replica resumed it).
            if (ev.type === 'BOOKMARK' || (typeof rv === 'string' && !newer)) continue;
            yield { type: ev.type, object: ev.object as AnyResource };
          }
        }
      } catch (e) {
        if (e instanceof DroverError) throw e;
        if (outer.aborted) return;
        throw idleExpired ? new DroverError('DROVER_E_UNAVAILABLE', `watch on ${base} went quiet for ${this.watchIdleTimeoutMs} ms`) : e;
      }
      if (outer.aborted) return;
      // The server ended the stream (shutdown): resume elsewhere.
      throw new DroverError('DROVER_E_UNAVAILABLE', `watch stream from ${base} ended`, { fix: 'watch again from the last resourceVersion' });
    } finally {
      if (idle) clearTimeout(idle);
      outer.removeEventListener('abort', onAbort);
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
    this.pool ??= new undici.Agent({ keepAliveTimeout: 30_000, connections: 128, pipelining: 1, connect: readClientTls(this.opts.tls) });
    return undici.request(this.pool, url, opts);
  }

  /** One request, sent to the replicas in turn until one answers (the retry policy is in the file's header). */
  private async call<T>(method: Dispatcher.HttpMethod, path: string, body?: unknown, contentType = 'application/json', attempts: Attempts = { maybeSent: false }): Promise<T> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    for (let attempt = 1; ; attempt++) {
      const base = this.replicas.current;
      try {
        return await this.callOnce<T>(base, method, path, payload, contentType);
      } catch (e) {
        const kind = failureKind(e);
        if (kind === undefined) throw tlsError(base, e) ?? e;
        if (kind === 'maybe-sent' && method === 'POST' && !namesItsObject(body)) {
          throw new DroverError('DROVER_E_UNAVAILABLE', `the connection to ${base} broke during a create without a name; it may have been made`, { fix: 'list to see whether it was, then create again if not', cause: e });
        }
        if (kind === 'maybe-sent') Object.assign(attempts, { maybeSent: true, base });
        if (attempt >= this.replicas.attempts) throw e instanceof DroverError && this.replicas.urls.length === 1 ? e : unavailable(this.replicas.urls, e);
        await sleep(this.replicas.failed(base, attempt));
      }
    }
  }

  /** One attempt on one replica: the parsed answer, a DroverError for an error answer, or the socket's error. */
  private async callOnce<T>(base: string, method: Dispatcher.HttpMethod, path: string, payload: string | undefined, contentType: string): Promise<T> {
    let res: Dispatcher.ResponseData;
    try {
      res = await this.request(`${base}${path}`, {
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
        const limit = await this.bodyLimit(base).catch(() => undefined);
        if (limit !== undefined && size > limit) throw documentTooLarge(size, limit);
      }
      throw e;
    }
    // A 413 from something other than a Drover server (a proxy) carries no catalogued body.
    if (res.statusCode === 413 && !isJson(res) && payload !== undefined) {
      await res.body.dump().catch(() => undefined);
      throw documentTooLarge(Buffer.byteLength(payload), undefined);
    }
    if (!isJson(res)) {
      await res.body.dump().catch(() => undefined);
      throw notDrover(base, path, res.statusCode, mediaType(res));
    }
    if (res.statusCode >= 400) throw await errorFromResponse(res);
    const parsed: unknown = await res.body.json().catch(() => undefined);
    if (parsed === null || typeof parsed !== 'object') throw notDrover(base, path, res.statusCode, 'a body that is not a JSON object');
    return parsed as T;
  }

  /** The server's request body limit, from discovery (servers before it was advertised: undefined). */
  private async bodyLimit(base: string): Promise<number | undefined> {
    const body = await this.callOnce<{ limits?: { bodyBytes?: unknown } }>(base, 'GET', '/api/v1', undefined, 'application/json');
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

function namesItsObject(body: unknown): boolean {
  const name = (body as { metadata?: { name?: unknown } } | undefined)?.metadata?.name;
  return typeof name === 'string' && name !== '';
}

export const LIST_KIND = { apiVersion: API_VERSION, kind: 'List' } as const;
