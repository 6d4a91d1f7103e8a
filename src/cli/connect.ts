/**
 * How a CLI command reaches the control plane: flags (--server, --token, --ca, --cert, --key), then
 * DROVER_SERVER / DROVER_TOKEN / DROVER_CA / DROVER_CERT / DROVER_KEY, then the config file `drover
 * server`/`drover up` write (src/cli/config.ts). `--server` (and the others) may name several replicas,
 * `a,b,c`: the returned Store speaks the REST API (src/client/remote-store.ts) and moves to the next
 * replica when one is away.
 */
import type { ClientTls } from '../client/client-tls.js';
import { parseServerList } from '../client/failover.js';
import { RemoteStore } from '../client/remote-store.js';
import { configPath, readConfig, type CliConfig } from './config.js';

export interface ConnectOptions {
  server?: string;
  token?: string;
  ca?: string;
  cert?: string;
  key?: string;
}

export interface Connection {
  /** The replicas' URLs, in the order given. */
  servers: string[];
  /** The same, as `a,b,c` (for messages). */
  server: string;
  token?: string;
  tls?: ClientTls;
}

export const DEFAULT_SERVER = 'http://127.0.0.1:7400';

const ENV = { server: 'DROVER_SERVER', token: 'DROVER_TOKEN', ca: 'DROVER_CA', cert: 'DROVER_CERT', key: 'DROVER_KEY' } as const;

/** The server URLs, token and TLS files a command would use: each from its flag, else the environment, else the file. */
export function resolveConnection(opts: ConnectOptions, env: NodeJS.ProcessEnv = process.env): Connection {
  const given = (k: keyof typeof ENV) => opts[k] ?? (env[ENV[k]] || undefined);
  // The file only when flags and environment leave the server or token open (reading it is the slow part).
  const cfg: CliConfig = given('server') && given('token') ? {} : readConfig(configPath(env));
  const pick = (k: keyof typeof ENV) => given(k) ?? cfg[k];
  const servers = parseServerList(pick('server') ?? DEFAULT_SERVER);
  const token = pick('token');
  const tls: ClientTls = {};
  for (const k of ['ca', 'cert', 'key'] as const) {
    const v = pick(k);
    if (v !== undefined) tls[k] = v;
  }
  return {
    servers,
    server: servers.join(','),
    ...(token !== undefined ? { token } : {}),
    ...(Object.keys(tls).length > 0 ? { tls } : {}),
  };
}

/** Commands call it with `cmd.optsWithGlobals()`. */
export async function connect(opts: ConnectOptions): Promise<RemoteStore> {
  const c = resolveConnection(opts);
  return new RemoteStore({ server: c.servers, ...(c.token !== undefined ? { token: c.token } : {}), ...(c.tls ? { tls: c.tls } : {}) });
}
