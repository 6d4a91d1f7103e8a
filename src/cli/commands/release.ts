/** `drover release start|plan|status|pause|resume|abort|rollback|promote` — thin: parse, call, print. */
import type { Command } from 'commander';
import { errors } from '../../errors.js';
import { awaitAction, planRelease, ReleaseAction, requestAction, startRelease, watchStatus, type StartOptions } from '../../release/operations.js';
import type { Store } from '../../store/store.js';
import { withExitCode } from '../action.js';
import { connect, type ConnectOptions } from '../connect.js';
import { commandGroup } from './index.js';

export { actOnRelease, planRelease, startRelease, watchStatus, type ReleaseAction } from '../../release/operations.js';

const out = (s: string): void => void process.stdout.write(s.endsWith('\n') ? s : `${s}\n`);
const int = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw errors.invalid(`"${v}" is not a positive integer`, 'max-parallel', 'use e.g. --max-parallel 2');
  return n;
};
const rate = (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || n > 100) throw errors.invalid(`"${v}" is not a rate between 0 and 100`, 'probe-rate', 'use e.g. --probe-rate 5 (requests/s per new Prod), or 0 to send no probes');
  return n;
};
const collect = (v: string, prev: string[]) => [...prev, v];

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
    .option('--probe-rate <n>', 'synthetic probe requests/s per new Prod during the bake (default: enough for the gates; 0: none)', rate)
    .option('--probe-path <path>', 'path the probes request (default /)')
    .action(
      withExitCode((fleet: string, o: StartOptions, cmd: Command) =>
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
    rollback: 'Undo the in-flight wave (or the failed wave of a Failed release): its tenants go back to the known-good Prods in one step',
    promote: 'Pass the baking wave now, without waiting for its bake and gates',
  };
  for (const a of ReleaseAction) {
    release
      .command(a)
      .description(help[a])
      .argument('<name>')
      .option('--no-wait', 'return once the request is written, without waiting for the release controller')
      .option('--timeout <seconds>', 'how long to wait for the release controller to act', '30')
      .action(
        withExitCode((name: string, o: { wait: boolean; timeout: string }, cmd: Command) =>
          run(cmd, async (store) => {
            const { already } = await requestAction(store, name, a);
            if (already !== undefined) return void out(already);
            if (!o.wait) return void out(`release.drover.dev/${name} ${a} requested`);
            const res = await awaitAction(store, name, a, { timeoutMs: Number(o.timeout) * 1000 });
            out(res.message);
            return res.ok ? 0 : 1;
          }),
        ),
      );
  }
}
