/**
 * Every `drover` subcommand lives in its own file under src/cli/commands/ and exports
 * `register(program)`. This table is the one place they are wired in: by top-level name, so that a run
 * loads only the module(s) of the command it runs (a group such as `cluster` is filled by several).
 * Command modules import nothing heavy at load time; their actions import what they use.
 */
import type { Command } from 'commander';

export type RegisterCommand = (program: Command) => void;
type CommandModule = () => Promise<{ register: RegisterCommand }>;

export const commandTable: Readonly<Record<string, readonly CommandModule[]>> = {
  server: [() => import('./server.js')],
  apply: [() => import('./apply.js')],
  get: [() => import('./get.js')],
  describe: [() => import('./describe.js')],
  delete: [() => import('./delete.js')],
  version: [() => import('./version.js')],
  release: [() => import('./release.js')],
  cluster: [() => import('./cluster-lifecycle.js'), () => import('./cluster-add.js')],
  explain: [() => import('./explain.js')],
  plan: [() => import('./plan.js')],
  edge: [() => import('./edge.js')],
  agent: [() => import('./agent.js')],
  up: [() => import('./up.js')],
  chaos: [() => import('./chaos.js')],
  cloud: [() => import('./cloud.js')],
  mirror: [() => import('./mirror.js')],
  migration: [() => import('./migration.js')],
  completion: [() => import('./completion.js')],
};

/** The top-level command names, in help order. */
export const commandNames: readonly string[] = Object.keys(commandTable);

/** The register functions of `names` (every command when undefined), in table order. */
export async function loadCommands(names?: readonly string[]): Promise<RegisterCommand[]> {
  const wanted = Object.entries(commandTable).filter(([n]) => names === undefined || names.includes(n));
  const mods = await Promise.all(wanted.flatMap(([, loaders]) => loaders.map((load) => load())));
  return mods.map((m) => m.register);
}
