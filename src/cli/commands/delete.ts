/** `drover delete KIND NAME` or `drover delete -f FILE`. */
import type { Command } from 'commander';
import { withExitCode } from '../action.js';
import type { ConnectOptions } from '../connect.js';
import type { AnyResource } from '../../api/resource.js';
import { listOf, outputOption, renderResult } from '../format/output.js';
import { oneShot, withStore } from '../kit.js';

interface DeleteOptions extends ConnectOptions {
  filename?: string;
  ignoreNotFound?: boolean;
  output?: string;
}

export function register(program: Command): void {
  program
    .command('delete')
    .description('delete resources by kind and name, or those named in a file')
    .argument('[kind]', 'kind (singular, plural or short name)')
    .argument('[names...]', 'names of the objects')
    .option('-f, --filename <path>', 'file, directory or - (stdin) naming the objects')
    .option('--ignore-not-found', 'treat "not found" as success')
    .addOption(outputOption())
    .action(
      withExitCode(async (kind: string | undefined, names: string[], _o: unknown, cmd: Command) => {
        const opts = cmd.optsWithGlobals<DeleteOptions>();
        const [{ resolveKind }, { DroverError, isDroverError }, { describeDocument, readManifests }, { formatError }, { objectRef }] = await Promise.all([
          import('../../api/kind-names.js'),
          import('../../errors.js'),
          import('../manifests.js'),
          import('../print-error.js'),
          import('../format/object-ref.js'),
        ]);
        const targets: { kind: string; name: string; context?: string }[] = [];
        let failed = 0;
        if (opts.filename) {
          for (const d of readManifests(opts.filename)) {
            const o = d.doc as { kind?: unknown; metadata?: { name?: unknown } } | undefined;
            if (d.error || typeof o?.kind !== 'string' || typeof o.metadata?.name !== 'string') {
              failed++;
              process.stderr.write(await formatError(d.error ?? new DroverError('DROVER_E_INVALID', 'document has no kind or metadata.name', { fix: 'set kind and metadata.name' }), describeDocument(d)));
              continue;
            }
            targets.push({ kind: resolveKind(o.kind).kind, name: o.metadata.name, context: describeDocument(d) });
          }
        } else {
          if (!kind || names.length === 0) {
            throw new DroverError('DROVER_E_INVALID', 'delete needs KIND and NAME, or -f FILE', { fix: 'e.g. `drover delete fleet web`' });
          }
          const info = resolveKind(kind);
          for (const name of names) targets.push({ kind: info.kind, name });
        }
        const deleted: AnyResource[] = [];
        oneShot();
        await withStore(opts, async (store) => {
          for (const t of targets) {
            try {
              const o = await store.delete(t.kind, t.name);
              const pending = o.metadata.deletionTimestamp && o.metadata.finalizers.length > 0;
              const ref = objectRef(t.kind, t.name);
              deleted.push(o);
              if (opts.output === 'json' || opts.output === 'yaml') continue;
              process.stdout.write(opts.output === 'name' ? `${ref}\n` : `${ref} ${pending ? 'deletion requested (waiting for finalizers)' : 'deleted'}\n`);
            } catch (e) {
              if (opts.ignoreNotFound && isDroverError(e, 'DROVER_E_NOT_FOUND')) continue;
              failed++;
              process.stderr.write(await formatError(e, t.context));
            }
          }
        });
        // json and yaml: the objects as the server returned them on deletion, as one List.
        if (opts.output === 'json' || opts.output === 'yaml') process.stdout.write(renderResult(opts.output, { data: listOf(deleted), text: () => '' }));
        return failed > 0 ? 1 : 0;
      }),
    );
}
