/** `drover up [FILE]`: the whole system on this machine (library: src/up/supervisor.ts). */
import type { Command } from 'commander';
import type { UpSupervisor } from '../../up/supervisor.js';
import { withExitCode } from '../action.js';
import { configPath, writeConfig } from '../config.js';
import { untilSignal, withStore } from '../kit.js';

interface UpCliOptions {
  data: string;
  port: string | number;
  edgePort: string | number;
  writeConfig: boolean;
  readyTimeout: string | number;
  prometheusUrl?: string;
  legacyPort?: string;
  legacy: boolean;
  ha?: boolean;
  leaseTtl?: number;
}

/** What this command needs of either supervisor. */
type Up = Pick<UpSupervisor, 'start' | 'stop' | 'waitForProds' | 'apiUrl' | 'token' | 'edgeUrl' | 'edgeAdminUrl'> & { readonly legacyUrl?: string | undefined };

// A literal rather than an import: the control plane loads only when this command runs (same value as
// store/open-store.ts).
const DEFAULT_DATA_DIR = '.drover';

export function register(program: Command): void {
  program
    .command('up')
    .description('run everything here: control plane, the local clusters of FILE as agents, the edge, the example fleet; Ctrl-C stops it all, while after a crash the agents, Prods and edge keep serving and the next `drover up` on the same --data adopts them')
    .argument('[file]', 'clusters file: multi-document YAML as for `drover apply`; Clusters with provider local are started (default: the shipped examples/drover-up.yaml)')
    .option('--data <dir>', 'data directory (store, tokens, agent state, logs)', DEFAULT_DATA_DIR)
    .option('--port <port>', 'API server port (0 picks a free one: the previous run\'s when it left agents or an edge to adopt)', '7400')
    .option('--edge-port <port>', 'edge (L7 proxy) port (0 picks a free one: the previous run\'s edge\'s when it is adopted)', '8080')
    .option('--no-write-config', 'do not write the CLI config file')
    .option('--prometheus-url <url>', 'Prometheus base URL for release gates written in PromQL')
    .option('--legacy-port <port>', 'port of the example legacy backend for migrations (0: a free one; default 8090 with the shipped example file, none with your own file unless given)')
    .option('--no-legacy', 'do not start the example legacy backend')
    .option('--ready-timeout <ms>', 'how long to wait for every Prod to be Ready before printing the summary', '60000')
    .option('--ha', 'a highly available control plane: a 3-member etcd and 3 server replicas, one elected to run the controllers (kill the leader to watch the hand-over)')
    .option('--lease-ttl <ms>', 'with --ha: the leader lease TTL of the replicas (default 3s)')
    .action(withExitCode(async (file: string | undefined, opts: UpCliOptions) => runUp(file, opts)));
}

async function runUp(fileArg: string | undefined, opts: UpCliOptions): Promise<number> {
  const [{ UpSupervisor }, { defaultUpFilePath }] = await Promise.all([import('../../up/supervisor.js'), import('../../up/up-file.js')]);
  const out = (s: string) => process.stdout.write(`${s}\n`);
  const up: Up = opts.ha ? new (await import('../../up/ha-up.js')).HaUp({
    file: fileArg ?? defaultUpFilePath(),
    dataDir: opts.data,
    port: Number(opts.port),
    edgePort: Number(opts.edgePort),
    out,
    ...(process.env.DROVER_TOKEN ? { envToken: process.env.DROVER_TOKEN } : {}),
    ...(opts.leaseTtl !== undefined ? { leaseTtlMs: Number(opts.leaseTtl) } : {}),
  }) : new UpSupervisor({
    file: fileArg ?? defaultUpFilePath(),
    dataDir: opts.data,
    port: Number(opts.port),
    edgePort: Number(opts.edgePort),
    out,
    ...(process.env.DROVER_TOKEN ? { envToken: process.env.DROVER_TOKEN } : {}),
    ...(opts.prometheusUrl ? { prometheusUrl: opts.prometheusUrl } : {}),
    // The shipped example's commented Migration names the legacy backend at 8090.
    ...(opts.legacy && (opts.legacyPort !== undefined || fileArg === undefined) ? { legacyPort: Number(opts.legacyPort ?? 8090) } : {}),
  });
  const signal = untilSignal();
  try {
    await Promise.race([up.start(), signal]);
    if (opts.writeConfig && up.token) out(`CLI config written to ${writeConfig({ server: up.apiUrl, token: up.token }, configPath())}`);
    const ready = await Promise.race([up.waitForProds(Number(opts.readyTimeout)), signal.then(() => false)]);
    if (!ready) out(`not every Prod is Ready after ${opts.readyTimeout}ms; see \`drover describe prod NAME\``);
    await printSummary(up, out, opts.ha ?? false);
    out('drover up is running; Ctrl-C stops everything');
    const why = await signal;
    out(`${why}: stopping the edge, the agents and their Prods, then the control plane`);
  } finally {
    await up.stop();
  }
  out('stopped');
  return 0;
}

async function printSummary(up: Up, out: (s: string) => void, ha: boolean): Promise<void> {
  const [{ tenantCurlLines }, { renderList }] = await Promise.all([import('../../up/tenant-hints.js'), import('../format/render.js')]);
  await withStore({ server: up.apiUrl, ...(up.token ? { token: up.token } : {}) }, async (store) => {
    const tenants = (await store.list('Tenant')).items;
    const prods = await store.list('Prod');
    out('');
    out(`API:  ${up.apiUrl}`);
    if (ha) out('leader: `drover get leader` (ask every replica: --server URL,URL,URL)');
    out(`edge: ${up.edgeUrl ?? '(not running)'}`);
    if (up.edgeAdminUrl) out(`edge admin: ${up.edgeAdminUrl}`);
    if (up.legacyUrl) out(`legacy: ${up.legacyUrl} (example legacy backend; drover migration start web --legacy ${up.legacyUrl})`);
    if (up.edgeUrl) {
      out('tenants:');
      for (const l of tenantCurlLines(tenants, up.edgeUrl)) out(`  ${l}`);
    }
    out('');
    process.stdout.write(renderList('Prod', prods.items, 'table', prods.resourceVersion));
    out('');
  });
}
