/**
 * Commands return exit codes; this wrapper hands them to the one top-level handler in main.ts (which also
 * renders errors), so that no command calls process.exit.
 */
import type { Command } from 'commander';

const exitCodes = new WeakMap<Command, number>();

function root(cmd: Command): Command {
  let c = cmd;
  while (c.parent) c = c.parent;
  return c;
}

/** Wraps a command action returning an exit code. Commander passes `(…args, options, command)`. */
export function withExitCode<A extends unknown[]>(fn: (...args: A) => Promise<number>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    const cmd = args[args.length - 1] as Command;
    const code = await fn(...args);
    exitCodes.set(root(cmd), code);
  };
}

export function exitCodeOf(program: Command): number {
  return exitCodes.get(program) ?? 0;
}
