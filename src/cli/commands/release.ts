/** `drover release start|plan|status|pause|resume|abort|rollback|promote`: options, then library calls (src/release/operations.ts). */
import type { Command } from 'commander';
import type { ReleaseAction, StartOptions } from '../../release/operations.js';
import { withExitCode } from '../action.js';
import { outputOption, renderResult } from '../format/output.js';
import { out, withStore } from '../kit.js';
import { commandGroup } from './group.js';

const collect = (v: string, prev: string[]) => [...prev, v];
const operations = () => import('../../release/operations.js');

type Output = { output?: string };

const actionHelp: Record<ReleaseAction, string> = {
  pause: 'Pause the release after the current step',
  resume: 'Resume a paused release (a baking wave bakes again, then its gates run)',
  abort: 'Stop the release; the in-flight wave is undone, passed waves stay',
  rollback: 'Undo the in-flight wave (or the failed wave of a Failed release): its tenants go back to the known-good Prods in one step',
  promote: 'Pass the baking wave now, without waiting for its bake and gates',
};

export function register(program: Command): void {
  const release = commandGroup(program, 'release', 'Release a fleet to a new version in risk-ordered waves behind gates');

  release
    .command('start')
    .description('Create a Release of FLEET at --version (waves computed from live tenants)')
    .argument('<fleet>')
    .requiredOption('--version <version>', 'version to release')
    .option('--max-parallel <n>', 'most Prods per wave')
    .option('--bake <duration>', 'how long each wave bakes before its gates run (e.g. 30s)')
    .option('--name <name>', 'Release name (default FLEET-VERSION)')
    .option('--no-auto-rollback', 'on a failed gate, stop instead of rolling back')
    .option('--env <KEY=VALUE>', 'extra environment for the new Prods (repeatable)', collect, [])
    .option('--max-error-rate <share>', 'errorRate gate limit, 0-1 (default 0.01)')
    .option('--promql <query>', 'PromQL gate; $prods is replaced by the wave\'s Prod names')
    .option('--promql-max <value>', 'the PromQL gate passes when the value is at most this')
    .option('--probe-rate <n>', 'synthetic probe requests/s per new Prod during the bake (default: enough for the gates; 0: none)')
    .option('--probe-path <path>', 'path the probes request (default /)')
    .addOption(outputOption())
    .action(
      withExitCode((fleet: string, o: StartOptions & Output, cmd: Command) =>
        withStore(cmd, async (store) => {
          const r = await (await operations()).startRelease(store, fleet, o);
          out(renderResult(o.output, {
            data: r,
            names: () => [`release/${r.metadata.name}`],
            text: () => `release.drover.dev/${r.metadata.name} created (fleet ${fleet} → ${o.version}); follow it with: drover release status ${r.metadata.name} -w`,
          }));
        }),
      ),
    );

  release
    .command('plan')
    .description('Dry run: the waves a release of FLEET to --version would take, with risk class, Prods, tenants and users')
    .argument('<fleet>')
    .requiredOption('--version <version>', 'version to plan for')
    .option('--max-parallel <n>', 'most Prods per wave (default 1)')
    .addOption(outputOption())
    .action(
      withExitCode((fleet: string, o: { version: string; maxParallel?: number } & Output, cmd: Command) =>
        withStore(cmd, async (store) => {
          const plan = await (await operations()).planRelease(store, fleet, o.version, o.maxParallel ?? 1);
          const { formatPlan, planDocument } = await import('../format/release.js');
          out(renderResult(o.output, {
            data: planDocument(plan, fleet, o.version),
            names: () => plan.waves.flatMap((w) => w.prods.map((p) => `prod/${p}`)),
            text: () => formatPlan(plan, fleet, o.version),
          }));
        }),
      ),
    );

  release
    .command('status')
    .description('Waves with progress, the current wave and the last decisions')
    .argument('<name>')
    .option('-w, --watch', 'keep printing until the release ends (exit 1 unless it succeeded); piped, one line per change')
    .addOption(outputOption())
    .action(
      withExitCode((name: string, o: { watch?: boolean } & Output, cmd: Command) =>
        withStore(cmd, async (store) => {
          const { watchStatus } = await import('../release-status.js');
          return watchStatus(store, name, o.watch === true, (s) => process.stdout.write(s), 1000, {
            ...(o.output !== undefined ? { format: o.output } : {}),
            tty: process.stdout.isTTY === true,
          });
        }),
      ),
    );

  for (const a of Object.keys(actionHelp) as ReleaseAction[]) {
    release
      .command(a)
      .description(actionHelp[a])
      .argument('<name>')
      .option('--no-wait', 'return once the request is written, without waiting for the release controller')
      .option('--timeout <seconds>', 'how long to wait for the release controller to act', '30')
      .addOption(outputOption())
      .action(
        withExitCode((name: string, o: { wait: boolean; timeout: number | string } & Output, cmd: Command) =>
          withStore(cmd, async (store) => {
            const ops = await operations();
            const { release: requested, already } = await ops.requestAction(store, name, a);
            const print = (r: typeof requested, text: string) =>
              out(renderResult(o.output, { data: r, names: () => [`release/${name}`], text: () => text }));
            if (already !== undefined) return void print(requested, already);
            if (!o.wait) return void print(requested, `release.drover.dev/${name} ${a} requested`);
            const res = await ops.awaitAction(store, name, a, { timeoutMs: Number(o.timeout) * 1000 });
            print(res.release, res.message);
            return res.ok ? 0 : 1;
          }),
        ),
      );
  }
}
