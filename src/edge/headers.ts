/** Header passes of the proxy: what goes upstream and what comes back, on flat raw-header arrays. */

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade', 'proxy-authenticate', 'proxy-authorization']);

export interface ForwardedInfo {
  clientIp: string;
  proto: 'http' | 'https';
}

/**
 * Request headers for the upstream: hop-by-hop headers dropped (except `transfer-encoding`, which
 * frames the streamed body), `X-Forwarded-For` appended to, `X-Forwarded-Proto`/`-Host` set.
 * With `upgrade`, Connection/Upgrade are kept for a WebSocket handshake. With `undici`, `transfer-encoding`
 * and `expect` are dropped too: undici frames a streamed body itself and refuses both (the client's
 * `Expect: 100-continue` is answered by the edge's own server).
 */
export function upstreamRequestHeaders(raw: readonly string[], fwd: ForwardedInfo, upgrade = false, undici = false): string[] {
  const out: string[] = [];
  let xff: string | undefined;
  let host: string | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower)) {
      if (upgrade && (lower === 'connection' || lower === 'upgrade')) out.push(name, value);
      continue;
    }
    if (lower.startsWith('x-forwarded-')) {
      if (lower === 'x-forwarded-for') xff = xff === undefined ? value : `${xff}, ${value}`;
      continue;
    }
    if (undici && (lower === 'transfer-encoding' || lower === 'expect')) continue;
    if (lower === 'host') host = value;
    out.push(name, value);
  }
  out.push('X-Forwarded-For', xff === undefined ? fwd.clientIp : `${xff}, ${fwd.clientIp}`);
  out.push('X-Forwarded-Proto', fwd.proto);
  if (host !== undefined) out.push('X-Forwarded-Host', host);
  return out;
}

/**
 * Response headers for the client: hop-by-hop and framing headers dropped, extras appended. `raw` is
 * node:http's rawHeaders or undici's (Buffers, latin1 like the wire).
 */
export function clientResponseHeaders(raw: readonly (string | Buffer)[], extra: readonly string[]): string[] {
  return responseHead(raw, extra).headers;
}

/** `clientResponseHeaders` plus the Prod's Content-Length (-1 when absent or unparseable). */
export function responseHead(raw: readonly (string | Buffer)[], extra: readonly string[]): { headers: string[]; contentLength: number } {
  const headers: string[] = [];
  let contentLength = -1;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toString('latin1');
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || lower === 'transfer-encoding') continue;
    const value = raw[i + 1]!.toString('latin1');
    if (lower === 'content-length' && /^\d+$/.test(value)) contentLength = Number(value);
    headers.push(name, value);
  }
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
