/** Prod, Fleet and Cluster documents for the Kubernetes driver tests, parsed so defaults are filled. */
import { Cluster } from '../../../../src/api/kinds/cluster.js';
import { Fleet } from '../../../../src/api/kinds/fleet.js';
import { Prod } from '../../../../src/api/kinds/prod.js';

export function fleet(name: string, app: Record<string, unknown>, version = 'v1'): Fleet {
  return Fleet.parse({ apiVersion: 'drover.dev/v1alpha1', kind: 'Fleet', metadata: { name }, spec: { version, app } });
}

export function prod(name: string, fleetName: string, version = 'v1', env: Record<string, string> = {}): Prod {
  return Prod.parse({
    apiVersion: 'drover.dev/v1alpha1',
    kind: 'Prod',
    metadata: { name },
    spec: { fleet: fleetName, cluster: 'k1', version, env },
  });
}

export function cluster(kubernetes: Record<string, unknown> = { context: 'test' }, name = 'k1'): Cluster {
  return Cluster.parse({ apiVersion: 'drover.dev/v1alpha1', kind: 'Cluster', metadata: { name }, spec: { provider: 'kubernetes', kubernetes } });
}
