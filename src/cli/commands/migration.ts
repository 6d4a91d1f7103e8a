/** `drover migration start|plan|status|pause|resume|abort|promote`: options, then library calls (src/cli/migration-operations.ts). */
import type { Command } from 'commander';
import type { MigrationAction, StartMigrationOptions } from '../migration-operations.js';
import { withExitCode } from '../action.js';
import { outputOption, renderResult } from '../format/output.js';
import { out, withStore } from '../kit.js';
import { commandGroup } from './group.js';

const collect = (v: string, prev: string[]) => [...prev, v];
const operations = () => import('../migration-operations.js');

type Output = { output?: string };

const actionHelp: Record<MigrationAction, string> = {
  pause: 'Hold the migration at its current weight',
  resume: 'Resume a paused migration (the step bakes again, then its gates run); also clears a hold after an inconclusive gate or an ALB error',
  abort: 'Stop the migration and put every selected user back on legacy at once (0 %)',
  promote: 'Pass the current step now, without waiting for its bake and gates',
};

/** The flags `start` and `plan` share: what the migration selects and how it steps. */
function selectionFlags(c: Command): Command {
  return c
    .option('--mode <mode>', 'percent (a share of each tenant\'s users) or tenants (whole tenants, in risk order)')
    .option('--steps <list>', 'share (%) of the selected users on the fleet after each step, e.g. 1,10,30,50,100')
    .option('--tenants <names>', 'only these tenants (comma-separated); default every tenant of the fleet')
    .option('--selector <labels>', 'only the tenants with these labels (KEY=VALUE[,KEY=VALUE])');
}

export function register(program: Command): void {
  const migration = commandGroup(program, 'migration', 'Move users from a legacy backend onto a fleet in gated steps (on the edge or an ALB)');

  selectionFlags(
    migration
      .command('start')
      .description('Create a Migration of FLEET\'s users from the legacy backend at --legacy URL')
      .argument('<fleet>')
      .option('--legacy <url...>', 'URL(s) of the legacy backend (repeatable)', collect, [])
      .option('--health-path <path>', 'health check path of the legacy endpoints (default /healthz)'),
  )
    .option('--bake <duration>', 'how long each step bakes before its gates run (e.g. 30s)')
    .option('--affinity <key>', 'what keeps a user on its side: cookie (default) or clientIp')
    .option('--max-error-rate <share>', 'errorRate gate limit on the fleet side, 0-1 (default 0.01)')
    .option('--max-ratio-to-legacy <ratio>', 'errorRate gate: at most this many times the legacy side\'s error rate')
    .option('--name <name>', 'Migration name (default FLEET-migration)')
    .option('--paused', 'create it paused (start with drover migration resume)')
    .option('--target <type>', 'edge (default) or alb')
    .option('--listener-arn <arn>', 'alb: the listener whose default forward action is weighted')
    .option('--rule-arn <arn>', 'alb: the listener rule whose forward action is weighted')
    .option('--legacy-target-group <arn>', 'alb: the legacy backend\'s target group')
    .option('--fleet-target-group <arn>', 'alb: the fleet\'s target group')
    .option('--region <region>', 'alb: AWS region (default from the AWS SDK configuration)')
    .option('--stickiness <seconds>', 'alb: target group stickiness of the forward action (default 3600; 0 off)')
    .addOption(outputOption())
    .action(
      withExitCode((fleet: string, o: StartMigrationOptions & Output, cmd: Command) =>
        withStore(cmd, async (store) => {
          const m = await (await operations()).startMigration(store, fleet, o);
          out(renderResult(o.output, {
            data: m,
            names: () => [`migration/${m.metadata.name}`],
            text: () => `migration.drover.dev/${m.metadata.name} created (fleet ${fleet}, ${m.spec.mode} mode, steps ${m.spec.steps.join(',')} %); follow it with: drover migration status ${m.metadata.name} -w`,
          }));
        }),
      ),
    );

  selectionFlags(migration.command('plan').description('Dry run: the steps a migration of FLEET would take, with the tenants and users of each').argument('<fleet>'))
    .addOption(outputOption())
    .action(
      withExitCode((fleet: string, o: Omit<StartMigrationOptions, 'legacy'> & Output, cmd: Command) =>
        withStore(cmd, async (store) => {
          const plan = await (await operations()).planMigration(store, fleet, o);
          const { formatMigrationPlan } = await import('../format/migration.js');
          out(renderResult(o.output, { data: plan, names: () => plan.selection.tenants.map((t) => `tenant/${t.name}`), text: () => formatMigrationPlan(plan) }));
        }),
      ),
    );

  migration
    .command('status')
    .description('Progress per step, the weight on the fleet and the last decisions')
    .argument('<name>')
    .option('-w, --watch', 'keep printing until the migration ends (exit 1 unless it succeeded); piped, one line per change')
    .addOption(outputOption())
    .action(
      withExitCode((name: string, o: { watch?: boolean } & Output, cmd: Command) =>
        withStore(cmd, async (store) => {
          const { watchMigrationStatus } = await import('../migration-status.js');
          return watchMigrationStatus(store, name, o.watch === true, (s) => process.stdout.write(s), { ...(o.output !== undefined ? { format: o.output } : {}), tty: process.stdout.isTTY === true });
        }),
      ),
    );

  for (const a of Object.keys(actionHelp) as MigrationAction[]) {
    migration
      .command(a)
      .description(actionHelp[a])
      .argument('<name>')
      .option('--no-wait', 'return once the request is written, without waiting for the controller')
      .option('--timeout <seconds>', 'how long to wait for the controller to act', '30')
      .addOption(outputOption())
      .action(
        withExitCode((name: string, o: { wait: boolean; timeout: number | string } & Output, cmd: Command) =>
          withStore(cmd, async (store) => {
            const ops = await operations();
            const { migration: requested, already } = await ops.requestMigrationAction(store, name, a);
            const print = (m: typeof requested, text: string) => out(renderResult(o.output, { data: m, names: () => [`migration/${name}`], text: () => text }));
            if (already !== undefined) return void print(requested, already);
            if (!o.wait) return void print(requested, `migration.drover.dev/${name} ${a} requested`);
            const res = await ops.awaitMigrationAction(store, name, a, { timeoutMs: Number(o.timeout) * 1000 });
            print(res.migration, res.message);
            return res.ok ? 0 : 1;
          }),
        ),
      );
  }
}
