/** `drover cluster add NAME --kubeconfig PATH --context C …`: thin; the work is in drivers/kubernetes/add-cluster.ts. */
import { InvalidArgumentError, type Command } from 'commander';
import { addKubernetesCluster } from '../../drivers/kubernetes/add-cluster.js';
import { withExitCode } from '../action.js';
import { connect, type ConnectOptions } from '../connect.js';
import { commandGroup } from './index.js';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a whole number of Prods, e.g. 10');
  return n;
}

function provider(value: string): 'kubernetes' | 'eks' {
  if (value !== 'kubernetes' && value !== 'eks') throw new InvalidArgumentError('must be "kubernetes" or "eks"');
  return value;
}

interface AddOptions extends ConnectOptions {
  kubeconfig?: string;
  context: string;
  provider?: 'kubernetes' | 'eks';
  region?: string;
  domain?: string;
  capacity?: number;
  ingressHost?: string;
}

export function register(program: Command): void {
  commandGroup(program, 'cluster', 'Manage the clusters Prods run on')
    .command('add')
    .description('Register (or update) a Kubernetes cluster from a kubeconfig context')
    .argument('<name>', 'cluster name (DNS-1123 label)')
    .requiredOption('--context <context>', 'kubeconfig context to use')
    .option('--kubeconfig <path>', 'kubeconfig file (default: $KUBECONFIG or ~/.kube/config)')
    .option('--provider <provider>', 'kubernetes or eks', provider, 'kubernetes')
    .option('--region <region>', 'region, e.g. eu-west-1')
    .option('--domain <domain>', 'failure domain (default: the region)')
    .option('--capacity <n>', 'most Prods this cluster takes', positiveInt)
    .option('--ingress-host <host>', 'wildcard host of an ingress in front of the cluster; Prods answer on <namespace>.<host>')
    .action(
      withExitCode(async (name: string, _opts: AddOptions, cmd: Command) => {
        const { server: _server, token: _token, ...input } = cmd.optsWithGlobals<AddOptions>();
        const store = await connect(cmd.optsWithGlobals<AddOptions>());
        try {
          const r = await addKubernetesCluster(store, { name, ...input });
          for (const w of r.warnings) process.stderr.write(`warning: ${w}\n`);
          const h = r.health;
          const facts = h.reachable
            ? [`Kubernetes ${h.serverVersion ?? '?'}`, ...(h.nodes ? [`${h.nodes.ready}/${h.nodes.total} nodes Ready`] : [])]
            : [h.failure === 'unauthorized' ? 'unauthorized' : 'unreachable'];
          process.stdout.write(`cluster/${name} ${r.created ? 'created' : 'configured'} (${facts.join(', ')})\n`);
          return 0;
        } finally {
          await store.close();
        }
      }),
    );
}
