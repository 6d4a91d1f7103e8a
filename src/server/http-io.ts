/** Reading request bodies (with a size limit) and writing JSON answers and catalogued errors. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DroverError } from '../errors.js';

export const DEFAULT_BODY_LIMIT = 1024 * 1024;

export async function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit);
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
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new DroverError('DROVER_E_BAD_REQUEST', `request body is not valid JSON: ${(e as Error).message}`, {
      fix: 'send a JSON document (the CLI converts YAML for you)',
    });
  }
}

function tooLarge(limit: number): DroverError {
  return new DroverError('DROVER_E_TOO_LARGE', `request body exceeds ${limit} bytes`, { fix: 'split the document or raise the server\'s --body-limit' });
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const data = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) });
  res.end(data);
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
  const data = JSON.stringify(err.toBody());
  const headers: Record<string, string | number> = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) };
  if (!req.readableEnded) {
    headers.connection = 'close';
    // Drain what the client still sends (bounded), so it reads our answer instead of a reset.
    let drained = 0;
    req.on('data', (c: Buffer) => {
      drained += c.length;
      if (drained > 64 * 1024 * 1024) req.destroy();
    });
    req.resume();
  }
  res.writeHead(err.status, headers);
  res.end(data);
  return err.status;
}
