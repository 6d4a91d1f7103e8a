/**
 * A watch as an NDJSON response: one `{"type":"ADDED|MODIFIED|DELETED","object":{…}}` per line, and a
 * `{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":…}}}` line every `heartbeatMs` so that clients
 * and proxies can tell a quiet stream from a dead one. A compacted resourceVersion is answered with 410 before
 * the stream starts; an error after it started is sent as an `ERROR` line carrying the error body.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { API_VERSION } from '../api/meta.js';
import { DroverError } from '../errors.js';
import type { Store, WatchEvent, WatchOptions } from '../store/store.js';

export interface WatchStreamOptions {
  store: Store;
  watch: Omit<WatchOptions, 'signal'>;
  heartbeatMs: number;
  /** Aborted by the server on shutdown. */
  shutdown: AbortSignal;
  onStart(): void;
  onEnd(): void;
}

type First = { ok: IteratorResult<WatchEvent> } | { err: unknown } | undefined;

export async function streamWatch(req: IncomingMessage, res: ServerResponse, o: WatchStreamOptions): Promise<void> {
  const ac = new AbortController();
  const abort = () => ac.abort();
  o.shutdown.addEventListener('abort', abort, { once: true });
  req.on('close', abort);
  res.on('close', abort);
  // "From now" is pinned to an explicit revision first, so that BOOKMARKs never claim a revision whose
  // changes this stream has not delivered yet.
  const from = o.watch.resourceVersion ?? (await o.store.revision());
  const it = o.store.watch({ ...o.watch, resourceVersion: from, signal: ac.signal })[Symbol.asyncIterator]();
  let pending: Promise<IteratorResult<WatchEvent>> | undefined = it.next();
  // A compacted revision fails at once: answer it with a proper 410 instead of an ERROR line.
  const first: First = await Promise.race([
    pending.then(
      (ok) => ({ ok }),
      (err: unknown) => ({ err }),
    ),
    new Promise<undefined>((r) => setTimeout(() => r(undefined), 5)),
  ]);
  if (first && 'err' in first) {
    o.shutdown.removeEventListener('abort', abort);
    throw first.err;
  }

  res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' });
  res.flushHeaders();
  o.onStart();
  let lastRv = from;
  const kind = o.watch.kind ?? 'List';
  const heartbeat = setInterval(() => {
    write(res, { type: 'BOOKMARK', object: { apiVersion: API_VERSION, kind, metadata: { resourceVersion: lastRv } } });
  }, o.heartbeatMs);
  try {
    while (!ac.signal.aborted) {
      const r: IteratorResult<WatchEvent> = await pending;
      if (r.done) break;
      lastRv = r.value.object.metadata.resourceVersion ?? lastRv;
      if (!write(res, r.value)) await drained(res, ac.signal);
      pending = it.next();
    }
  } catch (e) {
    if (!ac.signal.aborted) {
      const err = e instanceof DroverError ? e : new DroverError('DROVER_E_INTERNAL', 'watch failed', { fix: 'watch again from the last resourceVersion' });
      write(res, { type: 'ERROR', object: err.toBody() });
      if (!(e instanceof DroverError)) throw e;
    }
  } finally {
    clearInterval(heartbeat);
    o.shutdown.removeEventListener('abort', abort);
    ac.abort();
    void it.return?.(undefined)?.catch(() => {});
    o.onEnd();
    if (!res.writableEnded) res.end();
  }
}

function write(res: ServerResponse, line: unknown): boolean {
  if (res.writableEnded || res.destroyed) return true;
  return res.write(`${JSON.stringify(line)}\n`);
}

function drained(res: ServerResponse, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    res.once('drain', done);
    signal.addEventListener('abort', done, { once: true });
  });
}
