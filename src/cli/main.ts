/**
 * The `drover` program: global options, the command(s) a run needs from `commandTable`, and the one
 * top-level handler that turns a command's outcome (an exit code, or an error) into the process exit code.
 *
 * Start-up is kept to what the command uses: `run` reads the command name from argv before anything
 * else, loads that command's module only (all of them for `--help` or an unknown name, so commander can
 * list or suggest), and the command's action imports the libraries it needs. `drover version` loads
 * commander and four small files.
 */
import { Command, CommanderError } from 'commander';
import { exitCodeOf } from './action.js';
import { commandNames, loadCommands, type RegisterCommand } from './commands/index.js';
import { applyOptionKit } from './options.js';

/** Global options that take a value: skipped when looking for the command name. */
const GLOBAL_WITH_VALUE = new Set(['--server', '--token', '--ca', '--cert', '--key']);

/**
 * The top-level command `args` (argv without node and script) runs, when it is one of ours; undefined for
 * none (`drover`, `drover --help`) or an unknown one. `drover help get` asks for get's help.
 */
export function commandNameOf(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (GLOBAL_WITH_VALUE.has(a)) {
      i++;
      continue;
    }
    if (a.startsWith('-')) continue;
    const name = a === 'help' ? args[i + 1] : a;
    return name !== undefined && commandNames.includes(name) ? name : undefined;
  }
  return undefined;
}

export function createProgram(registers: readonly RegisterCommand[]): Command {
  const program = new Command('drover')
    .description('Drover: many identical production environments (Prods) across clusters, and the traffic between them')
    .option('--server <urls>', 'API server URL, or several replicas as URL,URL,… (default: DROVER_SERVER, the CLI config file, or http://127.0.0.1:7400)')
    .option('--token <token>', 'bearer token (default: DROVER_TOKEN or the CLI config file)')
    .option('--ca <file>', 'PEM CA file to verify an https:// server with (default: DROVER_CA or `ca:` in the CLI config)')
    .option('--cert <file>', 'PEM client certificate, for a server started with --client-ca (default: DROVER_CERT or `cert:`)')
    .option('--key <file>', "PEM key of --cert (default: DROVER_KEY or `key:`)")
    // `--version` alone prints the version (see run); a program-level version option would swallow the
    // `--version V` of subcommands such as `drover release start FLEET --version V`.
    .option('-V', 'print the version (also `drover --version` or `drover version`)')
    .showHelpAfterError('(add --help for usage)')
    .exitOverride();
  for (const register of registers) register(program);
  for (const c of program.commands) c.exitOverride();
  // Every bad flag value is refused before a command runs, naming the flag and the fix (options.ts).
  applyOptionKit(program);
  return program;
}

/** The program with every command (help, completion, tests). */
export async function buildProgram(): Promise<Command> {
  return createProgram(await loadCommands());
}

/** Runs the CLI with `argv` as process.argv (node, script, …args); resolves to the exit code. */
export async function run(argv: readonly string[]): Promise<number> {
  const args = argv.slice(2);
  if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
    const { cliVersion } = await import('./commands/version.js');
    process.stdout.write(`${cliVersion()}\n`);
    return 0;
  }
  // The completion scripts' helper: words typed so far, not a command line to validate (complete.ts).
  if (args[0] === '__complete') {
    const { complete } = await import('./complete.js');
    for (const c of await complete(args.slice(1), buildProgram)) process.stdout.write(`${c}\n`);
    return 0;
  }
  const name = commandNameOf(args);
  const program = createProgram(await loadCommands(name === undefined ? undefined : [name]));
  try {
    await program.parseAsync([...argv]);
    return exitCodeOf(program);
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    const { formatError } = await import('./print-error.js');
    process.stderr.write(await formatError(e));
    return 1;
  }
}
