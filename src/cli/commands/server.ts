/** `drover server`: the control plane (store + API + controllers) in the foreground until SIGTERM/SIGINT. */
import { relative } from 'node:path';
import { Option, type Command } from 'commander';
import { DroverError } from '../../errors.js';
import { withExitCode } from '../action.js';
import { configPath, writeConfig } from '../config.js';
import { untilSignal } from '../kit.js';

interface ServerOptions {
  data: string;
  listen: string;
  tokenFile?: string;
  writeConfig: boolean;
  controllers: boolean;
  backend: 'sqlite' | 'memory' | 'etcd';
  etcdEndpoints?: string;
  etcdCa?: string;
  etcdCert?: string;
  etcdKey?: string;
  etcdPrefix?: string;
  replicaName?: string;
  leaseTtl?: number;
  leaseRenew?: number;
  bodyLimit?: string;
  historySize?: string;
  watchHeartbeat?: string;
  evictionTimeout?: number;
  // TLS (issue 18, client side and TLS)
  tlsCert?: string;
  tlsKey?: string;
  clientCa?: string;
}

// Literals rather than imports: the control plane (SQLite, controllers) loads only when this command runs,
// so that every other command starts fast. Same values as open-store.ts / api-server.ts.
const DEFAULT_DATA_DIR = '.drover';
const DEFAULT_LISTEN = '127.0.0.1:7400';

export function register(program: Command): void {
  program
    .command('server')
    .description('run the control plane: API server, store and controllers')
    .option('--data <dir>', 'data directory (SQLite store, generated tokens)', DEFAULT_DATA_DIR)
    .option('--listen <host:port>', 'address to listen on (port 0 picks a free one)', DEFAULT_LISTEN)
    .option('--token-file <file>', 'YAML file with `admin:` and `readonly:` tokens (default: DROVER_TOKEN, else <data>/tokens.yaml, generated)')
    .option('--no-write-config', 'do not write the CLI config file (server URL and admin token)')
    .option('--no-controllers', 'serve the API and store only, without reconciling (API tests, debugging)')
    .addOption(new Option('--backend <backend>', 'store backend (etcd: several replicas share one etcd; one leads the controllers)').choices(['sqlite', 'memory', 'etcd']).default('sqlite'))
    .option('--etcd-endpoints <urls>', 'etcd client URLs, comma-separated (backend etcd), e.g. http://10.0.0.1:2379,http://10.0.0.2:2379')
    .option('--etcd-ca <file>', 'CA certificate (PEM) that signed the etcd members\' certificates')
    .option('--etcd-cert <file>', 'client certificate (PEM) for etcd')
    .option('--etcd-key <file>', 'client key (PEM) for etcd')
    .addOption(new Option('--etcd-prefix <prefix>', 'key prefix of this installation in etcd').default('/drover/'))
    .option('--replica-name <name>', 'this replica\'s name in the leader election (default <hostname>:<port>)')
    .option('--lease-ttl <ms>', 'leader lease TTL, whole seconds (e.g. 3s): a dead leader\'s controllers are taken over within about this long (default 3s)')
    .option('--lease-renew <ms>', 'how often the leader renews its lease (default a third of the TTL)')
    .option('--body-limit <bytes>', 'largest request body accepted', '1048576')
    .option('--eviction-timeout <ms>', "how long a cluster may be NotReady before its Prods are replaced, for clusters without spec.evictionTimeoutMs (e.g. 5m; default 5 minutes)")
    .addOption(new Option('--history-size <n>', 'changes kept for watch replay').hideHelp())
    .addOption(new Option('--watch-heartbeat <ms>', 'interval of BOOKMARK lines on idle watches').hideHelp())
    // TLS (issue 18, client side and TLS): HTTPS with files reloaded on change, optional client certificates.
    .option('--tls-cert <file>', 'serve HTTPS with this PEM certificate (chain); reloaded when the file changes')
    .option('--tls-key <file>', 'PEM private key of --tls-cert; reloaded when the file changes')
    .option('--client-ca <file>', 'require client certificates signed by this PEM CA (clients pass --cert/--key)')
    .action(withExitCode(async (opts: ServerOptions) => runServer(opts)));
}

