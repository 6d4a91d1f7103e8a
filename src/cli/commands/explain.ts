/** `drover explain tenant NAME`: why a tenant is on its Prods. */
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { formatExplanation } from '../../scheduler/explain.js';
import { withExitCode } from '../action.js';
import { connect, type ConnectOptions } from '../connect.js';
import { explainTenantFromStore } from '../scheduler-queries.js';
import { commandGroup } from './index.js';

interface ExplainOptions extends ConnectOptions {
  output?: string;
  epsilon?: number;
}

export function register(program: Command): void {
  commandGroup(program, 'explain', 'explain scheduling decisions')
    .command('tenant')
    .description('why a tenant has these Prods: candidates, filters, ring order, load bound, unmet wishes')
    .argument('<name>', 'tenant name')
    .option('-o, --output <format>', 'json or yaml (default: text)')
    .option('--epsilon <e>', 'load bound slack: no Prod above (1+e)·mean users', parseFloat)
    .action(
      withExitCode(async (name: string, _o: unknown, cmd: Command) => {
        const opts = cmd.optsWithGlobals<ExplainOptions>();
        const store = await connect(opts);
        try {
          const e = await explainTenantFromStore(store, name, opts.epsilon);
          process.stdout.write(opts.output === 'json' ? JSON.stringify(e, null, 2) + '\n' : opts.output === 'yaml' ? stringify(e) : formatExplanation(e));
          return 0;
        } finally {
          await store.close();
        }
      }),
    );
}
