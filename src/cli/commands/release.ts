/** `drover release start|plan|status|pause|resume|abort|rollback|promote` — thin: parse, call, print. */
import type { Command } from 'commander';
import { API_VERSION } from '../../api/meta.js';
import type { Fleet } from '../../api/kinds/fleet.js';
import type { Prod } from '../../api/kinds/prod.js';
import type { Gate, Release } from '../../api/kinds/release.js';
import { ReleaseSpec } from '../../api/kinds/release.js';
import type { Tenant } from '../../api/kinds/tenant.js';
import { errors, isDroverError } from '../../errors.js';
import { formatPlan, formatStatus, isTerminal } from '../../release/format.js';
import { planWaves, releasableProds } from '../../release/plan-waves.js';
import { mutate } from '../../release/successor.js';
import type { Store } from '../../store/store.js';
import { withExitCode } from '../action.js';
import { connect, type ConnectOptions } from '../connect.js';
import { commandGroup } from './index.js';

const out = (s: string): void => void process.stdout.write(s.endsWith('\n') ? s : `${s}\n`);
const int = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw errors.invalid(`"${v}" is not a positive integer`, 'max-parallel', 'use e.g. --max-parallel 2');
  return n;
};
const collect = (v: string, prev: string[]) => [...prev, v];

interface StartOpts {
  version: string;
  maxParallel?: number;
  bake?: string;
  name?: string;
  autoRollback: boolean;
  env: string[];
  maxErrorRate?: string;
  promql?: string;
  promqlMax?: string;
}

export async function startRelease(store: Store, fleet: string, o: StartOpts): Promise<Release> {
  if (!(await store.get<Fleet>('Fleet', fleet))) throw errors.notFound('Fleet', fleet);
  const gates: Gate[] = [{ type: 'errorRate', max: o.maxErrorRate !== undefined ? Number(o.maxErrorRate) : 0.01, minRequests: 20 }];
  if (o.promql) gates.push({ type: 'promql', query: o.promql, ...(o.promqlMax !== undefined ? { max: Number(o.promqlMax) } : {}) });
  const env = Object.fromEntries(
    o.env.map((kv) => {
      const i = kv.indexOf('=');
      if (i <= 0) throw errors.invalid(`--env "${kv}" is not KEY=VALUE`, 'env', 'use e.g. --env FEATURE_X=on');
      return [kv.slice(0, i), kv.slice(i + 1)];
    }),
  );
  const spec = ReleaseSpec.parse({ fleet, version: o.version, gates, env, autoRollback: o.autoRollback, ...(o.maxParallel ? { maxParallel: o.maxParallel } : {}), ...(o.bake ? { bake: o.bake } : {}) });
  const slug = o.version.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '');
  const base = o.name ?? `${fleet}-${slug}`.slice(0, 60).replace(/-+$/, '');
  for (let i = 1; ; i++) {
    const name = i === 1 ? base : `${base}-${i}`;
    try {
      return await store.create<Release>({ apiVersion: API_VERSION, kind: 'Release', metadata: { name, labels: {}, annotations: {}, finalizers: [], ownerReferences: [] }, spec });
    } catch (e) {
      if (!isDroverError(e, 'DROVER_E_ALREADY_EXISTS') || o.name !== undefined || i >= 20) throw e;
    }
  }
}

export async function planRelease(store: Store, fleet: string, version: string, maxParallel: number): Promise<string> {
  if (!(await store.get<Fleet>('Fleet', fleet))) throw errors.notFound('Fleet', fleet);
  const prods = releasableProds((await store.list<Prod>('Prod')).items, fleet).filter((p) => p.spec.version !== version);
  const tenants = (await store.list<Tenant>('Tenant')).items.filter((t) => t.spec.fleet === fleet);
  return formatPlan(planWaves(prods, tenants, { maxParallel }), fleet, version);
}

const ACTIONS = {
  pause: (r: Release) => void (r.spec.paused = true),
  resume: (r: Release) => void (r.spec.paused = false),
  abort: (r: Release) => void (r.spec.action = 'abort'),
  rollback: (r: Release) => void (r.spec.action = 'rollback'),
  promote: (r: Release) => void (r.spec.action = 'promote'),
} as const;
export type ReleaseAction = keyof typeof ACTIONS;

