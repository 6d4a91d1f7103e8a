/**
 * Admission: checks of a spec write against the other objects, after its own schema passed. Only
 * contradictions *in the data* are refused, because no later write can make them right:
 *   - two Tenants claiming one host (`spec.match.hosts`, the same pattern): the edge would silently send
 *     the host to whichever it indexed first;
 *   - a second TrafficPolicy for one fleet: the plan compiler would silently pick one.
 * References to objects that may come later (a Tenant whose Fleet is not applied yet, a policy naming a
 * domain with no cluster yet) are accepted — files are applied in any order — and `drover apply` warns
 * about them (src/cli/apply-warnings.ts).
 *
 * Cost is in proportion to the change: an index (host → tenant, fleet → policy) kept by informers over
 * the store answers each check with Map lookups, never a list of every tenant. Two requests racing for
 * one host cannot both pass:
 *   - a Tenant write checks its hosts and claims them as *pending* in one synchronous step, before its
 *     store write starts; a later check sees the pending claim as it sees a stored one. The claim ends
 *     when the write does (recorded in the index if it was stored). So Tenant writes of different hosts
 *     run concurrently and share the store's group commit — serialising them capped Tenant creates at
 *     one per commit-and-fsync (~1,100/s here, whatever the clients' concurrency). A write refused only
 *     because another one was in flight is a legal order of two concurrent requests (that one first);
 *   - TrafficPolicy writes (a few per fleet) are serialised: check, write, record, then the next.
 */
import type { Tenant } from '../api/kinds/tenant.js';
import type { TrafficPolicy } from '../api/kinds/traffic-policy.js';
import type { AnyResource } from '../api/resource.js';
import { Informer } from '../runtime/informer.js';
import { DroverError } from '../errors.js';
import type { Store } from '../store/store.js';
import { MigrationAdmission } from './migration-admission.js';

const SYNC_TIMEOUT_MS = 10_000;

export class Admission {
  private readonly tenants: Informer<Tenant>;
  private readonly policies: Informer<TrafficPolicy>;
  /** host pattern → tenant claiming it; tenant → its hosts (to undo on update/delete). */
  private readonly hostOwner = new Map<string, string>();
  private readonly hostsOf = new Map<string, readonly string[]>();
  /** fleet → policy name; policy → fleet. */
  private readonly policyOf = new Map<string, string>();
  private readonly fleetOf = new Map<string, string>();
  /** host pattern → tenant → Tenant writes claiming it that are in flight (stored or not yet known). */
  private readonly pendingHosts = new Map<string, Map<string, number>>();
  private policyQueue: Promise<unknown> = Promise.resolve();
  private started = false;
  /** Migrations, and Releases against active migrations (migration-admission.ts). */
  private readonly migrations: MigrationAdmission;

  constructor(store: Store) {
    this.migrations = new MigrationAdmission(store);
    this.tenants = new Informer<Tenant>(store, 'Tenant');
    this.policies = new Informer<TrafficPolicy>(store, 'TrafficPolicy');
    this.tenants.addHandler({ onAdd: (t) => this.recordTenant(t), onUpdate: (_o, t) => this.recordTenant(t), onDelete: (t) => this.forgetTenant(t.metadata.name) });
    this.policies.addHandler({ onAdd: (p) => this.recordPolicy(p), onUpdate: (_o, p) => this.recordPolicy(p), onDelete: (p) => this.forgetPolicy(p.metadata.name) });
  }

  /**
   * Runs `write` (the store write of `o`) if `o` contradicts no stored object; throws the refusal
   * otherwise. Kinds without admission rules are written at once.
   */
  async admit<T extends AnyResource>(o: AnyResource, write: () => Promise<T>): Promise<T> {
    if (o.kind === 'Migration' || o.kind === 'Release') return this.migrations.admit(o, write);
    if (o.kind !== 'Tenant' && o.kind !== 'TrafficPolicy') return write();
    await this.sync();
    if (o.kind === 'Tenant') return this.admitTenant(o as Tenant, write);
    const run = this.policyQueue.catch(() => undefined).then(async () => {
      this.checkPolicy(o as TrafficPolicy);
      const stored = await write();
      this.recordPolicy(stored as unknown as TrafficPolicy);
      return stored;
    });
    this.policyQueue = run;
    return run;
  }

