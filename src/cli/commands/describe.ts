/** `drover describe KIND NAME [-o json|yaml|name]`: spec, status, conditions and recent events. */
import type { Command } from 'commander';
import { withExitCode } from '../action.js';
import { outputOption, renderResult } from '../format/output.js';
import { out, oneShot, withStore } from '../kit.js';

export function register(program: Command): void {
  program
    .command('describe')
    .description('show one object in detail, with its conditions and recent events')
    .argument('<kind>', 'kind (singular, plural or short name)')
    .argument('<name>', 'name of the object')
    .addOption(outputOption())
    .action(
      withExitCode(async (kindArg: string, name: string, o: { output?: string }, cmd: Command) => {
        const [{ resolveKind }, { errors }, { describeResource }, { objectRef }] = await Promise.all([
          import('../../api/kind-names.js'),
          import('../../errors.js'),
          import('../format/describe.js'),
          import('../format/object-ref.js'),
        ]);
        const info = resolveKind(kindArg);
        oneShot();
        return withStore(cmd, async (store) => {
          const obj = await store.get(info.kind, name);
          if (!obj) throw errors.notFound(info.kind, name);
          const events = await store.eventsFor(info.kind, name);
          // As data: the object and its events, which is what the text shows.
          out(renderResult(o.output, { data: { object: obj, events }, names: () => [objectRef(info.kind, name)], text: () => describeResource(obj, events) }));
        });
      }),
    );
}
