/**
 * Every `drover` subcommand lives in its own file under src/cli/commands/ and exports
 * `register(program)`. This list is the one place they are wired into the program.
 */
import type { Command } from 'commander';

export type RegisterCommand = (program: Command) => void;

export const commandModules: RegisterCommand[] = [];
