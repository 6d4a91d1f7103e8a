/**
 * Reference conditions: what `drover apply` warned about (src/cli/apply-warnings.ts), kept true over time
 * on the objects themselves, since those references can become valid later (files are applied in any
 * order, clusters join) — and can break later too (a Fleet deleted under its tenants).
 *   - Tenant `FleetFound`: False (reason FleetNotFound) while `spec.fleet` names no Fleet.
 *   - TrafficPolicy `FleetFound` likewise, and `DomainsKnown`: False (UnknownDomains) while an endpoint
 *     group names a domain no cluster is in.
 * Work in proportion to the change: a condition is written only where it is False or must flip back to
 * True, so the thousands of tenants whose fleet exists cost no write. Keys are `Kind/name`.
 */
import type { Cluster } from '../api/kinds/cluster.js';
import type { Tenant } from '../api/kinds/tenant.js';
import type { TrafficPolicy } from '../api/kinds/traffic-policy.js';
import type { Condition } from '../api/meta.js';
import type { AnyResource } from '../api/resource.js';
import { whenChanged } from '../runtime/predicates.js';
import type { ReconcileContext, Reconciler, Result } from '../runtime/reconciler.js';
import { mutateStatus } from '../store/mutate.js';
import { setCondition, type ConditionInput } from './conditions.js';
import { reader } from './reads.js';

export const FLEET_FOUND = 'FleetFound';
export const DOMAINS_KNOWN = 'DomainsKnown';

/** The conditions a Tenant or TrafficPolicy should carry, given the fleets and cluster domains that exist. */
export function referenceConditions(o: AnyResource, fleetExists: boolean, domains: ReadonlySet<string>): ConditionInput[] {
  const fleet = (o as Tenant | TrafficPolicy).spec.fleet;
  const out: ConditionInput[] = [
    fleetExists
      ? { type: FLEET_FOUND, status: 'True', reason: 'FleetFound', message: `Fleet "${fleet}" exists` }
      : { type: FLEET_FOUND, status: 'False', reason: 'FleetNotFound', message: `Fleet "${fleet}" does not exist; apply it (or correct spec.fleet)` },
  ];
  if (o.kind === 'TrafficPolicy') {
    const unknown = (o as TrafficPolicy).spec.endpointGroups.map((g) => g.domain).filter((d) => !domains.has(d));
    out.push(
      unknown.length === 0
        ? { type: DOMAINS_KNOWN, status: 'True', reason: 'DomainsKnown', message: 'every endpoint group has a cluster' }
        : { type: DOMAINS_KNOWN, status: 'False', reason: 'UnknownDomains', message: `no cluster in domain(s) ${unknown.join(', ')}; their share goes to the other groups` },
    );
  }
  return out;
}

/** Conditions to write: False ones that are missing or differ, and True ones only to flip an existing one. */
export function referenceChanges(current: readonly Condition[], wanted: ConditionInput[]): ConditionInput[] {
  return wanted.filter((w) => {
    const c = current.find((x) => x.type === w.type);
    if (!c) return w.status !== 'True';
    return c.status !== w.status || c.reason !== w.reason || c.message !== w.message;
  });
}

export function referenceController(opts: { now?: () => number; resyncMs?: number } = {}): Reconciler {
  const now = opts.now ?? Date.now;
  const keysOfFleet = async (fleet: string, { store }: { store: ReconcileContext['store'] }) => [
    ...(await store.list('Tenant')).items.filter((t) => t.spec.fleet === fleet).map((t) => `Tenant/${t.metadata.name}`),
    ...(await store.list('TrafficPolicy')).items.filter((p) => p.spec.fleet === fleet).map((p) => `TrafficPolicy/${p.metadata.name}`),
  ];
  return {
    name: 'references',
    resyncMs: opts.resyncMs ?? 60_000,
    watches: [
      { kind: 'Tenant', mapToKeys: whenChanged((o) => (o as Tenant).spec.fleet, (o) => [`Tenant/${o.metadata.name}`]) },
      { kind: 'TrafficPolicy', mapToKeys: (o) => [`TrafficPolicy/${o.metadata.name}`] },
      // Only a fleet appearing or going matters (whenChanged passes ADDED and DELETED; the fingerprint is fixed).
      { kind: 'Fleet', mapToKeys: whenChanged(() => '', (o, change) => keysOfFleet(o.metadata.name, change)) },
      {
        kind: 'Cluster',
        mapToKeys: whenChanged(
          (o) => (o as Cluster).spec.domain ?? (o as Cluster).spec.region,
          async (_o, { store }) => (await store.list('TrafficPolicy')).items.map((p) => `TrafficPolicy/${p.metadata.name}`),
        ),
      },
    ],
    async listKeys(ctx) {
      const read = reader(ctx);
      const [tenants, policies] = await Promise.all([read.list('Tenant'), read.list('TrafficPolicy')]);
      return [...tenants.map((t) => `Tenant/${t.metadata.name}`), ...policies.map((p) => `TrafficPolicy/${p.metadata.name}`)];
    },
    async reconcile(ctx, key): Promise<Result> {
      const slash = key.indexOf('/');
      const kind = key.slice(0, slash);
      const name = key.slice(slash + 1);
      if (kind !== 'Tenant' && kind !== 'TrafficPolicy') return {};
      const read = reader(ctx);
      const o: Tenant | TrafficPolicy | undefined = await read.get(kind, name);
      if (!o || o.metadata.deletionTimestamp) return {};
      const fleet = await read.get('Fleet', o.spec.fleet);
      let domains = new Set<string>();
      if (kind === 'TrafficPolicy') domains = new Set((await read.list('Cluster')).map((c) => c.spec.domain ?? c.spec.region));
      const wanted = (obj: AnyResource) => referenceChanges((obj.status as { conditions?: Condition[] } | undefined)?.conditions ?? [], referenceConditions(obj, fleet !== undefined, domains));
      // Most objects need nothing, decided on the cache's copy without a read. The cache lags this
      // controller's own writes: the write decides again on the stored object.
      if (wanted(o).length === 0) return {};
      const at = new Date(now()).toISOString();
      await mutateStatus<Tenant | TrafficPolicy>(ctx.store, kind, name, (cur) => {
        const todo = wanted(cur);
        if (todo.length === 0 || cur.metadata.deletionTimestamp) return false;
        let conditions = cur.status?.conditions ?? [];
        for (const c of todo) conditions = setCondition(conditions, c, at);
        cur.status = { ...(cur.status ?? {}), conditions };
      });
      return {};
    },
  };
}
