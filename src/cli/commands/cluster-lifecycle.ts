/** `drover cluster cordon|uncordon|drain NAME` and `drover cluster replace OLD --with NEW` (library: src/lifecycle/). */
import type { Command } from 'commander';
import { withExitCode } from '../action.js';
import { outputOption, renderResult } from '../format/output.js';
import { out, withStore } from '../kit.js';
import { commandGroup } from './group.js';

type Output = { output?: string };
const ops = () => import('../../lifecycle/cluster-ops.js');

export function register(program: Command): void {
  const cluster = commandGroup(program, 'cluster', 'Cluster lifecycle: add, cordon, drain, replace');

  for (const verb of ['cordon', 'uncordon'] as const) {
    cluster
      .command(verb)
      .description(verb === 'cordon' ? 'No new Prods on this cluster; its Prods keep serving' : 'Allow Prods on this cluster again (and stop draining it)')
      .argument('<name>')
      .addOption(outputOption())
      .action(
        withExitCode((name: string, o: Output, cmd: Command) =>
          withStore(cmd, async (s) => {
            const message = await (await ops()).cordonMessage(s, name, verb);
            out(renderResult(o.output, { data: o.output === undefined ? undefined : await s.get('Cluster', name), names: () => [`cluster/${name}`], text: () => message }));
          }),
        ),
      );
  }

  cluster
    .command('drain')
    .description('Move tenants off this cluster, keeping redundancy where capacity allows; reports what it could not keep')
    .argument('<name>')
    .option('--timeout <seconds>', 'how long to wait for the tenants to move', '120')
    .option('--no-wait', 'set draining and return')
    .addOption(outputOption())
    .action(
      withExitCode((name: string, o: { timeout: string | number; wait: boolean } & Output, cmd: Command) =>
        withStore(cmd, async (s) => {
          const { describeDrain } = await import('../format/cluster.js');
          // Progress is for people; -o prints the final report only, as one document.
          const onProgress = o.output === undefined ? (p: Parameters<typeof describeDrain>[0]) => out(describeDrain(p)) : () => {};
          const r = await (await ops()).drainCluster(s, name, { timeoutMs: o.wait ? Number(o.timeout) * 1000 : 0, onProgress });
          if (o.output !== undefined) out(renderResult(o.output, { data: r, names: () => r.remaining.map((t) => `tenant/${t}`), text: () => '' }));
          if (r.done || !o.wait) return 0;
          if (o.output === undefined) out(`not drained within ${o.timeout}s: ${name} stays cordoned and draining, and the scheduler keeps moving its tenants; see why with: drover explain tenant ${r.remaining[0] ?? 'NAME'}`);
          return 1;
        }),
      ),
    );

  cluster
    .command('replace')
    .description('Immutable upgrade: build every Prod of OLD on NEW, warm, shift tenants, retire OLD\'s Prods')
    .argument('<old>')
    .requiredOption('--with <new>', 'the cluster that takes over')
    .option('--timeout <seconds>', 'how long to wait for the new Prods to serve', '600')
    .addOption(outputOption())
    .action(
      withExitCode((old: string, o: { with: string; timeout: string | number } & Output, cmd: Command) =>
        withStore(cmd, async (s) => {
          const { replaceCluster } = await import('../../lifecycle/replace.js');
          const onProgress = o.output === undefined ? (p: { step: string; message: string }) => out(`[${p.step}] ${p.message}`) : () => {};
          const res = await replaceCluster(s, old, o.with, { timeoutMs: Number(o.timeout) * 1000, onProgress });
          // The result's message says what was left behind and why; the exit code says whether all moved.
          out(renderResult(o.output, { data: res, names: () => res.moved.map((m) => `prod/${m.to}`), text: () => res.message }));
          return res.ok ? 0 : 1;
        }),
      ),
    );
}
