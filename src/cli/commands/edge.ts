/**
 * `drover edge`: the L7 edge in the foreground until SIGTERM/SIGINT. Follows the traffic plans through
 * the API's watch (`--server`), or reads them from a file (`--plan-file`, no control plane needed).
 */
import type { Command } from 'commander';
import { DroverError } from '../../errors.js';
import { parseHostPort } from '../../runtime/http-io.js';
import { withExitCode } from '../action.js';
import { untilSignal } from '../kit.js';

interface EdgeCommandOptions {
  listen: string;
  adminListen: string;
  fleet?: string[];
  planFile?: string;
  id?: string;
  server?: string;
  token?: string;
  ca?: string;
  cert?: string;
  key?: string;
  responseTimeout: string;
  upstreamIdleTimeout: string;
  headerTimeout: string;
  bodyTimeout: string;
  idleTimeout: string;
  bufferBody: string;
  maxStreamingBodies?: string;
  dataPlane: string;
  haproxyBinary?: string;
}

export function register(program: Command): void {
  program
    .command('edge')
    .description('run the L7 edge: routes requests to Prods as the traffic plans say, with health checks, retries and failover')
    .option('--listen <host:port>', 'address for user traffic (port 0 picks a free one)', '127.0.0.1:8080')
    .option('--admin-listen <host:port>', 'address for /metrics, /stats, /healthz and /plan', '127.0.0.1:0')
    .option('--fleet <name...>', 'fleets to serve (default: all); the first takes requests no tenant matches')
    .option('--plan-file <file>', 'read traffic plans from a YAML/JSON file (re-read on change) instead of the API')
    .option('--id <id>', 'edge instance id reported in /stats')
    .option('--data-plane <edge|haproxy>', 'what executes the plans: the built-in Node edge, or HAProxy driven by the same plans (rendered config, hitless reloads; no admin port)', 'edge')
    .option('--haproxy-binary <path>', 'haproxy to run with --data-plane haproxy (default: haproxy on PATH, /usr/sbin/haproxy)')
    .option('--response-timeout <ms>', 'how long a Prod may take to start answering before the edge answers 504 (0: wait forever; per fleet: TrafficPolicy timeouts.responseMs)', '60000')
    .option('--upstream-idle-timeout <ms>', 'longest pause in a Prod\'s response body before the edge cuts it off (0: wait forever; per fleet: timeouts.upstreamIdleMs)', '300000')
    .option('--header-timeout <ms>', 'how long a client may take to send its request head before the edge answers 408', '10000')
    .option('--body-timeout <ms>', 'how long a client may take to send its request body before the edge answers 408 and aborts the upstream request (0: wait forever; per fleet: timeouts.requestBodyMs)', '30000')
    .option('--idle-timeout <ms>', 'how long an idle client keep-alive connection is kept', '65000')
    .option('--buffer-body <bytes>', 'request bodies up to this size (with a Content-Length) are read whole before going to a Prod, so slow clients hold no Prod connection (0: stream all)', '65536')
    .option('--max-streaming-bodies <n>', 'streamed request bodies one Prod is fed at once; more get 503 (default: a quarter of the connections per Prod)')
    .action(withExitCode(async (opts: EdgeCommandOptions, cmd: Command) => runEdge({ ...cmd.optsWithGlobals<EdgeCommandOptions>(), ...opts })));
}

/** Node's timers overflow (and fire at once) beyond this. */
const MAX_TIMER_MS = 2_147_483_647;

function parseMillis(s: string, flag: string): number {
  const n = Number(s);
  if (!/^\d+$/.test(s.trim()) || !Number.isSafeInteger(n) || n > MAX_TIMER_MS) {
    throw new DroverError('DROVER_E_INVALID', `${flag}: "${s}" is not a whole number of milliseconds up to ${MAX_TIMER_MS}`, { field: flag, fix: `use e.g. ${flag} 30000 (0 waits forever)` });
  }
  return n;
}

function parseCount(s: string, flag: string, min: number): number {
  const n = Number(s);
  if (!/^\d+$/.test(s.trim()) || !Number.isSafeInteger(n) || n < min) {
    throw new DroverError('DROVER_E_INVALID', `${flag}: "${s}" is not a whole number ≥ ${min}`, { field: flag, fix: `use e.g. ${flag} 65536` });
  }
  return n;
}

