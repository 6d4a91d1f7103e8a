/** `drover plan --fail-cluster NAME`: dry-run of a cluster failure, computed client-side. */
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { formatFailurePlan } from '../../scheduler/format-plan.js';
import { connect } from '../connect.js';
import { planFailureFromStore } from '../scheduler-queries.js';

export function registerPlan(program: Command): void {
  program
    .command('plan')
    .description('What-if: which tenants would move where, lose redundancy or have no Prod if a cluster failed')
    .requiredOption('--fail-cluster <name>', 'cluster to pretend is NotReady')
    .option('--fleet <name>', 'only this fleet (default: every fleet)')
    .option('-o, --output <format>', 'text, json or yaml', 'text')
    .option('--epsilon <e>', 'load bound slack (no Prod above (1+e)·mean)', parseFloat)
    .action(async (opts: { failCluster: string; fleet?: string; output: string; epsilon?: number }, cmd: Command) => {
      const store = await connect(cmd.optsWithGlobals());
      try {
        const plans = await planFailureFromStore(store, opts.failCluster, opts.fleet, opts.epsilon);
        const doc = { kind: 'List', items: plans };
        process.stdout.write(opts.output === 'json' ? JSON.stringify(doc, null, 2) + '\n' : opts.output === 'yaml' ? stringify(doc) : formatFailurePlan(plans));
      } finally {
        await store.close();
      }
    });
}
