/** `drover chaos kill-cluster|restore NAME`: lose a local cluster at once, and bring it back (library: src/up/chaos.ts). */
import type { Command } from 'commander';
import { withExitCode } from '../action.js';
import { outputOption, renderResult } from '../format/output.js';
import { out, withStore } from '../kit.js';
import { commandGroup } from './group.js';

type Output = { output?: string };
const chaosLib = () => import('../../up/chaos.js');

export function register(program: Command): void {
  const chaos = commandGroup(program, 'chaos', 'break things on purpose (local clusters)');
  chaos
    .command('kill-cluster')
    .description('SIGKILL a local cluster\'s agent and all its workloads, as a lost cluster')
    .argument('<name>', 'cluster name')
    .addOption(outputOption())
    .action(
      withExitCode((name: string, o: Output, cmd: Command) =>
        withStore(cmd, async (store) => {
          const { killCluster, recordKill } = await chaosLib();
          await recordKill(store, name);
          const r = await killCluster(store, name);
          out(renderResult(o.output, {
            data: { cluster: name, ...r },
            names: () => [`cluster/${name}`],
            text: () => `cluster ${name}: ${r.agentPid !== undefined ? `agent ${r.agentPid} killed` : 'no live agent found'}, ${r.workloadsKilled} workload(s) killed`,
          }));
        }),
      ),
    );
  chaos
    .command('restore')
    .description('ask `drover up` to start a killed cluster\'s agent again, and wait for its heartbeat')
    .argument('<name>', 'cluster name')
    .option('--timeout <ms>', 'how long to wait for the new agent\'s heartbeat', '20000')
    .addOption(outputOption())
    .action(
      withExitCode((name: string, o: { timeout: string | number } & Output, cmd: Command) =>
        withStore(cmd, async (store) => {
          const { requestRestore, waitForAgentRestart } = await chaosLib();
          const before = (await store.get('Cluster', name))?.status?.agent?.startedAt;
          const requestedAt = await requestRestore(store, name);
          if (o.output === undefined) out(`cluster ${name}: restore requested`);
          const back = await waitForAgentRestart(store, name, before, Number(o.timeout));
          if (o.output !== undefined) {
            out(renderResult(o.output, { data: { cluster: name, requestedAt, restored: back !== undefined, ...(back?.pid !== undefined ? { agentPid: back.pid } : {}) }, names: () => [`cluster/${name}`], text: () => '' }));
          } else if (back) out(`cluster ${name}: agent ${back.pid ?? '?'} is back (heartbeating)`);
          if (back) return 0;
          process.stderr.write(`cluster ${name}: no new agent heartbeat within ${o.timeout}ms; is \`drover up\` running?\n`);
          return 1;
        }),
      ),
    );
}
