/**
 * Throughput and latency of the Drover edge beside HAProxy and nginx, in one run, same upstreams:
 * two upstream processes (the conformance suite's stand-in Prod), each proxy balancing over both with
 * keep-alive to the upstreams, one worker/thread each (the edge is one Node process). Load from wrk
 * (autocannon when wrk is missing). Prints a table and the ratios; writes bench/results/edge-vs-peers.json.
 *
 *   npx tsx bench/edge-vs-peers.ts [--duration 10] [--connections 32] [--rounds 3] [--haproxy-config hand|rendered]
 *
 * `--haproxy-config rendered` gives HAProxy the config Drover's HAProxy data plane renders from the very
 * plan the edge serves (health checks, observe, retries, X-Forwarded-*, x-drover-prod, the dial/weight
 * rules); the default `hand` is a hand-written config doing the same per-request header work with plain
 * round robin. Both: two upstreams, keep-alive to them (`http-reuse always`), `nbthread 1`.
 *
 * A fourth target, `node-floor-proxy.ts`, is the least any Node.js proxy does (node:http + undici, round
 * robin, nothing else): edge − floor is what the edge's own features cost.
 *
 * Besides req/s and latency it reports each proxy's CPU time per request (its processes' user + system
 * time over the run), which does not depend on how busy the shared machine is.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { stringify } from 'yaml';
import type { TrafficPlanSpec } from '../src/api/kinds/traffic-plan.js';
import { renderHaproxyConfig } from '../src/dataplanes/haproxy/index.js';
import { endpoint, plan, spawnUpstream, type ChildUpstream } from '../test/conformance/edge/harness.js';
import { waitFor } from '../test/helpers/wait-for.js';
import { freePort } from '../src/drivers/local/net.js';
import { numberArg as arg, stringArg } from './lib/args.js';

const root = resolve(import.meta.dirname, '..');
const duration = arg('duration', 10);
const connections = arg('connections', 32);
const rounds = arg('rounds', 3);
const haproxyConfig = stringArg('haproxy-config', 'hand');
if (haproxyConfig !== 'hand' && haproxyConfig !== 'rendered') throw new Error(`--haproxy-config must be hand or rendered, got ${haproxyConfig}`);

interface Result {
  name: string;
  rps: number;
  /** CPU time (user + system) of the proxy's processes per request, in µs; the machine-independent cost. */
  cpuUsPerReq: number | undefined;
  p50: number;
  p99: number;
  errors: number;
}

function has(bin: string): string | undefined {
  for (const p of [`/usr/sbin/${bin}`, `/usr/bin/${bin}`]) if (existsSync(p)) return p;
  const r = spawnSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}


async function waitListening(port: number, what: string): Promise<void> {
  await waitFor(`${what} listening on ${port}`, () =>
    new Promise<boolean>((res) => {
      const c = net.connect(port, '127.0.0.1');
      c.once('connect', () => {
        c.destroy();
        res(true);
      });
      c.once('error', () => res(false));
    }),
  { timeoutMs: 10_000 });
}

function parseWrkMs(v: string, unit: string): number {
  const n = Number(v);
  return unit === 'us' ? n / 1000 : unit === 's' ? n * 1000 : n;
}

/** User + system CPU seconds of a process and its direct children (nginx's worker, HAProxy's). */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  const tick = 100; // USER_HZ on Linux
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    // Fields after "(comm) ": state ppid … utime is the 12th, stime the 13th.
    const f = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
    if (Number(entry) === pid || Number(f[1]) === pid) total += (Number(f[11]) + Number(f[12])) / tick;
  }
  return total;
}

