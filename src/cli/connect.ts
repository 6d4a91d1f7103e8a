/**
 * How a CLI command reaches the control plane: flags (--server, --token), then DROVER_SERVER /
 * DROVER_TOKEN, then the config file `drover server`/`drover up` write (src/cli/config.ts). The returned
 * Store speaks the REST API (src/client/remote-store.ts).
 */
import { RemoteStore } from '../client/remote-store.js';
import { readConfig } from './config.js';

export interface ConnectOptions {
  server?: string;
  token?: string;
}

export const DEFAULT_SERVER = 'http://127.0.0.1:7400';

/** The server URL and token a command would use, and where each came from. */
export function resolveConnection(opts: ConnectOptions, env: NodeJS.ProcessEnv = process.env): { server: string; token?: string } {
  // The file only when flags and environment leave something open (reading it is the slow part).
  const cfg = (opts.server ?? env.DROVER_SERVER) && (opts.token ?? env.DROVER_TOKEN) ? {} : readConfig();
  const server = opts.server ?? env.DROVER_SERVER ?? cfg.server ?? DEFAULT_SERVER;
  const token = opts.token ?? env.DROVER_TOKEN ?? cfg.token;
  return token === undefined ? { server: normalizeUrl(server) } : { server: normalizeUrl(server), token };
}

/** Commands call it with `cmd.optsWithGlobals()`. */
export async function connect(opts: ConnectOptions): Promise<RemoteStore> {
  return new RemoteStore(resolveConnection(opts));
}

function normalizeUrl(s: string): string {
  return /^https?:\/\//.test(s) ? s : `http://${s}`;
}
