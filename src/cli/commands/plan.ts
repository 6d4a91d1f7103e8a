/** `drover plan --fail-cluster NAME [-o json|yaml|name]`: dry-run of a cluster failure, computed client-side. */
import type { Command } from 'commander';
import { withExitCode } from '../action.js';
import type { ConnectOptions } from '../connect.js';
import { listOf, outputOption, renderResult } from '../format/output.js';
import { out, withStore } from '../kit.js';

interface PlanOptions extends ConnectOptions {
  failCluster: string;
  fleet?: string;
  output?: string;
  epsilon?: number;
}

export function register(program: Command): void {
  program
    .command('plan')
    .description('what-if: which tenants would move where, lose redundancy or have no Prod if a cluster failed')
    .requiredOption('--fail-cluster <name>', 'cluster to pretend is NotReady')
    .option('--fleet <name>', 'only this fleet (default: every fleet)')
    .addOption(outputOption())
    .option('--epsilon <e>', 'load bound slack: no Prod above (1+e)·mean users')
    .action(
      withExitCode(async (_o: unknown, cmd: Command) => {
        const opts = cmd.optsWithGlobals<PlanOptions>();
        const [{ formatFailurePlan }, { planFailureFromStore }] = await Promise.all([import('../format/failure-plan.js'), import('../scheduler-queries.js')]);
        return withStore(opts, async (store) => {
          const plans = await planFailureFromStore(store, opts.failCluster, opts.fleet, opts.epsilon);
          // -o name: the tenants the failure touches (they move, lose redundancy or have no Prod).
          const touched = () => [...new Set(plans.flatMap((p) => [...p.moves.map((m) => m.tenant), ...p.lostRedundancy.map((l) => l.tenant), ...p.noProd.map((n) => n.tenant)]))].map((t) => `tenant/${t}`);
          out(renderResult(opts.output, { data: listOf(plans), names: touched, text: () => formatFailurePlan(plans) }));
        });
      }),
    );
}