async function load(name: string, url: string, pid?: number): Promise<Result> {
  const wrk = has('wrk');
  // Warm-up: pools filled, JIT warm.
  if (wrk) spawnSync(wrk, ['-t1', `-c${connections}`, '-d2s', url], { encoding: 'utf8' });
  if (wrk) {
    const cpu0 = cpuSeconds(pid);
    const r = spawnSync(wrk, ['-t1', `-c${connections}`, `-d${duration}s`, '--latency', url], { encoding: 'utf8' });
    const cpu = cpuSeconds(pid) - cpu0;
    const out = r.stdout;
    const total = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
    const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
    const p = (q: string) => {
      const m = new RegExp(`\\s${q}%\\s+([\\d.]+)(us|ms|s)`).exec(out);
      return m ? parseWrkMs(m[1]!, m[2]!) : NaN;
    };
    const errs = /Non-2xx or 3xx responses: (\d+)/.exec(out);
    const sockErr = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
    const errors = Number(errs?.[1] ?? 0) + (sockErr ? sockErr.slice(1).reduce((a, b) => a + Number(b), 0) : 0);
    return { name, rps, cpuUsPerReq: pid !== undefined && total > 0 ? (cpu * 1e6) / total : undefined, p50: p('50'), p99: p('99'), errors };
  }
  const specifier = 'autocannon';
  const { default: autocannon } = (await import(specifier)) as { default: (o: object) => Promise<{ requests: { average: number; total: number }; latency: { p50: number; p99: number }; non2xx: number; errors: number }> };
  await autocannon({ url, connections, duration: 2 });
  // autocannon runs in this process, so the proxy's own CPU time is as clean a measure as with wrk.
  const cpu0 = cpuSeconds(pid);
  const r = await autocannon({ url, connections, duration });
  const cpu = cpuSeconds(pid) - cpu0;
  const cpuUsPerReq = pid !== undefined && r.requests.total > 0 ? (cpu * 1e6) / r.requests.total : undefined;
  return { name, rps: r.requests.average, cpuUsPerReq, p50: r.latency.p50, p99: r.latency.p99, errors: r.non2xx + r.errors };
}

