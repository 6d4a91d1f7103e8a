/** `drover version [-o json|yaml]`: the CLI's version. Loads nothing but this file and package.json. */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { withExitCode } from '../action.js';
import { outputOption, renderResult } from '../format/output.js';
import { out } from '../kit.js';

export function cliVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: string };
  return pkg.version ?? 'unknown';
}

export function register(program: Command): void {
  program
    .command('version')
    .description('print the Drover version')
    .addOption(outputOption(['json', 'yaml']))
    .action(
      withExitCode(async (o: { output?: string }) => {
        const v = cliVersion();
        out(renderResult(o.output, { data: { clientVersion: { drover: v, node: process.version } }, text: () => `drover ${v} (node ${process.version})` }));
        return 0;
      }),
    );
}
