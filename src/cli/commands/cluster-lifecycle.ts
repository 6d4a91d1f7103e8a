/** `drover cluster cordon|uncordon|drain NAME` and `drover cluster replace OLD --with NEW`. */
import type { Command } from 'commander';
import { cordonMessage, drainCluster, type DrainReport } from '../../lifecycle/cluster-ops.js';
import { replaceCluster } from '../../lifecycle/replace.js';
import type { Store } from '../../store/store.js';
import { withExitCode } from '../action.js';
import { connect, type ConnectOptions } from '../connect.js';
import { commandGroup } from './index.js';

const out = (s: string): void => void process.stdout.write(`${s}\n`);

export function describeDrain(r: DrainReport): string {
  const lines = [r.done ? `cluster ${r.cluster} drained: no tenant is served there` : `cluster ${r.cluster}: tenants still there: ${r.remaining.join(', ')}`];
  for (const d of r.degraded) lines.push(`  redundancy not kept for tenant ${d.tenant}: on ${d.prods.join(',') || 'no Prod'} in ${d.domains.length} domain(s) — ${d.reason}`);
  return lines.join('\n');
}

export function register(program: Command): void {
  const cluster = commandGroup(program, 'cluster', 'Cluster lifecycle: add, cordon, drain, replace');
  const run = (fn: (store: Store) => Promise<number | void>) => async (cmd: Command): Promise<number> => {
    const store = await connect(cmd.optsWithGlobals<ConnectOptions>());
    try {
      return (await fn(store)) ?? 0;
    } finally {
      await store.close();
    }
  };

  cluster
    .command('cordon')
    .description('No new Prods on this cluster; its Prods keep serving')
    .argument('<name>')
    .action(withExitCode((name: string, _o: unknown, cmd: Command) => run(async (s) => void out(await cordonMessage(s, name, 'cordon')))(cmd)));

  cluster
    .command('uncordon')
    .description('Allow Prods on this cluster again (and stop draining it)')
    .argument('<name>')
    .action(withExitCode((name: string, _o: unknown, cmd: Command) => run(async (s) => void out(await cordonMessage(s, name, 'uncordon')))(cmd)));

  cluster
    .command('drain')
    .description('Move tenants off this cluster, keeping redundancy where capacity allows; reports what it could not keep')
    .argument('<name>')
    .option('--timeout <seconds>', 'how long to wait for the tenants to move', '120')
    .option('--no-wait', 'set draining and return')
    .action(withExitCode((name: string, o: { timeout: string; wait: boolean }, cmd: Command) =>
      run(async (s) => {
        const r = await drainCluster(s, name, { timeoutMs: o.wait ? Number(o.timeout) * 1000 : 0, onProgress: (p) => out(describeDrain(p)) });
        if (r.done || !o.wait) return 0;
        out(`not drained within ${o.timeout}s: ${name} stays cordoned and draining, and the scheduler keeps moving its tenants; see why with: drover explain tenant ${r.remaining[0] ?? 'NAME'}`);
        return 1;
      })(cmd),
    ),
    );

  cluster
    .command('replace')
    .description('Immutable upgrade: build every Prod of OLD on NEW, warm, shift tenants, retire OLD\'s Prods')
    .argument('<old>')
    .requiredOption('--with <new>', 'the cluster that takes over')
    .option('--timeout <seconds>', 'how long to wait for the new Prods to serve', '600')
    .action(withExitCode((old: string, o: { with: string; timeout: string }, cmd: Command) =>
      run(async (s) => {
        const res = await replaceCluster(s, old, o.with, { timeoutMs: Number(o.timeout) * 1000, onProgress: (p) => out(`[${p.step}] ${p.message}`) });
        // The result's message says what was left behind and why; the exit code says whether all moved.
        out(res.message);
        return res.ok ? 0 : 1;
      })(cmd),
    ),
    );
}
