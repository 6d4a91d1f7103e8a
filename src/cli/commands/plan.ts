/** `drover plan --fail-cluster NAME`: dry-run of a cluster failure, computed client-side. */
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { formatFailurePlan } from '../../scheduler/format-plan.js';
import { withExitCode } from '../action.js';
import { connect, type ConnectOptions } from '../connect.js';
import { planFailureFromStore } from '../scheduler-queries.js';

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
    .option('-o, --output <format>', 'json or yaml (default: text)')
    .option('--epsilon <e>', 'load bound slack: no Prod above (1+e)·mean users', parseFloat)
    .action(
      withExitCode(async (_o: unknown, cmd: Command) => {
        const opts = cmd.optsWithGlobals<PlanOptions>();
        const store = await connect(opts);
        try {
          const plans = await planFailureFromStore(store, opts.failCluster, opts.fleet, opts.epsilon);
          const doc = { kind: 'List', items: plans };
          process.stdout.write(opts.output === 'json' ? JSON.stringify(doc, null, 2) + '\n' : opts.output === 'yaml' ? stringify(doc) : formatFailurePlan(plans));
          return 0;
        } finally {
          await store.close();
        }
      }),
    );
}
