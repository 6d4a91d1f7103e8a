/** `drover explain tenant NAME`: why a tenant is on its Prods. */
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { formatExplanation } from '../../scheduler/explain.js';
import { connect } from '../connect.js';
import { explainTenantFromStore } from '../scheduler-queries.js';
import { commandGroup } from './index.js';

export function registerExplain(program: Command): void {
  commandGroup(program, 'explain', 'Explain scheduling decisions')
    .command('tenant')
    .description('Why a tenant has these Prods: candidates, filters, ring order, load bound, unmet wishes')
    .argument('<name>', 'tenant name')
    .option('-o, --output <format>', 'text, json or yaml', 'text')
    .option('--epsilon <e>', 'load bound slack (no Prod above (1+e)·mean)', parseFloat)
    .action(async (name: string, opts: { output: string; epsilon?: number }, cmd: Command) => {
      const store = await connect(cmd.optsWithGlobals());
      try {
        const e = await explainTenantFromStore(store, name, opts.epsilon);
        process.stdout.write(opts.output === 'json' ? JSON.stringify(e, null, 2) + '\n' : opts.output === 'yaml' ? stringify(e) : formatExplanation(e));
      } finally {
        await store.close();
      }
    });
}
