/**
 * Throughput and latency of the Drover edge beside HAProxy and nginx, in one run, same upstreams:
 * two upstream processes (the conformance suite's stand-in Prod), each proxy balancing over both with
 * keep-alive to the upstreams, one worker/thread each (the edge is one Node process). Load from wrk
 * (autocannon when wrk is missing). Prints a table and the ratios; writes bench/results/edge-vs-peers.json.
 *
 *   npx tsx bench/edge-vs-peers.ts [--duration 10] [--connections 32] [--haproxy-config minimal|rendered]
 *
 * `--haproxy-config rendered` gives HAProxy the config Drover's HAProxy data plane renders from the very
 * plan the edge serves (so "configured the same way" is literal: health checks, observe, retries,
 * X-Forwarded-*, x-drover-prod); the default `minimal` is the hand-written config earlier figures used.
 * Both: two upstreams, keep-alive to them (`http-reuse always`), `nbthread 1`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { renderHaproxyConfig } from '../src/dataplanes/haproxy/index.js';
import { endpoint, plan, spawnUpstream, waitFor, type ChildUpstream } from '../test/conformance/edge/harness.js';

const root = resolve(import.meta.dirname, '..');
const args = process.argv.slice(2);
const arg = (name: string, def: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const duration = arg('duration', 10);
const connections = arg('connections', 32);
const haproxyConfigIdx = args.indexOf('--haproxy-config');
const haproxyConfig = haproxyConfigIdx >= 0 ? args[haproxyConfigIdx + 1] : 'minimal';
if (haproxyConfig !== 'minimal' && haproxyConfig !== 'rendered') throw new Error(`--haproxy-config must be minimal or rendered, got ${haproxyConfig}`);

interface Result {
  name: string;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

function has(bin: string): string | undefined {
  for (const p of [`/usr/sbin/${bin}`, `/usr/bin/${bin}`]) if (existsSync(p)) return p;
  const r = spawnSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
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
  10_000);
}

function parseWrkMs(v: string, unit: string): number {
  const n = Number(v);
  return unit === 'us' ? n / 1000 : unit === 's' ? n * 1000 : n;
}

async function load(name: string, url: string): Promise<Result> {
  const wrk = has('wrk');
  // Warm-up: pools filled, JIT warm.
  if (wrk) spawnSync(wrk, ['-t1', `-c${connections}`, '-d2s', url], { encoding: 'utf8' });
  if (wrk) {
    const r = spawnSync(wrk, ['-t1', `-c${connections}`, `-d${duration}s`, '--latency', url], { encoding: 'utf8' });
    const out = r.stdout;
    const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
    const p = (q: string) => {
      const m = new RegExp(`\\s${q}%\\s+([\\d.]+)(us|ms|s)`).exec(out);
      return m ? parseWrkMs(m[1]!, m[2]!) : NaN;
    };
    const errs = /Non-2xx or 3xx responses: (\d+)/.exec(out);
    const sockErr = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
    const errors = Number(errs?.[1] ?? 0) + (sockErr ? sockErr.slice(1).reduce((a, b) => a + Number(b), 0) : 0);
    return { name, rps, p50: p('50'), p99: p('99'), errors };
  }
  const specifier = 'autocannon';
  const { default: autocannon } = (await import(specifier)) as { default: (o: object) => Promise<{ requests: { average: number }; latency: { p50: number; p99: number }; non2xx: number; errors: number }> };
  await autocannon({ url, connections, duration: 2 });
  const r = await autocannon({ url, connections, duration });
  return { name, rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.non2xx + r.errors };
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

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'drover-bench-'));
  const ups: ChildUpstream[] = [await spawnUpstream('u1'), await spawnUpstream('u2')];
  const ports = ups.map((u) => Number(new URL(u.url).port));
  const procs: ChildProcess[] = [];
  const results: Result[] = [];
  const tool = has('wrk') ? 'wrk' : 'autocannon';
  console.log(`load: ${tool}, ${connections} connections, ${duration} s per target (after 2 s warm-up); upstreams: 2 Node processes; HAProxy config: ${haproxyConfig}`);
  // The one plan: the edge serves it, and HAProxy's rendered config comes from it.
  const edgePlan = plan({
    endpoints: ups.map((u) => endpoint(u.name, u.url, 'local')),
    groups: [{ domain: 'local', trafficDial: 100, endpoints: ups.map((u) => ({ prod: u.name, weight: 100 })) }],
    healthCheck: { path: '/healthz', intervalMs: 1000, timeoutMs: 500, unhealthyThreshold: 2, healthyThreshold: 2 },
  });
  try {
    // Baseline: one upstream directly.
    results.push(await load('direct (u1, no proxy)', `${ups[0]!.url}/`));

    // HAProxy
    const haproxy = has('haproxy');
    if (haproxy) {
      const port = await freePort();
      const cfg = join(dir, 'haproxy.cfg');
      writeFileSync(
        cfg,
        haproxyConfig === 'rendered'
          ? renderHaproxyConfig(edgePlan, { listen: { host: '127.0.0.1', port }, nbthread: 1, maxconn: 4096 })
          : [
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
            '  default_backend be',
            'backend be',
            '  balance roundrobin',
            '  http-reuse always',
            '  option httpchk GET /healthz',
            ...ports.map((p, i) => `  server u${i + 1} 127.0.0.1:${p} check inter 1s fall 2 rise 2`),
            '',
          ].join('\n'),
      );
      const p = startProc(haproxy, ['-f', cfg, '-db'], 'haproxy');
      procs.push(p);
      await waitListening(port, 'haproxy');
      results.push(await load('haproxy', `http://127.0.0.1:${port}/`));
      await stopProc(p);
    } else console.log('haproxy: not installed (apt-get install haproxy); skipped');

    // nginx
    const nginx = has('nginx');
    if (nginx) {
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
      proxy_next_upstream error timeout;
    }
  }
}
`,
      );
      const p = startProc(nginx, ['-c', cfg, '-p', join(dir, 'nginx')], 'nginx');
      procs.push(p);
      await waitListening(port, 'nginx');
      results.push(await load('nginx', `http://127.0.0.1:${port}/`));
      await stopProc(p);
    } else console.log('nginx: not installed (apt-get install nginx); skipped');

    // Drover edge, as `drover edge --plan-file` (its own process, as the others).
    if (!existsSync(join(root, 'dist', 'cli', 'main.js'))) spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
    const port = await freePort();
    const planFile = join(dir, 'plan.yaml');
    writeFileSync(planFile, stringify(edgePlan));
    const edge = startProc(process.execPath, [join(root, 'bin', 'drover.js'), 'edge', '--plan-file', planFile, '--listen', `127.0.0.1:${port}`], 'drover edge');
    procs.push(edge);
    await waitListening(port, 'drover edge');
    results.push(await load('drover edge', `http://127.0.0.1:${port}/`));
    await stopProc(edge);
  } finally {
    for (const p of procs) await stopProc(p);
    for (const u of ups) await u.kill('SIGKILL');
  }

  const pad = (s: string, n: number) => s.padEnd(n);
  console.log(`\n${pad('target', 24)}${pad('req/s', 10)}${pad('p50 ms', 10)}${pad('p99 ms', 10)}errors`);
  for (const r of results) console.log(`${pad(r.name, 24)}${pad(r.rps.toFixed(0), 10)}${pad(r.p50.toFixed(2), 10)}${pad(r.p99.toFixed(2), 10)}${r.errors}`);
  const by = (n: string) => results.find((r) => r.name === n);
  const e = by('drover edge');
  const ratios: Record<string, number> = {};
  for (const peer of ['haproxy', 'nginx']) {
    const p = by(peer);
    if (!e || !p) continue;
    ratios[`edge/${peer} rps`] = e.rps / p.rps;
    ratios[`edge/${peer} p99`] = e.p99 / p.p99;
    ratios[`edge/${peer} p50`] = e.p50 / p.p50;
  }
  console.log('');
  for (const [k, v] of Object.entries(ratios)) console.log(`${pad(k, 24)}${v.toFixed(2)}`);
  const h = by('haproxy');
  if (e && h) {
    console.log(`\ntargets: rps ≥ 50% of HAProxy: ${e.rps / h.rps >= 0.5 ? 'met' : 'MISSED'}; p99 ≤ 2× HAProxy: ${e.p99 / h.p99 <= 2 ? 'met' : 'MISSED'}`);
  }
  const out = join(root, 'bench', 'results', 'edge-vs-peers.json');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify({ at: new Date().toISOString(), tool, connections, durationS: duration, haproxyConfig, results, ratios }, null, 2));
}

await main();
