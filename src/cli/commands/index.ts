/**
 * Every `drover` subcommand lives in its own file under src/cli/commands/ and exports
 * `register(program)`. This list is the one place they are wired into the program.
 */
import type { Command } from 'commander';
import { registerExplain } from './explain.js';
import { registerPlan } from './plan.js';

export type RegisterCommand = (program: Command) => void;

export const commandModules: RegisterCommand[] = [registerExplain, registerPlan];

/** A command group such as `drover cluster …` that several command files add subcommands to. */
export function commandGroup(program: Command, name: string, description: string): Command {
  return program.commands.find((c) => c.name() === name) ?? program.command(name).description(description);
}
