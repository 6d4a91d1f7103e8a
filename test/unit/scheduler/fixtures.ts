/** API objects for scheduler tests, parsed through the real schemas so defaults are filled. */
import { Cluster, Fleet, Prod, Tenant } from '../../../src/api/index.js';

const meta = (name: string, labels: Record<string, string> = {}) => ({ name, labels });

export function cluster(name: string, domain: string, opts: { phase?: 'Ready' | 'NotReady'; draining?: boolean; cordoned?: boolean; region?: string; labels?: Record<string, string>; capacity?: number; provider?: 'local' | 'eks' } = {}): Cluster {
  return Cluster.parse({
    apiVersion: 'drover.dev/v1alpha1',
    kind: 'Cluster',
    metadata: meta(name, opts.labels),
    spec: { region: opts.region ?? domain, domain, draining: opts.draining ?? false, cordoned: opts.cordoned ?? false, capacity: { prods: opts.capacity ?? 10 }, provider: opts.provider ?? 'local' },
    status: { phase: opts.phase ?? 'Ready' },
  });
}

export function fleet(name: string, spec: Record<string, unknown> = {}): Fleet {
  return Fleet.parse({
    apiVersion: 'drover.dev/v1alpha1',
    kind: 'Fleet',
    metadata: meta(name),
    spec: { version: 'v1', app: { command: 'node' }, ...spec },
  });
}

export function prod(name: string, clusterName: string, opts: { fleet?: string; role?: 'normal' | 'test'; phase?: 'Ready' | 'Pending' | 'Retired'; retire?: boolean; replaces?: string } = {}): Prod {
  return Prod.parse({
    apiVersion: 'drover.dev/v1alpha1',
    kind: 'Prod',
    metadata: meta(name),
    spec: { fleet: opts.fleet ?? 'web', cluster: clusterName, version: 'v1', role: opts.role ?? 'normal', retire: opts.retire ?? false, ...(opts.replaces ? { replaces: opts.replaces } : {}) },
    status: { phase: opts.phase ?? 'Ready' },
  });
}

export function tenant(name: string, spec: Record<string, unknown> = {}, prods?: string[]): Tenant {
  return Tenant.parse({
    apiVersion: 'drover.dev/v1alpha1',
    kind: 'Tenant',
    metadata: meta(name),
    spec: { fleet: 'web', users: 10, ...spec },
    ...(prods ? { status: { prods } } : {}),
  });
}