function startProc(cmd: string, argv: string[], label: string): ChildProcess {
  const p = spawn(cmd, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  p.stderr.on('data', (c: Buffer) => (err += c.toString()));
  p.on('exit', (code, sig) => {
    if (code !== 0 && sig === null) console.error(`${label} exited with ${code}: ${err}`);
  });
  return p;
}

async function stopProc(p: ChildProcess | undefined): Promise<void> {
  if (!p || p.exitCode !== null || p.signalCode !== null) return;
  const done = new Promise((r) => p.once('exit', r));
  p.kill('SIGKILL');
  await done;
}

interface Target {
  name: string;
  url: string;
  pid: number | undefined;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function startHaproxy(dir: string, ports: number[], edgePlan: TrafficPlanSpec): Promise<{ target: Target; proc: ChildProcess } | undefined> {
  const haproxy = has('haproxy');
  if (!haproxy) {
    console.log('haproxy: not installed (apt-get install haproxy); skipped');
    return undefined;
  }
  const port = await freePort();
  const cfg = join(dir, 'haproxy.cfg');
  // The same per-request work the edge does: X-Forwarded-For/-Proto/-Host to the Prod, the answering
  // Prod's name back to the client, active health checks every second.
  const hand = [
    'global',
    '  nbthread 1',
    '  maxconn 4096',
    'defaults',
    '  mode http',
    '  timeout connect 2s',
    '  timeout client 30s',
    '  timeout server 30s',
    '  option http-keep-alive',
    'frontend fe',
    `  bind 127.0.0.1:${port}`,
    '  option forwardfor',
    '  http-request set-header X-Forwarded-Proto http',
    '  http-request set-header X-Forwarded-Host %[req.hdr(host)]',
    '  default_backend be',
    'backend be',
    '  balance roundrobin',
    '  http-reuse always',
    '  retries 1',
    '  option redispatch',
    '  option httpchk GET /healthz',
    '  http-response set-header x-drover-prod %[srv_name]',
    ...ports.map((p, i) => `  server u${i + 1} 127.0.0.1:${p} check inter 1s fall 2 rise 2`),
    '',
  ].join('\n');
  writeFileSync(cfg, haproxyConfig === 'rendered' ? renderHaproxyConfig(edgePlan, { listen: { host: '127.0.0.1', port }, nbthread: 1, maxconn: 4096 }) : hand);
  const proc = startProc(haproxy, ['-f', cfg, '-db'], 'haproxy');
  await waitListening(port, 'haproxy');
  return { target: { name: 'haproxy', url: `http://127.0.0.1:${port}/`, pid: proc.pid }, proc };
}

async function startNginx(dir: string, ports: number[]): Promise<{ target: Target; proc: ChildProcess } | undefined> {
  const nginx = has('nginx');
  if (!nginx) {
    console.log('nginx: not installed (apt-get install nginx); skipped');
    return undefined;
  }
  const port = await freePort();
  const cfg = join(dir, 'nginx.conf');
  mkdirSync(join(dir, 'nginx'), { recursive: true });
  writeFileSync(
    cfg,
    `worker_processes 1;
daemon off;
pid ${dir}/nginx/nginx.pid;
error_log ${dir}/nginx/error.log;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path ${dir}/nginx/body;
  proxy_temp_path ${dir}/nginx/proxy;
  fastcgi_temp_path ${dir}/nginx/fastcgi;
  uwsgi_temp_path ${dir}/nginx/uwsgi;
  scgi_temp_path ${dir}/nginx/scgi;
  upstream be {
${ports.map((p) => `    server 127.0.0.1:${p} max_fails=1 fail_timeout=1s;`).join('\n')}
    keepalive 64;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://be;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $host;
      add_header x-drover-prod $upstream_addr;
      proxy_next_upstream error timeout;
    }
  }
}
`,
  );
  const proc = startProc(nginx, ['-c', cfg, '-p', join(dir, 'nginx')], 'nginx');
  await waitListening(port, 'nginx');
  return { target: { name: 'nginx', url: `http://127.0.0.1:${port}/`, pid: proc.pid }, proc };
}

function edgePlanFor(ups: ChildUpstream[]): TrafficPlanSpec {
  return plan({
    endpoints: ups.map((u) => endpoint(u.name, u.url, 'local')),
    groups: [{ domain: 'local', trafficDial: 100, endpoints: ups.map((u) => ({ prod: u.name, weight: 100 })) }],
    healthCheck: { path: '/healthz', intervalMs: 1000, timeoutMs: 500, unhealthyThreshold: 2, healthyThreshold: 2 },
  });
}

async function startEdge(dir: string, edgePlan: TrafficPlanSpec): Promise<{ target: Target; proc: ChildProcess }> {
  // As `drover edge --plan-file`, its own process like the others.
  if (!existsSync(join(root, 'dist', 'cli', 'main.js'))) spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  const port = await freePort();
  const planFile = join(dir, 'plan.yaml');
  writeFileSync(planFile, stringify(edgePlan));
  const proc = startProc(process.execPath, [join(root, 'bin', 'drover.js'), 'edge', '--plan-file', planFile, '--listen', `127.0.0.1:${port}`], 'drover edge');
  await waitListening(port, 'drover edge');
  return { target: { name: 'drover edge', url: `http://127.0.0.1:${port}/`, pid: proc.pid }, proc };
}

async function startNodeFloor(ups: ChildUpstream[]): Promise<{ target: Target; proc: ChildProcess }> {
  const port = await freePort();
  const proc = startProc(process.execPath, ['--import', 'tsx', join(root, 'bench', 'node-floor-proxy.ts'), String(port), ...ups.map((u) => u.url)], 'node floor proxy');
  await waitListening(port, 'node floor proxy');
  return { target: { name: 'node floor proxy', url: `http://127.0.0.1:${port}/`, pid: proc.pid }, proc };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'drover-bench-'));
  const ups: ChildUpstream[] = [await spawnUpstream('u1'), await spawnUpstream('u2')];
  const ports = ups.map((u) => Number(new URL(u.url).port));
  const procs: ChildProcess[] = [];
  const runs = new Map<string, Result[]>();
  const tool = has('wrk') ? 'wrk' : 'autocannon';
  console.log(`load: ${tool}, ${connections} connections, ${duration} s per target (after 2 s warm-up), ${rounds} interleaved round(s); upstreams: 2 Node processes; HAProxy config: ${haproxyConfig}; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  try {
    const targets: Target[] = [{ name: 'direct (u1, no proxy)', url: `${ups[0]!.url}/`, pid: ups[0]!.child.pid }];
    // The one plan: the edge serves it, and HAProxy's rendered config comes from it.
    const edgePlan = edgePlanFor(ups);
    for (const started of [await startHaproxy(dir, ports, edgePlan), await startNginx(dir, ports), await startNodeFloor(ups), await startEdge(dir, edgePlan)]) {
      if (!started) continue;
      procs.push(started.proc);
      targets.push(started.target);
    }
    // Rounds interleave the targets so that drift in the machine's load hits all of them alike;
    // each round's ratios compare neighbours in time.
    for (let round = 1; round <= rounds; round++) {
      for (const t of targets) {
        const r = await load(t.name, t.url, t.pid);
        runs.set(t.name, [...(runs.get(t.name) ?? []), r]);
        process.stderr.write(`round ${round}/${rounds} ${t.name}: ${r.rps.toFixed(0)} req/s, p99 ${r.p99.toFixed(2)} ms\n`);
      }
    }
  } finally {
    for (const p of procs) await stopProc(p);
    for (const u of ups) await u.kill('SIGKILL');
  }

  const results: Result[] = [...runs.entries()].map(([name, rs]) => ({
    name,
    rps: median(rs.map((r) => r.rps)),
    cpuUsPerReq: rs.every((r) => r.cpuUsPerReq !== undefined) ? median(rs.map((r) => r.cpuUsPerReq!)) : undefined,
    p50: median(rs.map((r) => r.p50)),
    p99: median(rs.map((r) => r.p99)),
    errors: rs.reduce((a, r) => a + r.errors, 0),
  }));
  const pad = (s: string, n: number) => s.padEnd(n - 1) + ' ';
  console.log(`\nmedians of ${rounds} round(s)`);
  console.log(`${pad('target', 24)}${pad('req/s', 10)}${pad('p50 ms', 10)}${pad('p99 ms', 10)}${pad('CPU µs/req', 12)}errors`);
  for (const r of results) console.log(`${pad(r.name, 24)}${pad(r.rps.toFixed(0), 10)}${pad(r.p50.toFixed(2), 10)}${pad(r.p99.toFixed(2), 10)}${pad(r.cpuUsPerReq?.toFixed(1) ?? '-', 12)}${r.errors}`);
  const edgeRuns = runs.get('drover edge') ?? [];
  const ratios: Record<string, number> = {};
  const perRound: Record<string, number[]> = {};
  for (const peer of ['haproxy', 'nginx', 'node floor proxy']) {
    const peerRuns = runs.get(peer);
    if (!peerRuns || edgeRuns.length === 0) continue;
    const rps = edgeRuns.map((e, i) => e.rps / peerRuns[i]!.rps);
    const p99 = edgeRuns.map((e, i) => e.p99 / peerRuns[i]!.p99);
    const p50 = edgeRuns.map((e, i) => e.p50 / peerRuns[i]!.p50);
    perRound[`edge/${peer} rps`] = rps;
    perRound[`edge/${peer} p99`] = p99;
    ratios[`edge/${peer} rps`] = median(rps);
    ratios[`edge/${peer} p99`] = median(p99);
    ratios[`edge/${peer} p50`] = median(p50);
    const cpu = edgeRuns.map((e, i) => (e.cpuUsPerReq ?? NaN) / (peerRuns[i]!.cpuUsPerReq ?? NaN));
    if (cpu.every(Number.isFinite)) ratios[`edge/${peer} CPU/req`] = median(cpu);
  }
  console.log(`\nratios (median of per-round ratios; each round's in brackets)`);
  for (const [k, v] of Object.entries(ratios)) console.log(`${pad(k, 32)}${v.toFixed(2)}${perRound[k] ? `  [${perRound[k].map((x) => x.toFixed(2)).join(', ')}]` : ''}`);
  const hr = ratios['edge/haproxy rps'];
  const hp = ratios['edge/haproxy p99'];
  if (hr !== undefined && hp !== undefined) console.log(`\ntargets: rps ≥ 50% of HAProxy: ${hr >= 0.5 ? 'met' : 'MISSED'}; p99 ≤ 2× HAProxy: ${hp <= 2 ? 'met' : 'MISSED'}`);
  console.log(`load average after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const out = join(root, 'bench', 'results', 'edge-vs-peers.json');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify({ at: new Date().toISOString(), tool, connections, durationS: duration, rounds, haproxyConfig, loadavg: loadavg(), results, runs: Object.fromEntries(runs), ratios, perRound }, null, 2));
}

await main();
