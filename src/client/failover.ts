/**
 * How RemoteStore moves between API server replicas: the list of server URLs (`--server a,b,c`), which
 * one is in use, what a failed request means, and how long to wait before the next round.
 *
 * A failure is one of:
 * - `unsent`: the connection never carried the request (refused, no route, DNS, connect timeout): any
 *   request may go to the next replica as it is.
 * - `maybe-sent`: the connection broke or timed out after the request went out, or the replica answered
 *   503 (not ready, shutting down, its store unreachable): the write may have happened. RemoteStore retries
 *   idempotent requests (GET, PUT, PATCH with a merge patch, DELETE) and creates with a name, which it
 *   turns into "already exists → compare" (retry-policy in remote-store.ts).
 * - anything else (an answer with a catalogued error, a TLS verification failure) is not a replica
 *   being away: it is thrown as it is.
 */
import { DroverError } from '../errors.js';

export type FailureKind = 'unsent' | 'maybe-sent';

/** Connection errors that happen before a byte of the request is written. */
const UNSENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'UND_ERR_CONNECT_TIMEOUT']);
/** The connection broke, or no answer came in time, once the request may have gone out. */
const MAYBE_SENT = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_ABORTED']);

export function errorCode(e: unknown): string {
  if (!(e instanceof Error)) return '';
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string' && code !== '') return code;
  // undici wraps the socket's error in `cause` for some failures.
  return e.cause !== undefined && e.cause !== e ? errorCode(e.cause) : '';
}

/** What a failed request to one replica means for the others (undefined: not a replica being away). */
export function failureKind(e: unknown): FailureKind | undefined {
  if (e instanceof DroverError) return e.code === 'DROVER_E_UNAVAILABLE' ? 'maybe-sent' : undefined;
  const code = errorCode(e);
  if (UNSENT.has(code)) return 'unsent';
  if (MAYBE_SENT.has(code)) return 'maybe-sent';
  if (tlsProblem(e) !== undefined) return undefined;
  // An unknown socket-level error: treat it as the connection breaking (the safe assumption for writes).
  return e instanceof Error ? 'maybe-sent' : undefined;
}

/**
 * A TLS failure: which client flag it is about, and what to say. Certificate verification failures are
 * the server's certificate not signed by the CA the client trusts (`--ca`); a handshake alert about the
 * client's certificate is the server requiring one (`--cert`/`--key`); a record that is not TLS is a
 * plain-HTTP server behind an https:// URL.
 */
export function tlsProblem(e: unknown): { field: string; what: string; fix: string } | undefined {
  if (e instanceof DroverError) return undefined; // an answer: the handshake went well
  const code = errorCode(e);
  const msg = e instanceof Error ? e.message : '';
  if (VERIFY.has(code) || code.startsWith('ERR_TLS_CERT') || (/certificate/i.test(msg) && /verify|self.signed|issuer/i.test(msg))) {
    return {
      field: '--ca',
      what: `the server's TLS certificate is not trusted (${code || msg})`,
      fix: 'pass the CA that signed the server certificate with --ca FILE (or `ca:` in the CLI config); for a name mismatch, use the host name the certificate was issued for',
    };
  }
  if (/ALERT_CERTIFICATE_REQUIRED|ALERT_BAD_CERTIFICATE|ALERT_UNKNOWN_CA|ALERT_HANDSHAKE_FAILURE/i.test(code) || /alert (certificate required|bad certificate|unknown ca)/i.test(msg)) {
    return {
      field: '--cert',
      what: `the server refused this client's certificate (${code || msg})`,
      fix: 'the server requires a client certificate signed by its --client-ca: pass one with --cert FILE --key FILE (or `cert:`/`key:` in the CLI config)',
    };
  }
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'EPROTO') {
    return {
      field: '--server',
      what: `TLS to a server that does not speak TLS (${code})`,
      fix: 'use an http:// URL for a server started without --tls-cert, or start the server with --tls-cert/--tls-key',
    };
  }
  return undefined;
}

const VERIFY = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
]);

export function tlsError(base: string, e: unknown): DroverError | undefined {
  const p = tlsProblem(e);
  if (!p) return undefined;
  return new DroverError('DROVER_E_TLS', `TLS to the Drover API server at ${base} failed: ${p.what}`, { field: p.field, fix: p.fix, cause: e });
}

/** `a,b,c` (or several such), each with http:// added when it has no scheme; trailing slashes dropped. */
export function parseServerList(value: string | readonly string[]): string[] {
  const parts = (typeof value === 'string' ? [value] : value).flatMap((v) => v.split(','));
  const urls = parts.map((s) => s.trim()).filter((s) => s !== '').map((s) => (/^https?:\/\//i.test(s) ? s : `http://${s}`).replace(/\/+$/, ''));
  if (urls.length === 0) throw new DroverError('DROVER_E_INVALID', 'no API server URL given', { field: '--server', fix: 'pass --server URL[,URL…] (or DROVER_SERVER), e.g. http://127.0.0.1:7400' });
  return [...new Set(urls)];
}

export interface ReplicaSetOptions {
  /** Passes over every URL before a request gives up. Default 3 with several URLs, 1 with one. */
  rounds?: number;
  /** Pause before the second round; doubles per round up to `maxBackoffMs`, with jitter. Default 100 ms. */
  minBackoffMs?: number;
  /** Default 1 s. */
  maxBackoffMs?: number;
  random?: () => number;
}

/**
 * The replicas one client talks to. Requests go to the replica that answered last ("sticky"), so a
 * client does not spread its watches and writes over replicas without a reason; a failure moves every
 * later request to the next one.
 */
export class Replicas {
  readonly urls: readonly string[];
  private index = 0;
  private readonly rounds: number;
  private readonly minMs: number;
  private readonly maxMs: number;
  private readonly random: () => number;

  constructor(servers: string | readonly string[], opts: ReplicaSetOptions = {}) {
    this.urls = parseServerList(servers);
    this.rounds = Math.max(1, opts.rounds ?? (this.urls.length > 1 ? 3 : 1));
    this.minMs = opts.minBackoffMs ?? 100;
    this.maxMs = opts.maxBackoffMs ?? 1000;
    this.random = opts.random ?? Math.random;
  }

  get current(): string {
    return this.urls[this.index % this.urls.length]!;
  }

  /** How many attempts a request makes at most: every replica, `rounds` times. */
  get attempts(): number {
    return this.urls.length * this.rounds;
  }

  /** Moves away from `failed` (unless another request already did) and says how long to wait first. */
  failed(failed: string, attempt: number): number {
    if (this.current === failed) this.index = (this.index + 1) % this.urls.length;
    // A pause only when a whole round failed: the next replica of the same round is tried at once.
    if (attempt % this.urls.length !== 0) return 0;
    const round = attempt / this.urls.length;
    const capped = Math.min(this.maxMs, this.minMs * 2 ** (round - 1));
    return Math.round(capped / 2 + this.random() * (capped / 2));
  }
}
