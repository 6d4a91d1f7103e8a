/** `drover describe KIND NAME`: spec, status, conditions and recent events. */
import type { Command } from 'commander';
import { resolveKind } from '../../api/registry.js';
import { errors } from '../../errors.js';
import { withExitCode } from '../action.js';
import { connect, type ConnectOptions } from '../connect.js';
import { describeResource } from '../describe-resource.js';

export function register(program: Command): void {
  program
    .command('describe')
    .description('show one object in detail, with its conditions and recent events')
    .argument('<kind>', 'kind (singular, plural or short name)')
    .argument('<name>', 'name of the object')
    .action(
      withExitCode(async (kindArg: string, name: string, _o: unknown, cmd: Command) => {
        const opts = cmd.optsWithGlobals<ConnectOptions>();
        const info = resolveKind(kindArg);
        const store = await connect(opts);
        try {
          const o = await store.get(info.kind, name);
          if (!o) throw errors.notFound(info.kind, name);
          const events = await store.eventsFor(info.kind, name);
          process.stdout.write(describeResource(o, events));
          return 0;
        } finally {
          await store.close();
        }
      }),
    );
}