  private async admitTenant<T extends AnyResource>(t: Tenant, write: () => Promise<T>): Promise<T> {
    // No await between the check and the claim: that is what keeps racing claims apart.
    this.checkTenant(t);
    const release = this.claimPending(t);
    try {
      const stored = await write();
      // Recorded before the pending claim ends, so the host is never unclaimed in between.
      this.recordTenant(stored as unknown as Tenant);
      return stored;
    } finally {
      release();
    }
  }

  private claimPending(t: Tenant): () => void {
    const name = t.metadata.name;
    const hosts = [...new Set(t.spec.match.hosts)];
    for (const h of hosts) {
      const by = this.pendingHosts.get(h) ?? new Map<string, number>();
      by.set(name, (by.get(name) ?? 0) + 1);
      this.pendingHosts.set(h, by);
    }
    return () => {
      for (const h of hosts) {
        const by = this.pendingHosts.get(h);
        const n = (by?.get(name) ?? 0) - 1;
        if (n > 0) by?.set(name, n);
        else by?.delete(name);
        if (by?.size === 0) this.pendingHosts.delete(h);
      }
    };
  }

  /** An object deleted through the API: its claims end now, not when the informer hears of it. */
  deleted(o: AnyResource): void {
    if (o.metadata.deletionTimestamp && o.metadata.finalizers.length > 0) return;
    if (o.kind === 'Tenant') this.forgetTenant(o.metadata.name);
    else if (o.kind === 'TrafficPolicy') this.forgetPolicy(o.metadata.name);
  }

  async stop(): Promise<void> {
    await Promise.all([this.tenants.stop(), this.policies.stop()]);
  }

  private async sync(): Promise<void> {
    if (!this.started) {
      this.started = true;
      this.tenants.start();
      this.policies.start();
    }
    await Promise.all([this.tenants.waitForSync({ timeoutMs: SYNC_TIMEOUT_MS }), this.policies.waitForSync({ timeoutMs: SYNC_TIMEOUT_MS })]);
  }

  private checkTenant(t: Tenant): void {
    const hosts = t.spec.match.hosts;
    for (let i = 0; i < hosts.length; i++) {
      const owner = this.hostOwner.get(hosts[i]!) ?? this.pendingOwner(hosts[i]!, t.metadata.name);
      if (owner !== undefined && owner !== t.metadata.name) {
        throw new DroverError('DROVER_E_HOST_CLAIMED', `host "${hosts[i]}" is already claimed by tenant "${owner}"`, {
          field: `spec.match.hosts[${i}]`,
          fix: `a host belongs to one tenant: remove it from this tenant, or first from tenant "${owner}" (\`drover get tenant ${owner} -o yaml\`)`,
        });
      }
    }
  }

  /** Another tenant whose write claiming `host` is in flight, if any. */
  private pendingOwner(host: string, self: string): string | undefined {
    for (const name of this.pendingHosts.get(host)?.keys() ?? []) if (name !== self) return name;
    return undefined;
  }

  private checkPolicy(p: TrafficPolicy): void {
    const other = this.policyOf.get(p.spec.fleet);
    if (other !== undefined && other !== p.metadata.name) {
      throw new DroverError('DROVER_E_POLICY_EXISTS', `fleet "${p.spec.fleet}" already has TrafficPolicy "${other}"`, {
        field: 'spec.fleet',
        fix: `a fleet has one traffic policy: edit "${other}" (\`drover get trafficpolicy ${other} -o yaml\`), or delete it first`,
      });
    }
  }

  private recordTenant(t: Tenant): void {
    this.forgetTenant(t.metadata.name);
    const hosts = t.spec.match.hosts;
    this.hostsOf.set(t.metadata.name, hosts);
    for (const h of hosts) if (!this.hostOwner.has(h)) this.hostOwner.set(h, t.metadata.name);
  }

  private forgetTenant(name: string): void {
    for (const h of this.hostsOf.get(name) ?? []) if (this.hostOwner.get(h) === name) this.hostOwner.delete(h);
    this.hostsOf.delete(name);
  }

  private recordPolicy(p: TrafficPolicy): void {
    this.forgetPolicy(p.metadata.name);
    this.fleetOf.set(p.metadata.name, p.spec.fleet);
    if (!this.policyOf.has(p.spec.fleet)) this.policyOf.set(p.spec.fleet, p.metadata.name);
  }

  private forgetPolicy(name: string): void {
    const fleet = this.fleetOf.get(name);
    if (fleet !== undefined && this.policyOf.get(fleet) === name) this.policyOf.delete(fleet);
    this.fleetOf.delete(name);
  }
}
