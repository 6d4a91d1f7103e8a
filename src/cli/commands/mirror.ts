/**
 * `drover mirror diff NAME` (what the last sync found different between the Octavia LB and its NLB, and
 * did not make), `drover mirror sync NAME` (sync now and wait), `drover mirror shift NAME --target N`
 * (move the DNS split for planned maintenance of the private cloud: `--target 100` sends everything to
 * the NLB, `--target 10` is the default split back). Thin: the controller reads Octavia and AWS with the
 * control plane's credentials; the CLI reads and patches the LoadBalancerMirror.
 */
import type { Command } from 'commander';
import { ANNOTATION_SYNC_REQUESTED_AT } from '../../api/labels.js';
import type { LoadBalancerMirror } from '../../api/kinds/load-balancer-mirror.js';
import { errors } from '../../errors.js';
import { withExitCode } from '../action.js';
import { connect, type ConnectOptions } from '../connect.js';

interface WaitOptions extends ConnectOptions {
  timeout: string;
}

const KIND = 'LoadBalancerMirror';

async function requestSync(store: Awaited<ReturnType<typeof connect>>, name: string): Promise<string> {
  const at = new Date().toISOString();
  try {
    await store.patch(KIND, name, { metadata: { annotations: { [ANNOTATION_SYNC_REQUESTED_AT]: at } } });
  } catch (e) {
    if ((e as { code?: string }).code === 'DROVER_E_NOT_FOUND') throw errors.notFound(KIND, name);
    throw e;
  }
  return at;
}

async function waitSynced(store: Awaited<ReturnType<typeof connect>>, name: string, at: string, timeoutMs: number): Promise<LoadBalancerMirror | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const m = await store.get(KIND, name);
    if (m?.status?.lastSyncTime && m.status.lastSyncTime >= at) return m;
    await new Promise((r) => setTimeout(r, 200));
  }
  return undefined;
}

function report(m: LoadBalancerMirror, summarize: (c: NonNullable<LoadBalancerMirror['status']>['lastDiff']) => string): number {
  const st = m.status!;
  const synced = st.conditions.find((c) => c.type === 'Synced');
  const calls = st.lastSyncCalls;
  process.stdout.write(`mirror ${m.metadata.name}: synced at ${st.lastSyncTime} (${calls?.octavia ?? 0} ${m.spec.source.service ? 'Kubernetes API' : 'Octavia'} calls, ${calls?.awsReads ?? 0} AWS reads, ${calls?.awsWrites ?? 0} writes)\n`);
  process.stdout.write(`  changed: ${st.lastDiffTime === st.lastSyncTime ? summarize(st.lastDiff) : 'nothing'}\n`);
  if (st.targets) process.stdout.write(`  targets: ${st.targets.registered}/${st.targets.desired} registered, ${st.targets.healthy} healthy\n`);
  if (st.dns) process.stdout.write(`  DNS: source ${st.dns.weights.source} / target ${st.dns.weights.target}${st.dns.notOwned ? ` (not owned: ${st.dns.notOwned})` : ''}\n`);
  for (const n of st.notes.filter((x) => x.severity === 'refused')) process.stdout.write(`  not mirrored: ${n.resource}: ${n.message}\n`);
  if (synced?.status !== 'True') {
    process.stderr.write(`mirror ${m.metadata.name}: not synced: ${synced?.reason ?? 'Unknown'}: ${synced?.message ?? ''}\n`);
    return 1;
  }
  return 0;
}

