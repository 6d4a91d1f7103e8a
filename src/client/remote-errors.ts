/**
 * What RemoteStore makes of an answer that is not the object it asked for: the server's catalogued error
 * bodies turned back into the DroverErrors the server raised, a replica that cannot be reached, a body
 * too large, and something that answered HTTP but is not Drover's API.
 */
import type { Dispatcher } from 'undici';
import { DroverError, errorCatalogue, type ErrorCode } from '../errors.js';
import { errorCode } from './failover.js';

export function documentTooLarge(size: number, limit: number | undefined): DroverError {
  return new DroverError('DROVER_E_TOO_LARGE', `document too large: it is ${size} bytes${limit === undefined ? ', more than the server accepts' : `, larger than the API server's limit of ${limit} bytes`}`, {
    fix: 'split it into smaller documents (large data belongs in the app, not in a spec), or start the server with a larger --body-limit',
  });
}

/** No replica answered: `bases` are the ones tried, `cause` the last failure. */
export function unavailable(bases: readonly string[], cause: unknown): DroverError {
  const detail = cause instanceof DroverError ? cause.message : cause instanceof Error ? errorCode(cause) || cause.message : String(cause);
  const where = bases.length === 1 ? `the Drover API server at ${bases[0]}` : `any of the Drover API servers ${bases.join(', ')}`;
  return new DroverError('DROVER_E_UNAVAILABLE', `cannot reach ${where} (${detail})`, {
    fix: 'start it with `drover server` (or `drover up`), or point --server / DROVER_SERVER at a running one',
    cause,
  });
}

export function mediaType(res: Dispatcher.ResponseData): string {
  const v = res.headers['content-type'];
  return (Array.isArray(v) ? v[0] : v)?.split(';')[0]?.trim() || 'no content type';
}

export function isJson(res: Dispatcher.ResponseData): boolean {
  return /json/i.test(mediaType(res));
}

export function isNdjson(res: Dispatcher.ResponseData): boolean {
  return /ndjson|json-seq|stream/i.test(mediaType(res));
}

/**
 * Something answered HTTP at --server but it is not Drover's API (a web page, another service, a proxy's
 * error page): say so, instead of a parse error or a misleading "not found".
 */
export function notDrover(base: string, path: string, status: number, what: string): DroverError {
  return new DroverError('DROVER_E_NOT_DROVER', `${base} is not a Drover API server (got HTTP ${status} ${what} from ${base}${path})`, {
    field: '--server',
    fix: 'point --server (or DROVER_SERVER, or the CLI config) at the URL `drover server` or `drover up` printed, e.g. http://127.0.0.1:7400',
  });
}

export async function errorFromResponse(res: Dispatcher.ResponseData): Promise<DroverError> {
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
