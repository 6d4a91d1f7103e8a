/** `drover delete KIND NAME` or `drover delete -f FILE`. */
import type { Command } from 'commander';
import { resolveKind } from '../../api/registry.js';
import { DroverError, isDroverError } from '../../errors.js';
import { withExitCode } from '../action.js';
import { objectRef } from '../apply-document.js';
import { connect, type ConnectOptions } from '../connect.js';
import { describeDocument, readManifests } from '../manifests.js';
import { formatError } from '../print-error.js';

interface DeleteOptions extends ConnectOptions {
  filename?: string;
  ignoreNotFound?: boolean;
}

export function register(program: Command): void {
  program
    .command('delete')
    .description('delete resources by kind and name, or those named in a file')
    .argument('[kind]', 'kind (singular, plural or short name)')
    .argument('[names...]', 'names of the objects')
    .option('-f, --filename <path>', 'file, directory or - (stdin) naming the objects')
    .option('--ignore-not-found', 'treat "not found" as success')
    .action(
      withExitCode(async (kind: string | undefined, names: string[], _o: unknown, cmd: Command) => {
        const opts = cmd.optsWithGlobals<DeleteOptions>();
        const targets: { kind: string; name: string; context?: string }[] = [];
        let failed = 0;
        if (opts.filename) {
          for (const d of readManifests(opts.filename)) {
            const o = d.doc as { kind?: unknown; metadata?: { name?: unknown } } | undefined;
            if (d.error || typeof o?.kind !== 'string' || typeof o.metadata?.name !== 'string') {
              failed++;
              process.stderr.write(formatError(d.error ?? new DroverError('DROVER_E_INVALID', 'document has no kind or metadata.name', { fix: 'set kind and metadata.name' }), describeDocument(d)));
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
        const store = await connect(opts);
        try {
          for (const t of targets) {
            try {
              const o = await store.delete(t.kind, t.name);
              const pending = o.metadata.deletionTimestamp && o.metadata.finalizers.length > 0;
              process.stdout.write(`${objectRef(t.kind, t.name)} ${pending ? 'deletion requested (waiting for finalizers)' : 'deleted'}\n`);
            } catch (e) {
              if (opts.ignoreNotFound && isDroverError(e, 'DROVER_E_NOT_FOUND')) continue;
              failed++;
              process.stderr.write(formatError(e, t.context));
            }
          }
        } finally {
          await store.close();
        }
        return failed > 0 ? 1 : 0;
      }),
    );
}
