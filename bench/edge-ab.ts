/**
 * The edge's CPU per request, two checkouts in one process: another checkout's `Edge` (e.g. main's, in a
 * temporary `git worktree add /tmp/edge-base main`) and this one's, same upstream, loads alternated round
 * by round (ABBA order), so the machine's drift hits both alike. Steadier than comparing separate runs of
 * `edge-cpu.ts` on a shared machine; the idle edge's health checks are counted against both equally.
 *
 *   npx tsx bench/edge-ab.ts --base /tmp/edge-base [--rounds 6] [--seconds 6] [--connections 16]
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Edge } from '../src/edge/edge.js';
import { StaticPlanSource } from '../src/edge/plan-source.js';
import { endpoint, plan, spawnUpstream } from '../test/conformance/edge/harness.js';

const args = process.argv.slice(2);
const opt = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : def;
};
const baseRoot = resolve(opt('base', '/tmp/edge-base'));
const rounds = Number(opt('rounds', '6'));
const seconds = Number(opt('seconds', '6'));
const connections = opt('connections', '16');
const root = resolve(import.meta.dirname, '..');

const Base = ((await import(pathToFileURL(join(baseRoot, 'src', 'edge', 'edge.ts')).href)) as { Edge: typeof Edge }).Edge;
const up = await spawnUpstream('a1');
const p = plan({
  endpoints: [endpoint('a1', up.url, 'tokyo')],
  groups: [{ domain: 'tokyo', trafficDial: 100, endpoints: [{ prod: 'a1', weight: 1 }] }],
  healthCheck: { path: '/healthz', intervalMs: 1000, timeoutMs: 2000, unhealthyThreshold: 10, healthyThreshold: 1 },
});
const edges = {
  base: new Base({ source: new StaticPlanSource([p]), listen: { host: '127.0.0.1', port: 0 }, adminListen: false }),
  this: new Edge({ source: new StaticPlanSource([p]), listen: { host: '127.0.0.1', port: 0 }, adminListen: false }),
};
const urls = { base: (await edges.base.start()).url, this: (await edges.this.start()).url };

async function load(url: string, d: number): Promise<number> {
  const c = spawn(join(root, 'node_modules', '.bin', 'autocannon'), ['-c', connections, '-d', String(d), '-j', url + '/'], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  c.stdout.on('data', (x: Buffer) => (out += x.toString()));
  await once(c, 'exit');
  return (JSON.parse(out) as { requests: { total: number } }).requests.total;
}

await load(urls.base, 2); // warm-up: pools filled, JIT warm
await load(urls.this, 2);
const us: Record<'base' | 'this', number[]> = { base: [], this: [] };
for (let i = 0; i < rounds; i++) {
  for (const k of i % 2 ? (['this', 'base'] as const) : (['base', 'this'] as const)) {
    const c0 = process.cpuUsage();
    const n = await load(urls[k], seconds);
    const c = process.cpuUsage(c0);
    us[k].push((c.user + c.system) / n);
    console.log(`round ${i + 1} ${k}: ${n} requests, ${us[k].at(-1)!.toFixed(1)} µs/request`);
  }
}
const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
console.log(`median µs/request: base ${median(us.base).toFixed(1)}, this ${median(us.this).toFixed(1)}, this ÷ base ${(median(us.this) / median(us.base)).toFixed(2)}`);
console.log(`min µs/request: base ${Math.min(...us.base).toFixed(1)}, this ${Math.min(...us.this).toFixed(1)}`);
await edges.base.stop();
await edges.this.stop();
await up.kill('SIGKILL');
