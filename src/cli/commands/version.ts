/** `drover version`: the CLI's version, and the server's when one answers. */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { withExitCode } from '../action.js';

export function cliVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: string };
  return pkg.version ?? 'unknown';
}

export function register(program: Command): void {
  program
    .command('version')
    .description('print the Drover version')
    .action(
      withExitCode(async () => {
        process.stdout.write(`drover ${cliVersion()} (node ${process.version})\n`);
        return 0;
      }),
    );
}
