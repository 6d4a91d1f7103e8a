/**
 * The `drover` program: global options, every command from `commandModules`, and the one top-level
 * handler that turns a command's outcome (an exit code, or an error) into the process exit code.
 */
import { Command, CommanderError } from 'commander';
import { exitCodeOf } from './action.js';
import { commandModules } from './commands/index.js';
import { cliVersion } from './commands/version.js';
import { formatError } from './print-error.js';

export function buildProgram(): Command {
  const program = new Command('drover')
    .description('Drover: many identical production environments (Prods) across clusters, and the traffic between them')
    .option('--server <url>', 'API server URL (default: DROVER_SERVER, the CLI config file, or http://127.0.0.1:7400)')
    .option('--token <token>', 'bearer token (default: DROVER_TOKEN or the CLI config file)')
    .version(cliVersion(), '--version', 'print the version')
    .showHelpAfterError('(add --help for usage)')
    .exitOverride();
  for (const register of commandModules) register(program);
  for (const c of program.commands) c.exitOverride();
  return program;
}

/** Runs the CLI with `argv` as process.argv (node, script, …args); resolves to the exit code. */
export async function run(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv]);
    return exitCodeOf(program);
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    process.stderr.write(formatError(e));
    return 1;
  }
}