async function runEdge(opts: EdgeCommandOptions): Promise<number> {
  const { Edge } = await import('../../edge/edge.js');
  const { FilePlanSource, StorePlanSource } = await import('../../edge/plan-source.js');
  const out = (s: string) => process.stdout.write(`${s}\n`);
  const log = (s: string) => process.stderr.write(`edge: ${s}\n`);
  const fleets = opts.fleet ?? [];
  let source;
  let from: string;
  if (opts.planFile) {
    source = new FilePlanSource(opts.planFile, { fleets });
    from = `file ${opts.planFile}`;
  } else {
    const { connect, resolveConnection } = await import('../connect.js');
    const store = await connect(opts);
    source = new StorePlanSource(store, { fleets, log });
    from = `control plane ${resolveConnection(opts).server}`;
  }
  if (opts.dataPlane !== 'edge' && opts.dataPlane !== 'haproxy') {
    throw new DroverError('DROVER_E_INVALID', `--data-plane: "${opts.dataPlane}" is not a data plane`, { field: '--data-plane', fix: 'use --data-plane edge (the default) or --data-plane haproxy' });
  }
  if (opts.dataPlane === 'haproxy') return runHaproxy(opts, source, from, fleets, out, log);
  const edge = new Edge({
    source,
    listen: parseHostPort(opts.listen, '--listen'),
    adminListen: parseHostPort(opts.adminListen, '--admin-listen'),
    ...(opts.id ? { id: opts.id } : {}),
    responseTimeoutMs: parseMillis(opts.responseTimeout, '--response-timeout'),
    upstreamIdleTimeoutMs: parseMillis(opts.upstreamIdleTimeout, '--upstream-idle-timeout'),
    headerTimeoutMs: parseMillis(opts.headerTimeout, '--header-timeout'),
    bodyTimeoutMs: parseMillis(opts.bodyTimeout, '--body-timeout'),
    idleTimeoutMs: parseMillis(opts.idleTimeout, '--idle-timeout'),
    bufferBodyBytes: parseCount(opts.bufferBody, '--buffer-body', 0),
    ...(opts.maxStreamingBodies !== undefined ? { maxStreamingBodiesPerProd: parseCount(opts.maxStreamingBodies, '--max-streaming-bodies', 1) } : {}),
    log,
  });
  const { url, adminUrl } = await edge.start();
  out(`drover edge listening on ${url}`);
  out(`admin: ${adminUrl}/metrics ${adminUrl}/stats?windowMs=60000 ${adminUrl}/healthz ${adminUrl}/plan`);
  out(`plans from ${from}${fleets.length ? ` (fleets: ${fleets.join(', ')})` : ''}`);
  const st = source.status();
  if (!st.connected) out(`warning: no plans yet (${st.lastError ?? 'not connected'}); answering 503 until the first plan arrives`);
  const signal = await untilSignal();
  out(`${signal}: shutting down`);
  await edge.stop();
  return 0;
}

/**
 * `--data-plane haproxy`: HAProxy executes the plans. What the Node edge has and this has not: the admin
 * port (/stats for release gates, drover_edge_* metrics), per-rule differences listed in
 * docs/architecture.md ("Other data planes: HAProxy").
 */
async function runHaproxy(opts: EdgeCommandOptions, source: import('../../edge/plan-source.js').PlanSource, from: string, fleets: string[], out: (s: string) => void, log: (s: string) => void): Promise<number> {
  const { HaproxyEdge } = await import('../../dataplanes/haproxy/index.js');
  const hx = new HaproxyEdge({ source, listen: parseHostPort(opts.listen, '--listen'), ...(opts.haproxyBinary ? { binary: opts.haproxyBinary } : {}), log });
  const url = await hx.start();
  out(`drover edge (data plane: haproxy, pid ${hx.haproxy.pid ?? '?'}) listening on ${url}`);
  out(`config: ${hx.haproxy.configFile} (re-rendered and hitlessly reloaded on every plan change)`);
  out(`plans from ${from}${fleets.length ? ` (fleets: ${fleets.join(', ')})` : ''}`);
  out('note: no admin port with this data plane (no /stats for release gates, no drover_edge_* metrics)');
  const signal = await untilSignal();
  out(`${signal}: shutting down`);
  await hx.stop();
  return 0;
}
