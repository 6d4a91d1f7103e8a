/** `drover cluster add NAME --kubeconfig PATH --context C …`: thin; the work is in drivers/kubernetes/add-cluster.ts. */
import { InvalidArgumentError, type Command } from 'commander';
import { withExitCode } from '../action.js';
import type { ConnectOptions } from '../connect.js';
import { outputOption, renderResult } from '../format/output.js';
import { out, withStore } from '../kit.js';
import { commandGroup } from './group.js';

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
  output?: string;
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
    .option('--capacity <n>', 'most Prods this cluster takes')
    .option('--ingress-host <host>', 'wildcard host of an ingress in front of the cluster; Prods answer on <namespace>.<host>')
    .addOption(outputOption())
    .action(
      withExitCode(async (name: string, _opts: AddOptions, cmd: Command) => {
        const { server: _server, token: _token, output, ...input } = cmd.optsWithGlobals<AddOptions>();
        // The Kubernetes client loads only for this command.
        const { addKubernetesCluster } = await import('../../drivers/kubernetes/add-cluster.js');
        return withStore(cmd, async (store) => {
          const r = await addKubernetesCluster(store, { name, ...input });
          for (const w of r.warnings) process.stderr.write(`warning: ${w}\n`);
          const h = r.health;
          const facts = h.reachable
            ? [`Kubernetes ${h.serverVersion ?? '?'}`, ...(h.nodes ? [`${h.nodes.ready}/${h.nodes.total} nodes Ready`] : [])]
            : [h.failure === 'unauthorized' ? 'unauthorized' : 'unreachable'];
          out(renderResult(output, {
            data: output === undefined ? undefined : await store.get('Cluster', name),
            names: () => [`cluster/${name}`],
            text: () => `cluster/${name} ${r.created ? 'created' : 'configured'} (${facts.join(', ')})`,
          }));
        });
      }),
    );
}
