/** `drover completion bash|zsh|fish`: the shell script that completes drover's commands, flags, kinds and names. */
import { Argument, type Command } from 'commander';
import { withExitCode } from '../action.js';
import { completionScript, shells, type Shell } from '../completion-scripts.js';

export function register(program: Command): void {
  program
    .command('completion')
    .description('print the shell completion script: source <(drover completion bash), or zsh; fish: drover completion fish | source')
    .addArgument(new Argument('<shell>', 'bash, zsh or fish').choices(shells))
    .action(
      withExitCode(async (shell: Shell) => {
        process.stdout.write(completionScript(shell));
        return 0;
      }),
    );
}