async function runServer(opts: ServerOptions): Promise<number> {
  if (opts.backend === 'etcd' && !opts.etcdEndpoints) {
    process.stderr.write('error: --backend etcd needs --etcd-endpoints URL[,URL...]\n');
    return 2;
  }
  const tls = tlsOptions(opts);
  const { startControlPlane } = await import('../../server/control-plane.js');
  const cp = await startControlPlane({
    dataDir: opts.data,
    listen: opts.listen,
    backend: opts.backend,
    controllers: opts.controllers,
    ...(opts.backend === 'etcd' && opts.etcdEndpoints
      ? {
          etcd: {
            endpoints: opts.etcdEndpoints,
            ...(opts.etcdCa ? { caFile: opts.etcdCa } : {}),
            ...(opts.etcdCert ? { certFile: opts.etcdCert } : {}),
            ...(opts.etcdKey ? { keyFile: opts.etcdKey } : {}),
            ...(opts.etcdPrefix ? { prefix: opts.etcdPrefix } : {}),
          },
          election: {
            ...(opts.replicaName ? { id: opts.replicaName } : {}),
            ...(opts.leaseTtl !== undefined ? { ttlMs: Number(opts.leaseTtl) } : {}),
            ...(opts.leaseRenew !== undefined ? { renewMs: Number(opts.leaseRenew) } : {}),
          },
        }
      : {}),
    ...(process.env.DROVER_TOKEN ? { envToken: process.env.DROVER_TOKEN } : {}),
    ...(opts.tokenFile ? { tokenFile: opts.tokenFile } : {}),
    ...(opts.bodyLimit ? { bodyLimitBytes: Number(opts.bodyLimit) } : {}),
    ...(opts.historySize ? { historySize: Number(opts.historySize) } : {}),
    ...(opts.watchHeartbeat ? { watchHeartbeatMs: Number(opts.watchHeartbeat) } : {}),
    ...(opts.evictionTimeout !== undefined ? { evictionTimeoutMs: Number(opts.evictionTimeout) } : {}),
    ...(tls ? { tls } : {}),
  });
  const out = (s: string) => process.stdout.write(`${s}\n`);
  out(`drover server listening on ${cp.url}`);
  out(opts.backend === 'etcd' ? `store: etcd ${opts.etcdEndpoints}${opts.controllers ? ' (controllers run on the elected leader)' : ', controllers off'}` : `data: ${cp.dataDir} (${opts.backend})${opts.controllers ? '' : ', controllers off'}`);
  const shown = (p: string) => (relative(process.cwd(), p).startsWith('..') ? p : relative(process.cwd(), p) || p);
  if (cp.tokens.generatedFile) out(`tokens: generated admin and readonly tokens in ${shown(cp.tokens.generatedFile)}`);
  else if (cp.tokens.file) out(`tokens: ${shown(cp.tokens.file)}`);
  else out('tokens: DROVER_TOKEN (admin)');
  if (opts.writeConfig && cp.tokens.adminToken) {
    const path = writeConfig({ server: cp.url, token: cp.tokens.adminToken }, configPath());
    out(`CLI config written to ${path}`);
  }

  const signal = await untilSignal();
  out(`${signal}: shutting down`);
  await cp.stop();
  out('stopped');
  return 0;
}

// TLS (issue 18, client side and TLS).
function tlsOptions(opts: ServerOptions): { certFile: string; keyFile: string; clientCaFile?: string } | undefined {
  if (opts.tlsCert === undefined && opts.tlsKey === undefined) {
    if (opts.clientCa !== undefined) throw new DroverError('DROVER_E_INVALID', '--client-ca needs TLS', { field: '--client-ca', fix: 'pass --tls-cert FILE and --tls-key FILE too' });
    return undefined;
  }
  if (opts.tlsCert === undefined || opts.tlsKey === undefined) {
    const missing = opts.tlsCert === undefined ? '--tls-cert' : '--tls-key';
    throw new DroverError('DROVER_E_INVALID', `TLS needs both --tls-cert and --tls-key; ${missing} is missing`, { field: missing, fix: 'pass both, as PEM files' });
  }
  return { certFile: opts.tlsCert, keyFile: opts.tlsKey, ...(opts.clientCa !== undefined ? { clientCaFile: opts.clientCa } : {}) };
}
