/**
 * The `drover` program: global options, every command from `commandModules`, and the one top-level
 * handler that turns a command's outcome (an exit code, or an error) into the process exit code.
 */
import { Command, CommanderError } from 'commander';
import { exitCodeOf } from './action.js';
import { commandModules } from './commands/index.js';
import { cliVersion } from './commands/version.js';
import { applyOptionKit } from './options.js';
import { formatError } from './print-error.js';

export function buildProgram(): Command {
  const program = new Command('drover')
    .description('Drover: many identical production environments (Prods) across clusters, and the traffic between them')
    .option('--server <url>', 'API server URL (default: DROVER_SERVER, the CLI config file, or http://127.0.0.1:7400)')
    .option('--token <token>', 'bearer token (default: DROVER_TOKEN or the CLI config file)')
    // `--version` alone prints the version (see run); a program-level version option would swallow the
    // `--version V` of subcommands such as `drover release start FLEET --version V`.
    .option('-V', 'print the version (also `drover --version` or `drover version`)')
    .showHelpAfterError('(add --help for usage)')
    .exitOverride();
  for (const register of commandModules) register(program);
  for (const c of program.commands) c.exitOverride();
  // Every bad flag value is refused before a command runs, naming the flag and the fix (options.ts).
  applyOptionKit(program);
  return program;
}

/** Runs the CLI with `argv` as process.argv (node, script, …args); resolves to the exit code. */
export async function run(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  const args = argv.slice(2);
  if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
    process.stdout.write(`${cliVersion()}\n`);
    return 0;
  }
  try {
    await program.parseAsync([...argv]);
    return exitCodeOf(program);
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    process.stderr.write(formatError(e));
    return 1;
  }
}
