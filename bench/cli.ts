/**
 * CLI start-up benchmark (issue 19): wall time of `drover version`, `drover get clusters` and
 * `drover get tenants` with 10,000 tenants against a local server, side by side with `kubectl version
 * --client` and with a bare `node -e 0` (the floor every Node CLI pays on this machine), and the exit
 * code of each (plus two failing commands, which must exit 1).
 *
 * Run: `npx tsc -p tsconfig.build.json && npx tsx bench/cli.ts [--runs 10] [--tenants 10000]
 * [--before /path/to/other/checkout]` — `--before` adds the same drover commands from another checkout's
 * bin/drover.js (built), for a before/after in one sitting. Uses hyperfine when it is installed (-N, no
 * shell), else a loop of spawns; reports median, min and max in ms.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { startDroverServer } from './lib/drover-server.js';
import { RemoteStore } from '../src/client/remote-store.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '10' },
    tenants: { type: 'string', default: '10000' },
    before: { type: 'string' },
  },
});
const RUNS = Number(values.runs);
const TENANTS = Number(values.tenants);
const root = resolve(import.meta.dirname, '..');
const node = process.execPath;
const kubectl = '/usr/bin/kubectl';

async function startServer(dataDir: string): Promise<{ url: string; token: string; stop: () => Promise<void> }> {
  // The CLI reads this token from the config a user's server writes; here it is passed as DROVER_TOKEN.
  const token = randomBytes(16).toString('hex');
  const server = await startDroverServer({ dataDir, token, root, args: ['--no-controllers', '--backend', 'memory'], stderr: 'inherit' });
  return { url: server.url, token, stop: () => server.stop() };
}

async function populate(store: RemoteStore, tenants: number): Promise<void> {
  const meta = (name: string) => ({ name, labels: {}, annotations: {}, finalizers: [], ownerReferences: [] });
  await store.create({ apiVersion: 'drover.dev/v1alpha1', kind: 'Cluster', metadata: meta('local-a'), spec: { provider: 'local', region: 'here' } } as never);
  await store.create({ apiVersion: 'drover.dev/v1alpha1', kind: 'Fleet', metadata: meta('web'), spec: { prods: 0, version: 'v1', app: { command: 'node' } } } as never);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < tenants; i = next++) {
      await store.create({ apiVersion: 'drover.dev/v1alpha1', kind: 'Tenant', metadata: meta(`t-${String(i).padStart(5, '0')}`), spec: { fleet: 'web', users: 1 + (i % 50) } } as never);
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
}

interface Case {
  name: string;
  argv: string[];
}

interface Figure {
  name: string;
  medianMs: number;
  minMs: number;
  maxMs: number;
  /** Mean user+system CPU of the process (hyperfine only): less sensitive than wall time to a loaded machine. */
  cpuMs: number | undefined;
  exitCode: number | null;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function measureWithLoop(c: Case, env: NodeJS.ProcessEnv): number[] {
  const times: number[] = [];
  spawnSync(c.argv[0]!, c.argv.slice(1), { env, stdio: 'ignore' }); // warm-up (page cache)
  for (let i = 0; i < RUNS; i++) {
    const t = process.hrtime.bigint();
    spawnSync(c.argv[0]!, c.argv.slice(1), { env, stdio: 'ignore' });
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return times;
}

function measureWithHyperfine(cases: Case[], env: NodeJS.ProcessEnv): Map<string, { times: number[]; cpuMs: number }> | undefined {
  if (spawnSync('hyperfine', ['--version']).status !== 0) return undefined;
  const dir = mkdtempSync(join(os.tmpdir(), 'drover-bench-cli-'));
  const file = join(dir, 'hf.json');
  const quote = (a: string) => (/^[\w./:=@-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
  const r = spawnSync('hyperfine', ['-N', '--warmup', '1', '--runs', String(RUNS), '-i', '--export-json', file, ...cases.flatMap((c) => ['-n', c.name, c.argv.map(quote).join(' ')])], {
    env,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (r.status !== 0) return undefined;
  const results = (JSON.parse(readFileSync(file, 'utf8')) as { results: { command: string; times: number[]; user: number; system: number }[] }).results;
  rmSync(dir, { recursive: true, force: true });
  return new Map(results.map((x) => [x.command, { times: x.times.map((t) => t * 1000), cpuMs: (x.user + x.system) * 1000 }]));
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(os.tmpdir(), 'drover-bench-cli-'));
  const server = await startServer(dataDir);
  const store = new RemoteStore({ server: server.url, token: server.token });
  const t0 = Date.now();
  await populate(store, TENANTS);
  await store.close();
  process.stderr.write(`server ${server.url}: ${TENANTS} tenants created in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  const env = { ...process.env, DROVER_SERVER: server.url, DROVER_TOKEN: server.token, DROVER_CONFIG: join(dataDir, 'no-config.yaml') };
  const drover = (bin: string, label: string): Case[] => [
    { name: `${label}version`, argv: [node, bin, 'version'] },
    { name: `${label}get clusters`, argv: [node, bin, 'get', 'clusters'] },
    { name: `${label}get tenants (${TENANTS})`, argv: [node, bin, 'get', 'tenants'] },
  ];
  const cases: Case[] = [
    { name: 'node -e 0', argv: [node, '-e', '0'] },
    { name: 'kubectl version --client', argv: [kubectl, 'version', '--client'] },
    ...drover(join(root, 'bin', 'drover.js'), 'drover '),
    ...(values.before ? drover(join(resolve(values.before), 'bin', 'drover.js'), 'before: drover ') : []),
  ];
  const failing: Case[] = [
    { name: 'drover get nosuchkind (exit 1 expected)', argv: [node, join(root, 'bin', 'drover.js'), 'get', 'nosuchkind'] },
    { name: 'drover get cluster nope (exit 1 expected)', argv: [node, join(root, 'bin', 'drover.js'), 'get', 'cluster', 'nope'] },
  ];
  const load = [os.loadavg()[0]!.toFixed(1)];
  const hf = measureWithHyperfine(cases, env);
  const figures: Figure[] = [];
  for (const c of [...cases, ...failing]) {
    const h = hf?.get(c.name);
    const times = h?.times ?? measureWithLoop(c, env);
    const exitCode = spawnSync(c.argv[0]!, c.argv.slice(1), { env, stdio: 'ignore' }).status;
    figures.push({ name: c.name, medianMs: median(times), minMs: Math.min(...times), maxMs: Math.max(...times), cpuMs: h?.cpuMs, exitCode });
  }
  load.push(os.loadavg()[0]!.toFixed(1));
  await server.stop();
  rmSync(dataDir, { recursive: true, force: true });
  const ms = (n: number) => n.toFixed(0);
  console.log(`${RUNS} runs each (${hf ? 'hyperfine -N' : 'spawn loop'}), ${os.cpus().length} cores, load ${load.join(' → ')}, node ${process.version}\n`);
  console.log('| command | median ms | min ms | max ms | CPU ms (user+sys) | exit code |');
  console.log('|---|--:|--:|--:|--:|--:|');
  for (const f of figures) console.log(`| ${f.name} | ${ms(f.medianMs)} | ${ms(f.minMs)} | ${ms(f.maxMs)} | ${f.cpuMs === undefined ? '—' : ms(f.cpuMs)} | ${f.exitCode} |`);
}

await main();