export async function actOnRelease(store: Store, name: string, action: ReleaseAction): Promise<Release> {
  const r = await mutate<Release>(store, 'Release', name, ACTIONS[action]);
  if (!r) throw errors.notFound('Release', name);
  return r;
}

export async function watchStatus(store: Store, name: string, watch: boolean, write: (s: string) => void, pollMs = 1000): Promise<number> {
  let last = '';
  for (;;) {
    const r = await store.get<Release>('Release', name);
    if (!r) throw errors.notFound('Release', name);
    const text = formatStatus(r);
    if (text !== last) write(watch && last ? `\n${text}` : text);
    last = text;
    if (!watch || isTerminal(r)) return r.status?.phase === 'Succeeded' || !watch ? 0 : 1;
    await new Promise((res) => setTimeout(res, pollMs));
  }
}

export function register(program: Command): void {
  const release = commandGroup(program, 'release', 'Release a fleet to a new version in risk-ordered waves behind gates');
  const run = async (cmd: Command, fn: (store: Store) => Promise<number | void>): Promise<number> => {
    const store = await connect(cmd.optsWithGlobals<ConnectOptions>());
    try {
      return (await fn(store)) ?? 0;
    } finally {
      await store.close();
    }
  };

  release
    .command('start')
    .description('Create a Release of FLEET at --version (waves computed from live tenants)')
    .argument('<fleet>')
    .requiredOption('--version <version>', 'version to release')
    .option('--max-parallel <n>', 'most Prods per wave', int)
    .option('--bake <duration>', 'how long each wave bakes before its gates run (e.g. 30s)')
    .option('--name <name>', 'Release name (default FLEET-VERSION)')
    .option('--no-auto-rollback', 'on a failed gate, stop instead of rolling back')
    .option('--env <KEY=VALUE>', 'extra environment for the new Prods (repeatable)', collect, [])
    .option('--max-error-rate <share>', 'errorRate gate limit, 0-1 (default 0.01)')
    .option('--promql <query>', 'PromQL gate; $prods is replaced by the wave\'s Prod names')
    .option('--promql-max <value>', 'the PromQL gate passes when the value is at most this')
    .action(
      withExitCode((fleet: string, o: StartOpts, cmd: Command) =>
        run(cmd, async (store) => {
          const r = await startRelease(store, fleet, o);
          out(`release.drover.dev/${r.metadata.name} created (fleet ${fleet} → ${o.version}); follow it with: drover release status ${r.metadata.name} -w`);
        }),
      ),
    );

  release
    .command('plan')
    .description('Dry run: the waves a release of FLEET to --version would take, with risk class, Prods, tenants and users')
    .argument('<fleet>')
    .requiredOption('--version <version>', 'version to plan for')
    .option('--max-parallel <n>', 'most Prods per wave', int, 1)
    .action(withExitCode((fleet: string, o: { version: string; maxParallel: number }, cmd: Command) => run(cmd, async (store) => out(await planRelease(store, fleet, o.version, o.maxParallel)))));

  release
    .command('status')
    .description('Waves with progress, the current wave and the last decisions')
    .argument('<name>')
    .option('-w, --watch', 'keep printing until the release ends (exit 1 unless it succeeded)')
    .action(withExitCode((name: string, o: { watch?: boolean }, cmd: Command) => run(cmd, (store) => watchStatus(store, name, o.watch === true, out))));

  const help: Record<ReleaseAction, string> = {
    pause: 'Pause the release after the current step',
    resume: 'Resume a paused release (a baking wave bakes again, then its gates run)',
    abort: 'Stop the release; the in-flight wave is undone, passed waves stay',
    rollback: 'Undo the in-flight wave: its tenants go back to the known-good Prods in one step',
    promote: 'Pass the baking wave now, without waiting for its bake and gates',
  };
  for (const a of Object.keys(ACTIONS) as ReleaseAction[]) {
    release
      .command(a)
      .description(help[a])
      .argument('<name>')
      .action(
        withExitCode((name: string, _o: unknown, cmd: Command) =>
          run(cmd, async (store) => {
            await actOnRelease(store, name, a);
            out(`release.drover.dev/${name} ${a === 'pause' ? 'paused' : a === 'resume' ? 'resumed' : `${a} requested`}`);
          }),
        ),
      );
  }
}
