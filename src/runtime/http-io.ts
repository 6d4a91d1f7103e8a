/**
 * HTTP plumbing every Drover listener shares (the API server, the edge's proxy and admin ports): listen
 * addresses as flags and fields spell them, listening with a catalogued error when the port is taken,
 * JSON answers, and closing. It lives here, below both the server and the edge, so that neither copies
 * it and the layer rule (imports point down) holds.
 */
import type { Server, ServerResponse, OutgoingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DroverError } from '../errors.js';

export interface HostPort {
  host: string;
  port: number;
}

/** The host when an address gives only a port: loopback, as every Drover listener binds unless told otherwise. */
export const DEFAULT_HOST = '127.0.0.1';

/**
 * `HOST:PORT`, `[IPV6]:PORT`, `:PORT` or `PORT` (the host then defaults to 127.0.0.1); port 0–65535,
 * 0 picking a free one. `field` is the flag or option the text came from (`--listen`, `listen`), named in
 * the error with an example of the right form.
 */
export function parseHostPort(text: string, field: string, example = `${DEFAULT_HOST}:8080`): HostPort {
  const t = text.trim();
  const m = /^(?:\[([^\]\s]+)\]|([^:[\]\s]*)):(\d+)$/.exec(t) ?? /^()()(\d+)$/.exec(t);
  const port = m ? Number(m[3]) : NaN;
  if (!m || !Number.isInteger(port) || port > 65535) {
    const why = !m ? (/^[^:]+$/.test(t) ? 'no port' : 'not HOST:PORT') : `port ${m[3]} is above 65535`;
    throw new DroverError('DROVER_E_INVALID', `${field}: "${text}" is not a listen address (${why})`, {
      field,
      fix: `use HOST:PORT, [IPV6]:PORT, :PORT or PORT, e.g. ${example} (port 0 picks a free one)`,
    });
  }
  // `||`, not `??`: the bare-port form matches empty groups (''), which node would take as every address.
  return { host: m[1] || m[2] || DEFAULT_HOST, port };
}

/** `http://HOST:PORT` of a listening server, with the port it got when asked for port 0. */
export function serverUrl(server: Server): string {
  const a = server.address() as AddressInfo;
  const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
  return `http://${host}:${a.port}`;
}

/**
 * Listens and resolves to the server's URL. A port another process holds is `DROVER_E_PORT_IN_USE`,
 * any other refusal (an address not on this machine, a privileged port) `DROVER_E_UNAVAILABLE`; both name
 * `field` (the flag that chose the address) and the fix.
 */
export async function listenOn(server: Server, at: HostPort, field: string): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException) => reject(listenError(e, at, field));
    server.once('error', onError);
    server.listen(at.port, at.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  return serverUrl(server);
}

export function listenError(e: NodeJS.ErrnoException, at: HostPort, field: string): DroverError {
  const where = `${at.host.includes(':') ? `[${at.host}]` : at.host}:${at.port}`;
  if (e.code === 'EADDRINUSE') {
    return new DroverError('DROVER_E_PORT_IN_USE', `cannot listen on ${where} (${field}): address already in use`, {
      field,
      fix: `stop the process that holds port ${at.port}, or pick another ${field} (port 0 picks a free one)`,
      cause: e,
    });
  }
  return new DroverError('DROVER_E_UNAVAILABLE', `cannot listen on ${where} (${field}): ${e.message}`, {
    field,
    fix: `pick another ${field} (an address of this machine; ports below 1024 need privileges)`,
    cause: e,
  });
}

/** Closes the listener and every connection on it (idle keep-alives included), then resolves. */
export async function closeServer(server: Server): Promise<void> {
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** A JSON answer with its length; `headers` adds to (or overrides) content-type and content-length. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers?: OutgoingHttpHeaders): void {
  const text = JSON.stringify(body);
  const h: OutgoingHttpHeaders = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) };
  if (headers) Object.assign(h, headers);
  res.writeHead(status, h);
  res.end(text);
}

/**
 * A catalogued error as its status and `{code, message, field?, fix?}` body. Once the head has gone out
 * (a streamed answer that failed half-way) the only honest signal left is to cut the connection.
 */
export function sendDroverError(res: ServerResponse, err: DroverError, headers?: OutgoingHttpHeaders): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, err.status, err.toBody(), headers);
}
