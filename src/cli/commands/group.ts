/** A command group such as `drover cluster …` that several command files add subcommands to. */
import type { Command } from 'commander';

export function commandGroup(program: Command, name: string, description: string): Command {
  return program.commands.find((c) => c.name() === name) ?? program.command(name).description(description);
}
