/**
 * The one set of API-object builders for tests, parsed through the real schemas so defaults are filled.
 *
 * Each builder takes a name and options; what an option leaves out is the schema's default, except the
 * few defaults named on each option below. A test that depends on a value (a status phase, a fleet name,
 * a version) says it at the call site.
 */
import { fileURLToPath } from 'node:url';
import { Cluster } from '../../src/api/kinds/cluster.js';
import { Fleet } from '../../src/api/kinds/fleet.js';
import { Prod, type ProdPhase } from '../../src/api/kinds/prod.js';
import { Tenant } from '../../src/api/kinds/tenant.js';

export const exampleAppPath = fileURLToPath(new URL('../../examples/app/server.mjs', import.meta.url));

const API_VERSION = 'drover.dev/v1alpha1';

export interface ClusterOptions {
  /** Defaults to `domain` when that is given, else the schema's default. */
  region?: string;
  domain?: string;
  provider?: 'local' | 'kubernetes' | 'eks';
  /** `spec.capacity.prods`. */
  capacity?: number;
  cordoned?: boolean;
  draining?: boolean;
  kubernetes?: Record<string, unknown>;
  labels?: Record<string, string>;
  /** Any other spec fields, as written in a document. */
  spec?: Record<string, unknown>;
  /** Sets `status.phase` (no status otherwise). */
  phase?: NonNullable<Cluster['status']>['phase'];
}

export function cluster(name: string, opts: ClusterOptions = {}): Cluster {
  const { region = opts.domain, domain, provider, capacity, cordoned, draining, kubernetes, labels = {}, spec = {}, phase } = opts;
  return Cluster.parse({
    apiVersion: API_VERSION,
    kind: 'Cluster',
    metadata: { name, labels },
    spec: defined({ region, domain, provider, capacity: capacity === undefined ? undefined : { prods: capacity }, cordoned, draining, kubernetes, ...spec }),
    ...(phase ? { status: { phase } } : {}),
  });
}

export interface FleetOptions {
  /** Default `v1`. */
  version?: string;
  /** Default `{ command: 'node', args: ['app.js'] }`. */
  app?: Record<string, unknown>;
  prods?: number;
  warmup?: Record<string, unknown>;
  labels?: Record<string, string>;
  /** Any other spec fields, as written in a document. */
  spec?: Record<string, unknown>;
}

export function fleet(name: string, opts: FleetOptions = {}): Fleet {
  const { version = 'v1', app = { command: 'node', args: ['app.js'] }, prods, warmup, labels = {}, spec = {} } = opts;
  return Fleet.parse({ apiVersion: API_VERSION, kind: 'Fleet', metadata: { name, labels }, spec: defined({ version, app, prods, warmup, ...spec }) });
}

export interface ProdOptions {
  cluster: string;
  /** Default `web`. */
  fleet?: string;
  /** Default `v1`. */
  version?: string;
  role?: 'normal' | 'test';
  retire?: boolean;
  replaces?: string;
  env?: Record<string, string>;
  /** Any other spec fields, as written in a document. */
  spec?: Record<string, unknown>;
  /** Sets `status.phase` (no status otherwise). */
  phase?: ProdPhase;
}

export function prod(name: string, opts: ProdOptions): Prod {
  const { cluster: clusterName, fleet: fleetName = 'web', version = 'v1', role, retire, replaces, env, spec = {}, phase } = opts;
  return Prod.parse({
    apiVersion: API_VERSION,
    kind: 'Prod',
    metadata: { name },
    spec: defined({ fleet: fleetName, cluster: clusterName, version, role, retire, replaces, env, ...spec }),
    ...(phase ? { status: { phase } } : {}),
  });
}

export interface TenantOptions {
  /** Default `web`. */
  fleet?: string;
  /** Default 10. */
  users?: number;
  redundancy?: 1 | 2;
  test?: boolean;
  /** `spec.match.hosts`. */
  hosts?: string[];
  /** Any other spec fields, as written in a document. */
  spec?: Record<string, unknown>;
  /** Sets `status.prods` (no status otherwise). */
  prods?: string[];
}

export function tenant(name: string, opts: TenantOptions = {}): Tenant {
  const { fleet: fleetName = 'web', users = 10, redundancy, test, hosts, spec = {}, prods } = opts;
  return Tenant.parse({
    apiVersion: API_VERSION,
    kind: 'Tenant',
    metadata: { name },
    spec: defined({ fleet: fleetName, users, redundancy, test, match: hosts ? { hosts } : undefined, ...spec }),
    ...(prods ? { status: { prods } } : {}),
  });
}

/**
 * The example fleet `shop` of the platform team's talk, B-1, B-2, C-1, C-2; C-2 is the test Prod with the
 * test tenant; C-1 has few users; redundant tenants across A and B (r1 on A-2+B-2, r2 on A-1+B-1);
 * non-redundant tenants on A-1 and B-2.
 */
export function talkFleet(): { prods: Prod[]; tenants: Tenant[] } {
  const shopProd = (name: string, clusterName: string, role: 'normal' | 'test' = 'normal') => prod(name, { fleet: 'shop', cluster: clusterName, role });
  const shopTenant = (name: string, users: number, prods: string[], opts: TenantOptions = {}) =>
    tenant(name, { fleet: 'shop', users, prods, hosts: [`${name}.example.com`], ...opts });
  const prods = [shopProd('a-1', 'a'), shopProd('a-2', 'a'), shopProd('b-1', 'b'), shopProd('b-2', 'b'), shopProd('c-1', 'c'), shopProd('c-2', 'c', 'test')];
  const tenants = [
    shopTenant('qa', 5, ['c-2'], { test: true }),
    shopTenant('tiny', 30, ['c-1']),
    shopTenant('r1', 400, ['a-2', 'b-2'], { redundancy: 2 }),
    shopTenant('r2', 300, ['a-1', 'b-1'], { redundancy: 2 }),
    shopTenant('n1', 250, ['a-1']),
    shopTenant('n2', 200, ['b-2']),
  ];
  return { prods, tenants };
}

/** Drops undefined fields so that the schema fills its defaults. */
function defined(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}
