/** `drover apply -f FILE|DIR|-`: create or update every document; each document stands on its own. */
import type { Command } from 'commander';
import { isDroverError } from '../../errors.js';
import { withExitCode } from '../action.js';
import { applyDocument, objectRef } from '../apply-document.js';
import { connect, type ConnectOptions } from '../connect.js';
import { describeDocument, readManifests } from '../manifests.js';
import { formatError } from '../print-error.js';

export function register(program: Command): void {
  program
    .command('apply')
    .description('create or update resources from YAML/JSON files (multi-document), a directory, or - for stdin')
    .requiredOption('-f, --filename <path>', 'file, directory or - (stdin)')
    .action(
      withExitCode(async (_opts: unknown, cmd: Command) => {
        const opts = cmd.optsWithGlobals<ConnectOptions & { filename: string }>();
        const docs = readManifests(opts.filename);
        const store = await connect(opts);
        let failed = 0;
        try {
          for (const d of docs) {
            try {
              if (d.error) throw d.error;
              const { outcome, object } = await applyDocument(store, d.doc);
              process.stdout.write(`${objectRef(object.kind, object.metadata.name)} ${outcome}\n`);
            } catch (e) {
              failed++;
              if (isDroverError(e, 'DROVER_E_UNAVAILABLE')) {
                // No server: every later document would fail the same way.
                process.stderr.write(formatError(e));
                break;
              }
              process.stderr.write(formatError(e, describeDocument(d)));
            }
          }
        } finally {
          await store.close();
        }
        if (docs.length === 0) process.stderr.write(`error: no documents in ${opts.filename}\n`);
        return failed > 0 || docs.length === 0 ? 1 : 0;
      }),
    );
}
