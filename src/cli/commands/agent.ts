/** `drover agent`: run one cluster's agent in the foreground (library: src/agent/run-agent.ts). */
import { Option, type Command } from 'commander';
import { withExitCode } from '../action.js';
import type { ConnectOptions } from '../connect.js';

interface AgentCliOptions extends ConnectOptions {
  cluster: string;
  provider?: string;
  region?: string;
  domain?: string;
  capacity?: string;
  stateDir?: string;
  parentPid?: string;
  set: string[];
}

export function register(program: Command): void {
  program
    .command('agent')
    .description('run a cluster agent: registers the cluster, heartbeats, runs the Prods bound to it and reports their status')
    .requiredOption('--cluster <name>', 'name of the cluster this agent runs')
    .option('--provider <provider>', "cluster driver: local, kubernetes or eks (default: the registered Cluster's provider, else local)")
    .option('--region <region>', 'region of the cluster (set on the Cluster object)')
    .option('--domain <domain>', 'failure domain (default: the region)')
    .option('--capacity <n>', 'most Prods this cluster runs')
    .option('--state-dir <dir>', 'where the agent keeps workload state and logs (default: .drover/agents/<cluster>)')
    .option('--set <key=value...>', 'driver setting, repeatable (kubernetes: context=NAME, kubeconfig=FILE, serviceType=NodePort…)', [])
    .addOption(new Option('--parent-pid <pid>', 'the process that started this agent; when it is gone the agent logs it and keeps its workloads running').hideHelp())
    .action(
      withExitCode(async (_o: unknown, cmd: Command) => {
        const opts = cmd.optsWithGlobals<AgentCliOptions>();
        const capacity = opts.capacity === undefined ? undefined : Number(opts.capacity);
        if (capacity !== undefined && (!Number.isInteger(capacity) || capacity < 0)) {
          process.stderr.write(`drover agent: --capacity must be a whole number, got "${opts.capacity}"\n`);
          return 2;
        }
        const settings: Record<string, string> = {};
        for (const kv of opts.set) {
          const i = kv.indexOf('=');
          if (i <= 0) {
            process.stderr.write(`drover agent: --set takes KEY=VALUE, got "${kv}"\n`);
            return 2;
          }
          settings[kv.slice(0, i)] = kv.slice(i + 1);
        }
        // The drivers load only here: `drover agent` is the one command that runs them.
        const [{ driverProviders }, { runAgent }, { connect }] = await Promise.all([import('../../agent/drivers.js'), import('../../agent/run-agent.js'), import('../connect.js')]);
        if (opts.provider !== undefined && !driverProviders().includes(opts.provider)) {
          process.stderr.write(`error: option '--provider <provider>' argument '${opts.provider}' is invalid. Allowed choices are ${driverProviders().join(', ')}.\n`);
          return 1;
        }
        const store = await connect(opts);
        return runAgent({
          store,
          cluster: opts.cluster,
          ...(opts.provider !== undefined ? { provider: opts.provider } : {}),
          stateDir: opts.stateDir ?? `.drover/agents/${opts.cluster}`,
          settings,
          ...(opts.region !== undefined ? { region: opts.region } : {}),
          ...(opts.domain !== undefined ? { domain: opts.domain } : {}),
          ...(capacity !== undefined ? { capacity } : {}),
          ...(opts.parentPid !== undefined ? { parentPid: Number(opts.parentPid) } : {}),
          log: (l) => process.stderr.write(`${new Date().toISOString()} ${l}\n`),
        });
      }),
    );
}
