/**
 * `drover apply -f FILE|DIR|-`: validate every document first and write none when one is invalid (each
 * bad document reported with its field and fix); then create or update each (three-way merge,
 * apply-document.ts) and print what the server accepted with a warning.
 */
import { dirname } from 'node:path';
import type { Command } from 'commander';
import type { AnyResource } from '../../api/resource.js';
import type { PreparedDocument } from '../../client/apply-document.js';
import { withExitCode } from '../action.js';
import type { ConnectOptions } from '../connect.js';
import { listOf, outputOption, renderResult } from '../format/output.js';
import { oneShot, withStore } from '../kit.js';

export function register(program: Command): void {
  program
    .command('apply')
    .description('create or update resources from YAML/JSON files (multi-document), a directory, or - for stdin; nothing is written unless every document is valid')
    .requiredOption('-f, --filename <path>', 'file, directory or - (stdin)')
    .addOption(outputOption())
    .action(
      withExitCode(async (_opts: unknown, cmd: Command) => {
        const opts = cmd.optsWithGlobals<ConnectOptions & { filename: string; output?: string }>();
        const [{ isDroverError }, { applyDocument, prepareDocument }, { describeDocument, readManifests }, { formatError }, { applyWarnings }, { objectRef }] = await Promise.all([
          import('../../errors.js'),
          import('../../client/apply-document.js'),
          import('../manifests.js'),
          import('../print-error.js'),
          import('../apply-warnings.js'),
          import('../format/object-ref.js'),
        ]);
        const docs = readManifests(opts.filename);
        if (docs.length === 0) {
          process.stderr.write(`error: no documents in ${opts.filename}\n`);
          return 1;
        }
        const prepared: { p: PreparedDocument; context: string }[] = [];
        let invalid = 0;
        for (const d of docs) {
          try {
            if (d.error) throw d.error;
            // Relative paths are relative to the file that declared them (stdin: the current directory).
            prepared.push({ p: prepareDocument(d.doc, { baseDir: d.source === '<stdin>' ? process.cwd() : dirname(d.source) }), context: describeDocument(d) });
          } catch (e) {
            invalid++;
            process.stderr.write(await formatError(e, describeDocument(d)));
          }
        }
        if (invalid > 0) {
          process.stderr.write(`error: ${invalid} of ${docs.length} document(s) invalid; nothing was applied\n`);
          return 1;
        }
        let failed = 0;
        const applied: AnyResource[] = [];
        oneShot();
        await withStore(opts, async (store) => {
          for (const { p, context } of prepared) {
            try {
              const { outcome, object } = await applyDocument(store, p);
              applied.push(object);
              if (opts.output === undefined || opts.output === 'name') process.stdout.write(`${objectRef(object.kind, object.metadata.name)}${opts.output === 'name' ? '' : ` ${outcome}`}\n`);
              for (const w of await applyWarnings(store, object)) process.stderr.write(`warning: ${objectRef(object.kind, object.metadata.name)}: ${w}\n`);
            } catch (e) {
              failed++;
              if (isDroverError(e, 'DROVER_E_UNAVAILABLE')) {
                // No server: every later document would fail the same way.
                process.stderr.write(await formatError(e));
                break;
              }
              process.stderr.write(await formatError(e, context));
            }
          }
        });
        // json and yaml: what the server stored, as one List (kubectl apply -o yaml).
        if (opts.output === 'json' || opts.output === 'yaml') process.stdout.write(renderResult(opts.output, { data: listOf(applied), text: () => '' }));
        return failed > 0 ? 1 : 0;
      }),
    );
}
