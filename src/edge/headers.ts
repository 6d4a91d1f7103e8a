/** Header passes of the proxy: what goes upstream and what comes back, on flat raw-header arrays. */

/** RFC 9110 §7.6.1's hop-by-hop set (plus the de-facto Proxy-Connection); `transfer-encoding` is handled apart. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade', 'proxy-authenticate', 'proxy-authorization']);

export interface ForwardedInfo {
  clientIp: string;
  proto: 'http' | 'https';
}

/** A request the edge must refuse (400) instead of sending to a Prod: the client's mistake. */
export interface ClientHeaderError {
  clientError: string;
}

/**
 * Header names a `Connection` value lists beyond the standard set (RFC 9110 §7.6.1: the sender marks
 * them as hop-by-hop). Undefined for the usual `keep-alive`/`close`/`upgrade`, so the common request
 * pays nothing.
 */
function connectionNamed(value: string, into: Set<string> | undefined): Set<string> | undefined {
  for (const part of value.split(',')) {
    const token = part.trim().toLowerCase();
    if (token === '' || token === 'close' || HOP_BY_HOP.has(token)) continue;
    (into ??= new Set()).add(token);
  }
  return into;
}

function without(headers: string[], names: Set<string>, keep?: (lower: string) => boolean): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const lower = headers[i]!.toLowerCase();
    if (names.has(lower) && !keep?.(lower)) continue;
    out.push(headers[i]!, headers[i + 1]!);
  }
  return out;
}

/**
 * Request headers for the upstream: hop-by-hop headers dropped — the standard set and whatever the
 * client's `Connection` names — (except `transfer-encoding`, which frames the streamed body),
 * `X-Forwarded-For` appended to, `X-Forwarded-Proto`/`-Host` set.
 * With `upgrade`, Connection/Upgrade are kept for a WebSocket handshake. With `undici`, `transfer-encoding`
 * and `expect` are dropped too: undici frames a streamed body itself and refuses both (the client's
 * `Expect: 100-continue` is answered by the edge's own server).
 * A second Host header is the client's mistake (RFC 9112 §3.2: answer 400), reported instead of headers.
 */
export function upstreamRequestHeaders(raw: readonly string[], fwd: ForwardedInfo, upgrade = false, undici = false): string[] | ClientHeaderError {
  let out: string[] = [];
  let xff: string | undefined;
  let host: string | undefined;
  let named: Set<string> | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower)) {
      if (lower === 'connection') named = connectionNamed(value, named);
      if (upgrade && (lower === 'connection' || lower === 'upgrade')) out.push(name, value);
      continue;
    }
    if (lower.startsWith('x-forwarded-')) {
      if (lower === 'x-forwarded-for') xff = xff === undefined ? value : `${xff}, ${value}`;
      continue;
    }
    if (undici && (lower === 'transfer-encoding' || lower === 'expect')) continue;
    if (lower === 'host') {
      if (host !== undefined) return { clientError: 'the request has more than one Host header' };
      host = value;
    }
    out.push(name, value);
  }
  // A header the client marked hop-by-hop is for the edge, not the Prod; Host and the framing stay.
  if (named) out = without(out, named, (lower) => lower === 'host' || lower === 'transfer-encoding' || lower === 'content-length');
  out.push('X-Forwarded-For', xff === undefined ? fwd.clientIp : `${xff}, ${fwd.clientIp}`);
  out.push('X-Forwarded-Proto', fwd.proto);
  if (host !== undefined) out.push('X-Forwarded-Host', host);
  return out;
}

/**
 * Response headers for the client: hop-by-hop (standard and `Connection`-named) and framing headers
 * dropped, extras appended. `raw` is node:http's rawHeaders or undici's (Buffers, latin1 like the wire).
 */
export function clientResponseHeaders(raw: readonly (string | Buffer)[], extra: readonly string[]): string[] {
  return responseHead(raw, extra).headers;
}

/** `clientResponseHeaders` plus the Prod's Content-Length (-1 when absent or unparseable). */
export function responseHead(raw: readonly (string | Buffer)[], extra: readonly string[]): { headers: string[]; contentLength: number } {
  let headers: string[] = [];
  let contentLength = -1;
  let named: Set<string> | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toString('latin1');
    const lower = name.toLowerCase();
    if (lower === 'connection') named = connectionNamed(raw[i + 1]!.toString('latin1'), named);
    if (HOP_BY_HOP.has(lower) || lower === 'transfer-encoding') continue;
    const value = raw[i + 1]!.toString('latin1');
    if (lower === 'content-length' && /^\d+$/.test(value)) contentLength = Number(value);
    headers.push(name, value);
  }
  if (named) headers = without(headers, named, (lower) => lower === 'content-length');
  for (const x of extra) headers.push(x);
  return { headers, contentLength };
}

/** Host header value without port, lower-case; undefined when absent. */
export function hostOnly(host: string | undefined): string | undefined {
  if (host === undefined) return undefined;
  let h = host;
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    h = end > 0 ? h.slice(0, end + 1) : h;
  } else {
    const colon = h.indexOf(':');
    if (colon >= 0) h = h.slice(0, colon);
  }
  if (h.endsWith('.')) h = h.slice(0, -1);
  return h.toLowerCase();
}

/** Value of one cookie from a Cookie header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);
export function isIdempotent(method: string | undefined): boolean {
  return method !== undefined && IDEMPOTENT.has(method);
}

/** One value of a request header as node parses it (the first, for headers it keeps as a list). */
export function headerString(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
