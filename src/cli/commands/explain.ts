/** `drover explain tenant NAME [-o json|yaml|name]`: why a tenant is on its Prods. */
import type { Command } from 'commander';
import { withExitCode } from '../action.js';
import type { ConnectOptions } from '../connect.js';
import { outputOption, renderResult } from '../format/output.js';
import { out, withStore } from '../kit.js';
import { commandGroup } from './group.js';

interface ExplainOptions extends ConnectOptions {
  output?: string;
  epsilon?: number;
}

export function register(program: Command): void {
  commandGroup(program, 'explain', 'explain scheduling decisions')
    .command('tenant')
    .description('why a tenant has these Prods: candidates, filters, ring order, load bound, unmet wishes')
    .argument('<name>', 'tenant name')
    .addOption(outputOption())
    .option('--epsilon <e>', 'load bound slack: no Prod above (1+e)·mean users')
    .action(
      withExitCode(async (name: string, _o: unknown, cmd: Command) => {
        const opts = cmd.optsWithGlobals<ExplainOptions>();
        const [{ formatExplanation }, { explainTenantFromStore }] = await Promise.all([import('../../scheduler/explain.js'), import('../scheduler-queries.js')]);
        return withStore(opts, async (store) => {
          const e = await explainTenantFromStore(store, name, opts.epsilon);
          out(renderResult(opts.output, { data: e, names: () => e.chosen.map((c) => `prod/${c.prod}`), text: () => formatExplanation(e) }));
        });
      }),
    );
}
