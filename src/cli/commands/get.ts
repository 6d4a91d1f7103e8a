/** `drover get KIND [NAME] [-o wide|json|yaml|name] [-l SELECTOR] [-w]`. */
import type { Command } from 'commander';
import { withExitCode } from '../action.js';
import type { ConnectOptions } from '../connect.js';
import { oneShot, withStore } from '../kit.js';

interface GetOptions extends ConnectOptions {
  output?: string;
  selector?: string;
  watch?: boolean;
}

export function register(program: Command): void {
  program
    .command('get')
    .description('list resources of a kind, or show one')
    .argument('<kind>', 'kind (singular, plural or short name, e.g. fleets, fleet, fl), or `leader`: which server replica runs the controllers')
    .argument('[name]', 'name of one object')
    .option('-o, --output <format>', 'wide, json, yaml or name')
    .option('-l, --selector <selector>', 'label selector, e.g. app=web,tier!=db')
    .option('-w, --watch', 'after listing, print a row for every change (one line per change)')
    .action(
      withExitCode(async (kindArg: string, name: string | undefined, _o: unknown, cmd: Command) => {
        const opts = cmd.optsWithGlobals<GetOptions>();
        // Not a kind: the control plane's replicas tell who runs the controllers (src/cli/leader.ts).
        if (kindArg === 'leader' || kindArg === 'leaders') return (await import('../leader.js')).showLeader(opts);
        const [{ resolveKind }, { errors }, { parseOutputFormat, renderList, renderObject, renderRow }] = await Promise.all([
          import('../../api/kind-names.js'),
          import('../../errors.js'),
          import('../format/render.js'),
        ]);
        const info = resolveKind(kindArg);
        const format = parseOutputFormat(opts.output);
        oneShot();
        return withStore(opts, async (store) => {
          let rv: string;
          if (name) {
            const o = await store.get(info.kind, name);
            if (!o) throw errors.notFound(info.kind, name);
            process.stdout.write(renderObject(info.kind, o, format));
            rv = o.metadata.resourceVersion ?? '';
          } else {
            const res = await store.list(info.kind, opts.selector ? { labelSelector: opts.selector } : {});
            rv = res.resourceVersion;
            if (res.items.length === 0 && (format === 'table' || format === 'wide')) process.stderr.write('No resources found.\n');
            else process.stdout.write(renderList(info.kind, res.items, format, res.resourceVersion));
          }
          if (!opts.watch) return 0;
          for await (const ev of store.watch({
            kind: info.kind,
            resourceVersion: rv,
            ...(name ? { name } : {}),
            ...(opts.selector ? { labelSelector: opts.selector } : {}),
          })) {
            process.stdout.write(renderRow(info.kind, ev.object, format));
          }
          return 0;
        });
      }),
    );
}
