/**
 * The client side of TLS to the API server: the CA that signed the server's certificate (`--ca`, config
 * `ca:`), and optionally this client's certificate and key (`--cert`/`--key`) for a server started with
 * `--client-ca`. Files are read when the first connection is made, so that a command that never connects
 * does not fail on them.
 */
import { readFileSync } from 'node:fs';
import { DroverError } from '../errors.js';

export interface ClientTls {
  /** PEM file of the CA(s) to trust for the server's certificate (default: Node's public CAs). */
  ca?: string;
  /** PEM files of this client's certificate and key. */
  cert?: string;
  key?: string;
}

export interface TlsConnectOptions {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

export function readClientTls(tls: ClientTls | undefined): TlsConnectOptions {
  if (!tls) return {};
  if ((tls.cert === undefined) !== (tls.key === undefined)) {
    const missing = tls.cert === undefined ? '--cert' : '--key';
    throw new DroverError('DROVER_E_INVALID', `a client certificate needs both --cert and --key; ${missing} is missing`, { field: missing, fix: 'pass both --cert FILE and --key FILE (PEM), or neither' });
  }
  const out: TlsConnectOptions = {};
  if (tls.ca !== undefined) out.ca = readPem(tls.ca, '--ca');
  if (tls.cert !== undefined) out.cert = readPem(tls.cert, '--cert');
  if (tls.key !== undefined) out.key = readPem(tls.key, '--key');
  return out;
}

function readPem(path: string, flag: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new DroverError('DROVER_E_INVALID', `${flag}: cannot read ${path}: ${(e as Error).message}`, { field: flag, fix: `pass the path of a PEM file with ${flag}`, cause: e });
  }
}
