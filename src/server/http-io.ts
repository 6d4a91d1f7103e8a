/**
 * The API server's side of HTTP: reading request bodies (with a size and a depth limit) and turning any
 * error into its answer. The plumbing it shares with the edge (JSON answers, listening, listen
 * addresses) is src/runtime/http-io.ts; `sendJson` is re-exported for the server's other files.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { DroverError } from '../errors.js';
import { sendDroverError, sendJson } from '../runtime/http-io.js';

export { sendJson };

export const DEFAULT_BODY_LIMIT = 1024 * 1024;
/** How much of an unwanted request body the server reads and drops to keep the connection usable. */
const DRAIN_LIMIT = 64 * 1024 * 1024;

/**
 * Deepest nesting a body may have. Drover's documents nest about ten levels; the bound keeps the
 * recursive passes over a body (merge patch, validation, JSON.stringify) far from the stack's end.
 */
export const MAX_JSON_DEPTH = 100;

export async function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit, declared);
  const text = await new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks).toString('utf8'));
    };
    const onError = (e: Error) => {
      cleanup();
      reject(e);
    };
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
  if (text.trim() === '') throw new DroverError('DROVER_E_BAD_REQUEST', 'request body is empty', { fix: 'send the resource as a JSON document' });
  if (jsonDepth(text) > MAX_JSON_DEPTH) {
    throw new DroverError('DROVER_E_BAD_REQUEST', `request body nests deeper than ${MAX_JSON_DEPTH} levels`, { fix: 'send a Drover resource or a merge patch of one; they nest about ten levels' });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new DroverError('DROVER_E_BAD_REQUEST', `request body is not valid JSON: ${(e as Error).message}`, {
      fix: 'send a JSON document (the CLI converts YAML for you)',
    });
  }
}

/** The deepest nesting of objects and arrays in JSON text (strings skipped), in one pass without recursion. */
export function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      if (++depth > max) max = depth;
    } else if (c === 125 || c === 93) depth--;
  }
  return max;
}

export function tooLarge(limit: number, size?: number): DroverError {
  const what = size === undefined ? 'the document is larger than' : `the document is ${size} bytes, larger than`;
  return new DroverError('DROVER_E_TOO_LARGE', `document too large: ${what} the API server's limit of ${limit} bytes`, {
    fix: 'split it into smaller documents (large data belongs in the app, not in a spec), or start the server with a larger --body-limit',
  });
}

/**
 * The one place errors become responses: a DroverError → its catalogue status and body; anything else →
 * 500 DROVER_E_INTERNAL (the caller logs it). A request whose body was not read to the end closes the
 * connection after the answer.
 */
export function sendError(req: IncomingMessage, res: ServerResponse, e: unknown): number {
  const err = e instanceof DroverError ? e : new DroverError('DROVER_E_INTERNAL', 'internal error', { fix: 'see the server log' });
  if (res.headersSent) {
    res.destroy();
    return err.status;
  }
  let headers: OutgoingHttpHeaders | undefined;
  if (!req.readableEnded) {
    // The client may still be sending the body (a 413 answers before reading it). Closing now would
    // reset the connection with its bytes unread, and a reset can reach the client before our answer
    // does (it saw EPIPE instead of the 413). So the connection stays open and the rest of the body is
    // read and dropped; only a body beyond the drain bound gets `Connection: close` and is cut off.
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (!(declared <= DRAIN_LIMIT)) headers = { connection: 'close' };
    let drained = 0;
    req.on('data', (c: Buffer) => {
      drained += c.length;
      if (drained > DRAIN_LIMIT) req.destroy();
    });
    req.resume();
  }
  sendDroverError(res, err, headers);
  return err.status;
}
