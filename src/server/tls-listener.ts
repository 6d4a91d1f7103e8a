/**
 * The API server's socket: plain HTTP, or HTTPS with a certificate and key read from files and reloaded
 * when they change (the new context serves new connections; open ones keep theirs), and optionally
 * client certificates verified against a CA (`--client-ca`). A client without one signed by it is refused
 * on every request but the probes, with a 401 that names `--cert` — not in the handshake: with TLS 1.3 a
 * handshake refusal reaches the client as "other side closed", which tells a user nothing.
 *
 * Files are polled (`fs.watchFile`): certificate tools replace files by rename, which inotify watches on
 * the old inode miss. A reload that fails (the key written a moment after the certificate, so they do
 * not match yet) keeps the serving context and is tried again on the next change.
 */
import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import { createServer as createHttp, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttps, type ServerOptions as HttpsOptions } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { DroverError } from '../errors.js';

export interface ApiTlsOptions {
  /** PEM certificate (chain) file of the server (`--tls-cert`). */
  certFile: string;
  /** PEM private key file (`--tls-key`). */
  keyFile: string;
  /** PEM CA file: clients must present a certificate it signed (`--client-ca`). */
  clientCaFile?: string;
  /** How often the files are checked for changes. Default 1 s. */
  reloadIntervalMs?: number;
}

export interface Listener {
  server: Server;
  scheme: 'http' | 'https';
  /** Certificate reloads applied so far (tests and /metrics). */
  reloads(): number;
  stop(): void;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
type Log = (level: 'info' | 'error', msg: string, err?: unknown) => void;

export function createListener(handler: Handler, tls: ApiTlsOptions | undefined, log: Log): Listener {
  if (!tls) return { server: createHttp(handler), scheme: 'http', reloads: () => 0, stop: () => {} };
  const server = createHttps(readContext(tls), handler);
  let reloads = 0;
  const files = [tls.certFile, tls.keyFile, ...(tls.clientCaFile ? [tls.clientCaFile] : [])];
  const reload = () => {
    try {
      server.setSecureContext(readContext(tls));
      reloads++;
      log('info', `TLS: reloaded ${files.join(', ')}`);
    } catch (e) {
      log('error', `TLS: cannot reload ${files.join(', ')}; serving with the previous certificate`, e);
    }
  };
  const onChange = (cur: { mtimeMs: number; ino: number; size: number }, prev: { mtimeMs: number; ino: number; size: number }) => {
    if (cur.mtimeMs !== prev.mtimeMs || cur.ino !== prev.ino || cur.size !== prev.size) reload();
  };
  for (const f of files) watchFile(f, { interval: tls.reloadIntervalMs ?? 1000, persistent: false }, onChange);
  return {
    server,
    scheme: 'https',
    reloads: () => reloads,
    stop: () => {
      for (const f of files) unwatchFile(f, onChange);
    },
  };
}

function readContext(tls: ApiTlsOptions): HttpsOptions {
  const opts: HttpsOptions = { cert: readPem(tls.certFile, '--tls-cert'), key: readPem(tls.keyFile, '--tls-key') };
  if (tls.clientCaFile) Object.assign(opts, { ca: readPem(tls.clientCaFile, '--client-ca'), requestCert: true, rejectUnauthorized: false });
  return opts;
}

function readPem(path: string, flag: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new DroverError('DROVER_E_INVALID', `${flag}: cannot read ${path}: ${(e as Error).message}`, { field: flag, fix: `pass the path of a PEM file with ${flag}`, cause: e });
  }
}

/** Refuses a request whose connection has no client certificate signed by the --client-ca. */
export function requireClientCert(req: IncomingMessage): void {
  const socket = req.socket as Partial<TLSSocket>;
  if (socket.authorized === true) return;
  const presented = typeof socket.getPeerCertificate === 'function' && Object.keys(socket.getPeerCertificate()).length > 0;
  const why = presented ? `its certificate is not signed by the server's --client-ca (${String(socket.authorizationError ?? 'not verified')})` : 'no client certificate was presented';
  throw new DroverError('DROVER_E_UNAUTHORIZED', `this API server requires a client certificate: ${why}`, {
    field: '--cert',
    fix: 'pass a certificate signed by the CA the server was started with (--client-ca) as --cert FILE --key FILE (or `cert:`/`key:` in the CLI config)',
  });
}
