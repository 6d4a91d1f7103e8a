/**
 * `drover cloud diff NAME` (the change the next sync of a CloudTraffic would make, terraform-plan style)
 * and `drover cloud sync NAME` (sync now, and wait for it). Self-contained: the cloud modules are loaded
 * when a command runs, never when the program is built; the AWS SDK is never loaded by the CLI (the diff
 * compiles the plan client-side and compares with what the controller last read from AWS).
 */
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { ANNOTATION_SYNC_REQUESTED_AT } from '../../api/labels.js';
import { errors } from '../../errors.js';
import { withExitCode } from '../action.js';
import { connect, type ConnectOptions } from '../connect.js';

interface DiffOptions extends ConnectOptions {
  output?: string;
  exitCode?: boolean;
}

interface SyncOptions extends ConnectOptions {
  timeout: string;
}

export function register(program: Command): void {
  const cloud = program.commands.find((c) => c.name() === 'cloud') ?? program.command('cloud').description('steer cloud traffic layers (Global Accelerator, Route 53) from the traffic plan');
  cloud
    .command('diff')
    .description('what the next sync of a CloudTraffic would change in AWS, as `terraform plan` shows it')
    .argument('<name>', 'CloudTraffic name')
    .option('-o, --output <format>', 'json or yaml (default: text)')
    .option('--exit-code', 'exit 2 when there are changes (as `terraform plan -detailed-exitcode`)')
    .action(
      withExitCode(async (name: string, _o: unknown, cmd: Command) => {
        const opts = cmd.optsWithGlobals<DiffOptions>();
        const [{ CloudTraffic: schema }, { compileCloud }, { plannedChanges }, { cloudDiff, formatCloudDiff }] = await Promise.all([
          import('../../api/kinds/cloud-traffic.js'),
          import('../../cloud/compile.js'),
          import('../../cloud/state.js'),
          import('../../cloud/format-diff.js'),
        ]);
        const store = await connect(opts);
        try {
          const raw = await store.get('CloudTraffic', name);
          if (!raw) throw errors.notFound('CloudTraffic', name);
          const ct = schema.parse(raw);
          const [plan, clusters] = await Promise.all([store.get('TrafficPlan', ct.spec.fleet), store.list('Cluster')]);
          const compiled = plan ? compileCloud(ct.spec, plan.spec, clusters.items) : undefined;
          const changes = compiled ? plannedChanges(compiled.state, ct.status) : [];
          const notes = compiled ? compiled.notes : [`fleet ${ct.spec.fleet} has no traffic plan yet: nothing to steer`];
          const diff = cloudDiff(ct, changes, plan?.spec.revision, notes, compiled?.failStatic ?? false);
          if (opts.output === 'json') process.stdout.write(`${JSON.stringify(diff, null, 2)}\n`);
          else if (opts.output === 'yaml') process.stdout.write(stringify(diff));
          else process.stdout.write(formatCloudDiff(diff));
          return opts.exitCode && changes.length > 0 ? 2 : 0;
        } finally {
          await store.close();
        }
      }),
    );
  cloud
    .command('sync')
    .description('sync a CloudTraffic now (read AWS, diff, write in apply mode) and wait for the result')
    .argument('<name>', 'CloudTraffic name')
    .option('--timeout <ms>', 'how long to wait for the controller to sync', '30000')
    .action(
      withExitCode(async (name: string, _o: unknown, cmd: Command) => {
        const opts = cmd.optsWithGlobals<SyncOptions>();
        const { summarizeChanges } = await import('../../cloud/state.js');
        const store = await connect(opts);
        try {
          const at = new Date().toISOString();
          try {
            await store.patch('CloudTraffic', name, { metadata: { annotations: { [ANNOTATION_SYNC_REQUESTED_AT]: at } } });
          } catch (e) {
            if ((e as { code?: string }).code === 'DROVER_E_NOT_FOUND') throw errors.notFound('CloudTraffic', name);
            throw e;
          }
          const deadline = Date.now() + Number(opts.timeout);
          while (Date.now() < deadline) {
            const ct = await store.get('CloudTraffic', name);
            const st = ct?.status;
            if (ct && st?.lastSyncTime && st.lastSyncTime >= at) {
              const synced = st.conditions.find((c) => c.type === 'Synced');
              const fresh = st.plannedTime !== undefined && st.plannedTime >= at;
              process.stdout.write(`cloudtraffic ${name}: synced at ${st.lastSyncTime} (${st.lastSyncCalls?.reads ?? 0} AWS reads, ${st.lastSyncCalls?.writes ?? 0} writes; observed: ${st.observedSource ?? 'unknown'})\n`);
              process.stdout.write(`  ${fresh && ct.spec.mode === 'dryRun' ? 'planned (dryRun, not written)' : 'changed'}: ${fresh ? summarizeChanges(st.planned) : 'nothing'}\n`);
              if (st.notOwned.length > 0) process.stdout.write(`  not touched (not owned by Drover): ${st.notOwned.join('; ')}\n`);
              if (synced?.status !== 'True') {
                process.stderr.write(`cloudtraffic ${name}: not synced: ${synced?.reason ?? 'Unknown'}: ${synced?.message ?? ''}\n`);
                return 1;
              }
              return 0;
            }
            await new Promise((r) => setTimeout(r, 200));
          }
          process.stderr.write(`cloudtraffic ${name}: no sync within ${opts.timeout}ms; is the control plane (drover server / drover up) running?\n`);
          return 1;
        } finally {
          await store.close();
        }
      }),
    );
}
