/** Small builders for release tests: the talk's fleet (SEEDS 004) as Prod and Tenant documents. */
import { API_VERSION } from '../../../src/api/meta.js';
import type { Prod } from '../../../src/api/kinds/prod.js';
import type { Tenant } from '../../../src/api/kinds/tenant.js';

const meta = (name: string) => ({ name, labels: {}, annotations: {}, finalizers: [], ownerReferences: [] });

export function prod(name: string, cluster: string, opts: { role?: 'normal' | 'test'; version?: string; fleet?: string } = {}): Prod {
  return {
    apiVersion: API_VERSION,
    kind: 'Prod',
    metadata: meta(name),
    spec: { fleet: opts.fleet ?? 'shop', cluster, version: opts.version ?? 'v1', role: opts.role ?? 'normal', retire: false, env: {}, takeover: false },
  };
}

export function tenant(name: string, users: number, prods: string[], opts: { redundancy?: 1 | 2; test?: boolean } = {}): Tenant {
  return {
    apiVersion: API_VERSION,
    kind: 'Tenant',
    metadata: meta(name),
    spec: { fleet: 'shop', users, redundancy: opts.redundancy ?? 1, match: { hosts: [`${name}.example.com`] }, test: opts.test ?? false, pin: [] },
    status: { conditions: [], prods, domains: [] },
  };
}

/**
 * The talk's example, B-1, B-2, C-1, C-2; C-2 is the test Prod with the test tenant; C-1 has
 * few users; redundant tenants across A and B (r1 on A-2+B-2, r2 on A-1+B-1); non-redundant tenants on
 * A-1 and B-2.
 */
export function talkFleet(): { prods: Prod[]; tenants: Tenant[] } {
  const prods = [
    prod('a-1', 'a'),
    prod('a-2', 'a'),
    prod('b-1', 'b'),
    prod('b-2', 'b'),
    prod('c-1', 'c'),
    prod('c-2', 'c', { role: 'test' }),
  ];
  const tenants = [
    tenant('qa', 5, ['c-2'], { test: true }),
    tenant('tiny', 30, ['c-1']),
    tenant('r1', 400, ['a-2', 'b-2'], { redundancy: 2 }),
    tenant('r2', 300, ['a-1', 'b-1'], { redundancy: 2 }),
    tenant('n1', 250, ['a-1']),
    tenant('n2', 200, ['b-2']),
  ];
  return { prods, tenants };
}
