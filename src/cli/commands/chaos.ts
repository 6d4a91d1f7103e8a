/** `drover chaos kill-cluster|restore NAME`: lose a local cluster at once, and bring it back (src/up/chaos.ts). */
import type { Command } from 'commander';
import type { Cluster } from '../../api/kinds/cluster.js';
import type { RemoteStore } from '../../client/remote-store.js';
import { DroverError, errors, isDroverError } from '../../errors.js';
import { killCluster, requestRestore } from '../../up/chaos.js';
import { withExitCode } from '../action.js';
import { commandGroup } from './index.js';
import { connect, type ConnectOptions } from '../connect.js';

export function register(program: Command): void {
  const chaos = commandGroup(program, 'chaos', 'break things on purpose (local clusters)');
  chaos
    .command('kill-cluster')
    .description('SIGKILL a local cluster\'s agent and all its workloads, as a lost cluster')
    .argument('<name>', 'cluster name')
    .action(
      withExitCode(async (name: string, _o: unknown, cmd: Command) => {
        const store = await connect(cmd.optsWithGlobals<ConnectOptions>());
        try {
          // Signals are sent by this process, which the API cannot authorise: an authorised API write comes
          // first, so a read-only token (or none) stops here, and the cluster records who broke it and when.
          await recordKill(store, name);
          const r = await killCluster(store, name);
          process.stdout.write(
            `cluster ${name}: ${r.agentPid !== undefined ? `agent ${r.agentPid} killed` : 'no live agent found'}, ${r.workloadsKilled} workload(s) killed\n`,
          );
          return 0;
        } finally {
          await store.close();
        }
      }),
    );
  chaos
    .command('restore')
    .description('ask `drover up` to start a killed cluster\'s agent again, and wait for its heartbeat')
    .argument('<name>', 'cluster name')
    .option('--timeout <ms>', 'how long to wait for the new agent\'s heartbeat', '20000')
    .action(
      withExitCode(async (name: string, o: { timeout: string }, cmd: Command) => {
        const store = await connect(cmd.optsWithGlobals<ConnectOptions>());
        const before = (await store.get<Cluster>('Cluster', name))?.status?.agent?.startedAt;
        await requestRestore(store, name);
        process.stdout.write(`cluster ${name}: restore requested\n`);
        const deadline = Date.now() + Number(o.timeout);
        while (Date.now() < deadline) {
          const c = await store.get<Cluster>('Cluster', name);
          const started = c?.status?.agent?.startedAt;
          if (started && started !== before) {
            process.stdout.write(`cluster ${name}: agent ${c?.status?.agent?.pid ?? '?'} is back (heartbeating)\n`);
            return 0;
          }
          await new Promise((r) => setTimeout(r, 200));
        }
        process.stderr.write(`cluster ${name}: no new agent heartbeat within ${o.timeout}ms; is \`drover up\` running?\n`);
        return 1;
      }),
    );
}

export const chaosKilledAnnotation = 'drover.dev/chaos-killed-at';

async function recordKill(store: RemoteStore, name: string): Promise<void> {
  try {
    await store.patch<Cluster>('Cluster', name, { metadata: { annotations: { [chaosKilledAnnotation]: new Date().toISOString() } } });
  } catch (e) {
    if (isDroverError(e, 'DROVER_E_NOT_FOUND')) throw errors.notFound('Cluster', name);
    if (isDroverError(e, 'DROVER_E_FORBIDDEN') || isDroverError(e, 'DROVER_E_UNAUTHORIZED')) {
      throw new DroverError(e.code, `chaos kill-cluster needs an admin token (${e.message})`, {
        field: '--token',
        fix: 'use the admin token of the tokens file `drover up`/`drover server` printed: --token TOKEN or DROVER_TOKEN',
      });
    }
    throw e;
  }
}