export function register(program: Command): void {
  const mirror = program.command('mirror').description('load balancer mirrors: an Octavia LB, its AWS NLB twin and the DNS split between them');
  mirror
    .command('diff')
    .description('the difference the last sync found between the Octavia load balancer and its NLB and did not make (terraform-plan style)')
    .argument('<name>', 'LoadBalancerMirror name')
    .option('--exit-code', 'exit 2 when there are changes')
    .action(
      withExitCode(async (name: string, _o: unknown, cmd: Command) => {
        const opts = cmd.optsWithGlobals<ConnectOptions & { exitCode?: boolean }>();
        const { formatChanges } = await import('../../cloud/state.js');
        const store = await connect(opts);
        try {
          const m = await store.get(KIND, name);
          if (!m) throw errors.notFound(KIND, name);
          const st = m.status;
          if (!st?.lastSyncTime) {
            process.stdout.write(`mirror ${name}: not synced yet\n`);
            return opts.exitCode ? 2 : 0;
          }
          process.stdout.write(`mirror ${name}: as of the sync at ${st.lastSyncTime} (\`drover mirror sync ${name}\` refreshes it)\n`);
          if (st.lastError) process.stdout.write(`  last error: ${st.lastError.field ? `${st.lastError.field}: ` : ''}${st.lastError.code}: ${st.lastError.message}\n`);
          const pending = st.pending ?? [];
          process.stdout.write(pending.length === 0 ? '  no changes: the NLB mirrors the Octavia load balancer\n' : `${formatChanges(pending, '  ')}\n`);
          for (const n of st.notes ?? []) process.stdout.write(`  ${n.severity === 'refused' ? 'not mirrored' : 'approximated'}: ${n.resource}: ${n.message}\n`);
          return opts.exitCode && pending.length > 0 ? 2 : 0;
        } finally {
          await store.close();
        }
      }),
    );
  mirror
    .command('sync')
    .description('sync a mirror now (read Octavia and AWS, write the difference) and wait for the result')
    .argument('<name>', 'LoadBalancerMirror name')
    .option('--timeout <ms>', 'how long to wait for the controller to sync', '30000')
    .action(
      withExitCode(async (name: string, _o: unknown, cmd: Command) => {
        const opts = cmd.optsWithGlobals<WaitOptions>();
        const { summarizeChanges } = await import('../../cloud/state.js');
        const store = await connect(opts);
        try {
          const at = await requestSync(store, name);
          const m = await waitSynced(store, name, at, Number(opts.timeout));
          if (!m) {
            process.stderr.write(`mirror ${name}: no sync within ${opts.timeout}ms; is the control plane (drover server / drover up) running?\n`);
            return 1;
          }
          return report(m, summarizeChanges);
        } finally {
          await store.close();
        }
      }),
    );
  mirror
    .command('shift')
    .description('set the DNS split: --target 100 sends all traffic to the NLB (maintenance of the private cloud), --target 10 is the default back')
    .argument('<name>', 'LoadBalancerMirror name')
    .requiredOption('--target <percent>', 'share of the NLB side, 0–100 (the source gets the rest)')
    .option('--no-wait', 'do not wait for the controller to write the records')
    .option('--timeout <ms>', 'how long to wait for the controller', '30000')
    .action(
      withExitCode(async (name: string, _o: unknown, cmd: Command) => {
        const opts = cmd.optsWithGlobals<WaitOptions & { target: string; wait: boolean }>();
        const target = Number(opts.target);
        if (!Number.isInteger(target) || target < 0 || target > 100) {
          throw errors.invalid(`--target ${opts.target}: must be a whole percentage from 0 to 100`, '--target', 'e.g. --target 100 for maintenance, --target 10 to go back');
        }
        const store = await connect(opts);
        try {
          const m = await store.get(KIND, name);
          if (!m) throw errors.notFound(KIND, name);
          if (!m.spec.dns) throw errors.invalid(`mirror ${name} has no spec.dns.route53: there is no DNS split to shift`, 'spec.dns.route53', 'add spec.dns.route53 {hostedZoneId, recordName} to the mirror');
          const at = new Date().toISOString();
          await store.patch(KIND, name, { metadata: { annotations: { [ANNOTATION_SYNC_REQUESTED_AT]: at } }, spec: { dns: { route53: { weights: { source: 100 - target, target } } } } });
          process.stdout.write(`mirror ${name}: weights set to source ${100 - target} / target ${target}\n`);
          if (!opts.wait) return 0;
          const synced = await waitSynced(store, name, at, Number(opts.timeout));
          const w = synced?.status?.dns?.weights;
          if (!w || w.target !== target) {
            process.stderr.write(`mirror ${name}: the records do not hold the new weights yet${synced?.status?.lastError ? ` (${synced.status.lastError.code}: ${synced.status.lastError.message})` : ''}\n`);
            return 1;
          }
          process.stdout.write(`mirror ${name}: Route 53 records hold source ${w.source} / target ${w.target}\n`);
          return 0;
        } finally {
          await store.close();
        }
      }),
    );
}
