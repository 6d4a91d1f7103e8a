/**
 * Every `drover` subcommand lives in its own file under src/cli/commands/ and exports
 * `register(program)`. This list is the one place they are wired into the program.
 */
import type { Command } from 'commander';
import { register as agent } from './agent.js';
import { register as apply } from './apply.js';
import { register as chaos } from './chaos.js';
import { register as cloud } from './cloud.js';
import { register as clusterAdd } from './cluster-add.js';
import { register as clusterLifecycle } from './cluster-lifecycle.js';
import { register as del } from './delete.js';
import { register as describe } from './describe.js';
import { register as explain } from './explain.js';
import { register as edge } from './edge.js';
import { register as get } from './get.js';
import { register as release } from './release.js';
import { register as plan } from './plan.js';
import { register as server } from './server.js';
import { register as up } from './up.js';
import { register as version } from './version.js';

export type RegisterCommand = (program: Command) => void;

export const commandModules: RegisterCommand[] = [server, apply, get, describe, del, version, release, clusterLifecycle, clusterAdd, explain, plan, edge, agent, up, chaos, cloud];

/** A command group such as `drover cluster …` that several command files add subcommands to. */
export function commandGroup(program: Command, name: string, description: string): Command {
  return program.commands.find((c) => c.name() === name) ?? program.command(name).description(description);
}
