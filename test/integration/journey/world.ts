/**
 * The world of the operator-journey model test: a MemoryStore, the real controllers (the same
 * `controllerFactories` `drover server` runs, in one runtime Manager), simulated clusters running the
 * real Agent (test/helpers/sim-clusters.ts), and a mirror of the store that checks the invariants that
 * must hold at every single write, not only once things settle.
 *
 * The rules checked are the design's (docs: DESIGN.md "Scheduling rules", "Cluster lifecycle",
 * "Principles that the first version taught us"), not today's behaviour.
 */
import type { Cluster } from '../../../src/api/kinds/cluster.js';
import { clusterDomain } from '../../../src/api/kinds/cluster.js';
import { Fleet } from '../../../src/api/kinds/fleet.js';
import type { Prod } from '../../../src/api/kinds/prod.js';
import type { Release } from '../../../src/api/kinds/release.js';
import { Tenant } from '../../../src/api/kinds/tenant.js';
import type { TrafficPlan, TrafficRoute } from '../../../src/api/kinds/traffic-plan.js';
import type { AnyResource } from '../../../src/api/resource.js';
import { controllerFactories } from '../../../src/controllers/index.js';
import { isReleaseActive as releaseIsActive } from '../../../src/api/kinds/release.js';
import { retireReasonAnnotation } from '../../../src/controllers/fleet-plan.js';
import { LABEL_RELEASE, LABEL_REPLACE } from '../../../src/release/successor.js';
import { Manager } from '../../../src/runtime/manager.js';
import { MemoryStore } from '../../../src/store/memory/memory-store.js';
import type { WatchEvent } from '../../../src/store/store.js';
import { SimClusters } from '../../helpers/sim-clusters.js';
import { StoreMirror } from '../../helpers/store-mirror.js';
import { waitFor } from '../../helpers/wait-for.js';

export const FLEET = 'web';
/** Heartbeat grace of the simulated clusters: short so a kill is noticed fast, long enough for a busy 2-core box. */
export const GRACE_MS = 1000;
/** Nothing but heartbeats written for this long = settled (longer than the release controller's 250 ms poll). */
export const QUIET_MS = 400;
/** The bound within which the control plane must have settled after an operator action. */
export const SETTLE_BOUND_MS = 15_000;

/** Templates whose app does not start (as examples/basic.yaml's wrong args did) and versions that crash. */
export const BROKEN_ARG = '--broken';
export const BAD_VERSION_PREFIX = 'bad';

export interface InitialCluster {
  name: string;
  domain: string;
  capacity: number;
}

export interface InitialTenant {
  name: string;
  redundancy: 1 | 2;
  test: boolean;
}

export const initialClusters: InitialCluster[] = [
  { name: 'tokyo', domain: 'tokyo', capacity: 3 },
  { name: 'osaka', domain: 'osaka', capacity: 3 },
  { name: 'onprem', domain: 'onprem', capacity: 3 },
];

export const initialTenants: InitialTenant[] = [
  { name: 'shop', redundancy: 1, test: false },
  { name: 'bigmart', redundancy: 2, test: false },
  { name: 'megastore', redundancy: 2, test: false },
  { name: 'qa', redundancy: 1, test: true },
];

export const initialFleet = { prods: 4, testProds: 1, version: 'v1' };

export function fleetDoc(spec: { prods: number; testProds: number; version: string; env?: Record<string, string>; broken?: boolean }): Fleet {
  return Fleet.parse({
    apiVersion: 'drover.dev/v1alpha1',
    kind: 'Fleet',
    metadata: { name: FLEET },
    spec: {
      prods: spec.prods,
      testProds: spec.testProds,
      version: spec.version,
      app: { command: 'node', args: ['server.mjs', ...(spec.broken ? [BROKEN_ARG] : [])], env: spec.env ?? {}, healthPath: '/healthz' },
      warmup: { requests: 1 },
    },
  });
}

export function tenantDoc(t: InitialTenant): Tenant {
  return Tenant.parse({
    apiVersion: 'drover.dev/v1alpha1',
    kind: 'Tenant',
    metadata: { name: t.name },
    spec: { fleet: FLEET, users: 10, redundancy: t.redundancy, test: t.test, match: { hosts: [`${t.name}.example.com`] } },
  });
}

const live = (p: Prod) => !p.spec.retire && p.status?.phase !== 'Retired';

/** The rules a violation breaks; a test may leave out the ones whose fixes are not merged yet. */
export const rules = ['capacity', 'spread', 'oneRollout', 'redundancy', 'testTenants', 'served', 'healthyKept', 'snapshot', 'saysWhy', 'settles', 'oneFailed', 'drain', 'patience', 'releaseOwns'] as const;
export type Rule = (typeof rules)[number];

export class World {
  readonly store = new MemoryStore();
  readonly mirror = new StoreMirror(this.store);
  readonly sim = new SimClusters(this.store, {
    heartbeatGraceMs: GRACE_MS,
    cannotStart: (s) =>
      s.args.includes(BROKEN_ARG) ? `app exited: unknown argument ${BROKEN_ARG}` : s.version.startsWith(BAD_VERSION_PREFIX) ? `version ${s.version} crashes at start` : undefined,
  });
  readonly manager: Manager;
  /** Invariant violations seen at any write since the last `takeViolations`. */
  private violations: string[] = [];
  /** Errors the controllers logged (shown with a failure, as a hint). */
  readonly controllerErrors: string[] = [];
  private journalSeen = 0;

  /** Rules this world does not check (see `pendingRules` in the test). */
  private readonly ignored: ReadonlySet<Rule>;

  constructor(ignore: readonly Rule[] = []) {
    this.ignored = new Set(ignore);
    this.manager = new Manager({
      store: this.store,
      reconcilers: controllerFactories.map((f) => f({ store: this.store })),
      logger: {
        log: (level, msg, fields) => {
          if (level === 'error') this.controllerErrors.push(`${msg} ${JSON.stringify(fields ?? {})}`);
        },
      },
    });
    this.mirror.onEvent((ev, prev) => this.onWrite(ev, prev));
  }

  async start(): Promise<void> {
    this.mirror.start();
    await this.sim.start();
    this.manager.start();
    for (const c of initialClusters) await this.sim.add(c.name, c.domain, c.capacity);
    // Placement uses Ready clusters only: the fleet comes once all three are Ready (as `drover up` does).
    await waitFor('the clusters to be Ready', () => initialClusters.every((c) => this.mirror.get<Cluster>('Cluster', c.name)?.status?.phase === 'Ready'), { timeoutMs: 20_000 });
    await this.store.create(fleetDoc(initialFleet));
    for (const t of initialTenants) await this.store.create(tenantDoc(t));
    await waitFor(
      'the initial fleet to serve every tenant',
      () => {
        const ready = this.prods().filter((p) => live(p) && p.status?.phase === 'Ready').length;
        return ready === initialFleet.prods && this.tenants().every((t) => (t.status?.prods.length ?? 0) >= t.spec.redundancy);
      },
      { timeoutMs: 30_000 },
    );
    await this.settle();
    this.takeViolations();
  }

  async stop(): Promise<void> {
    await this.sim.stop();
    await this.manager.stop();
    await this.mirror.stop();
    await this.store.close();
  }

  clusters(): Cluster[] {
    return this.mirror.list<Cluster>('Cluster');
  }
  prods(): Prod[] {
    return this.mirror.list<Prod>('Prod').filter((p) => p.spec.fleet === FLEET);
  }
  tenants(): Tenant[] {
    return this.mirror.list<Tenant>('Tenant').filter((t) => t.spec.fleet === FLEET);
  }
  fleet(): Fleet | undefined {
    return this.mirror.get<Fleet>('Fleet', FLEET);
  }
  releases(): Release[] {
    return this.mirror.list<Release>('Release').filter((r) => r.spec.fleet === FLEET);
  }

  /** Waits until the control plane settled; a violation when it does not within the bound. */
  async settle(): Promise<void> {
    if (!(await this.mirror.quiet(QUIET_MS, SETTLE_BOUND_MS))) this.violate('settles', `the control plane did not settle within ${SETTLE_BOUND_MS} ms (it keeps writing)`);
  }

  violate(rule: Rule, msg: string): void {
    if (this.ignored.has(rule)) return;
    this.violations.push(`[${rule}] ${msg}`);
  }

  takeViolations(): string[] {
    const v = this.violations;
    this.violations = [];
    return v;
  }

  private clusterOf(p: Prod): Cluster | undefined {
    return this.mirror.get<Cluster>('Cluster', p.spec.cluster);
  }

  /** A Prod that serves: Ready, not retiring, on a cluster that is Ready. */
  serving(p: Prod): boolean {
    return live(p) && p.status?.phase === 'Ready' && this.clusterOf(p)?.status?.phase === 'Ready';
  }

  // ---- invariants checked at every write -------------------------------------------------------

  private onWrite(ev: WatchEvent, prev: AnyResource | undefined): void {
    const o = ev.object;
    if (o.kind === 'Prod') {
      this.checkCapacity((o as Prod).spec.cluster);
      this.checkHealthyProdKept(ev, prev as Prod | undefined);
      this.checkOneRolloutAtATime();
    } else if (o.kind === 'Cluster' && ev.type !== 'DELETED') {
      this.checkCapacity(o.metadata.name);
    } else if (o.kind === 'Tenant' && ev.type !== 'DELETED') {
      this.checkTestTenants(o as Tenant);
    } else if (o.kind === 'TrafficRoute' && ev.type !== 'DELETED') {
      this.checkRouteRoles(o as TrafficRoute);
    }
    this.checkSnapshots();
  }

  /** Capacity is a hard limit: Prods bound to a cluster (until Retired) never exceed it. */
  private checkCapacity(cluster: string): void {
    const c = this.mirror.get<Cluster>('Cluster', cluster);
    if (!c) return;
    const cap = c.spec.capacity.prods;
    const on = this.mirror.list<Prod>('Prod').filter((p) => p.spec.cluster === cluster && p.status?.phase !== 'Retired');
    if (on.length > cap) {
      this.violate('capacity', `capacity exceeded: ${on.length} Prods on ${cluster} (capacity ${cap}): ${on.map((p) => `${p.metadata.name}${p.spec.replaces ? `(replaces ${p.spec.replaces})` : ''}`).join(', ')}`);
    }
  }

  /**
   * Traffic first, destruction last: a Prod serving on a Ready cluster is retired or deleted only when
   * a Ready successor has taken over from it, when it is itself a successor being reverted, or when the
   * fleet has more Prods of its role than it asks for (a scale-down).
   */
  private checkHealthyProdKept(ev: WatchEvent, prev: Prod | undefined): void {
    if (!prev || !this.serving(prev) || prev.spec.retire) return;
    const p = ev.object as Prod;
    const retired = ev.type === 'DELETED' || p.spec.retire;
    if (!retired) return;
    const name = p.metadata.name;
    const all = this.prods();
    if (all.some((s) => s.spec.replaces === name && s.spec.takeover && s.status?.phase === 'Ready' && !s.spec.retire)) return;
    if (p.spec.replaces !== undefined) return;
    const fleet = this.fleet();
    if (!fleet) return;
    const testWanted = Math.min(fleet.spec.testProds, fleet.spec.prods);
    const wanted = p.spec.role === 'test' ? testWanted : fleet.spec.prods - testWanted;
    const names = new Set(all.filter((x) => !x.spec.retire).map((x) => x.metadata.name));
    const counted = all.filter((x) => x.spec.role === p.spec.role && (!x.spec.retire || x.metadata.name === name) && !(x.spec.replaces && names.has(x.spec.replaces)));
    if (counted.length > wanted) return;
    const reason = p.metadata.annotations?.[retireReasonAnnotation] ?? (ev.type === 'DELETED' ? 'deleted' : 'retired');
    this.violate('healthyKept', `healthy Prod ${name} on Ready cluster ${p.spec.cluster} ${ev.type === 'DELETED' ? 'deleted' : 'retired'} (${reason}) with no successor serving and no scale-down`);
  }

  /** Outside releases, a template or version change replaces at most one Prod of the fleet at a time. */
  private checkOneRolloutAtATime(): void {
    if (this.releases().some(releaseIsActive)) return;
    const all = this.prods();
    const names = new Set(all.filter((p) => !p.spec.retire).map((p) => p.metadata.name));
    // Evacuating a draining cluster builds every successor at once on purpose (the operator asked for the
    // cluster to be emptied; each old Prod serves until its successor takes over): not a rollout.
    const draining = (name: string) => this.mirror.get<Cluster>('Cluster', all.find((x) => x.metadata.name === name)?.spec.cluster ?? '')?.spec.draining === true;
    const rolling = all.filter(
      (p) =>
        !p.spec.retire &&
        p.spec.replaces !== undefined &&
        names.has(p.spec.replaces) &&
        !p.metadata.labels[LABEL_RELEASE] &&
        !p.metadata.labels[LABEL_REPLACE] &&
        !draining(p.spec.replaces),
    );
    if (rolling.length > 1) this.violate('oneRollout', `${rolling.length} Prods of ${FLEET} replaced at once outside a release: ${rolling.map((p) => `${p.metadata.name}→${p.spec.replaces}`).join(', ')}`);
  }

  /** Test tenants only on test Prods, other tenants never on test Prods. */
  private checkTestTenants(t: Tenant): void {
    for (const name of t.status?.prods ?? []) {
      const p = this.mirror.get<Prod>('Prod', name);
      if (p && (p.spec.role === 'test') !== t.spec.test) this.violate('testTenants', `${t.spec.test ? 'test' : 'normal'} tenant ${t.metadata.name} assigned to ${p.spec.role} Prod ${name}`);
    }
  }

  /** A tenant's route (what the edge executes for it) sends it only to Prods of its own role. */
  private checkRouteRoles(route: TrafficRoute): void {
    const plan = this.mirror.get<TrafficPlan>('TrafficPlan', route.spec.fleet);
    if (!plan) return;
    const role = new Map(plan.spec.endpoints.map((e) => [e.prod, e.role] as const));
    const t = this.mirror.get<Tenant>('Tenant', route.spec.name);
    if (!t) return;
    for (const p of [...route.spec.prods, ...(route.spec.fallback ?? [])]) {
      const r = role.get(p);
      if (r !== undefined && (r === 'test') !== t.spec.test) this.violate('testTenants', `traffic route sends ${t.spec.test ? 'test' : 'normal'} tenant ${route.spec.name} to ${r} Prod ${p}`);
    }
  }

  /** Prods run immutable snapshots: a Prod's workload is never restarted in place with a new spec. */
  private checkSnapshots(): void {
    const j = this.sim.journal;
    for (; this.journalSeen < j.length; this.journalSeen++) {
      const e = j[this.journalSeen]!;
      if (e.what === 'restart-in-place') this.violate('snapshot', `Prod ${e.prod} on ${e.cluster} restarted in place (${e.detail ?? '?'}): Prods must run an immutable snapshot`);
    }
  }

  // ---- invariants checked once settled ---------------------------------------------------------

  checkSettled(): void {
    this.checkSnapshots();
    const fleet = this.fleet();
    if (!fleet) return;
    const clusters = this.clusters();
    const all = this.prods();
    const names = new Set(all.filter((p) => !p.spec.retire).map((p) => p.metadata.name));
    const counted = all.filter((p) => !p.spec.retire && !(p.spec.replaces && names.has(p.spec.replaces)));
    const rolling = all.some((p) => !p.spec.retire && p.spec.replaces !== undefined && names.has(p.spec.replaces));
    const releaseActive = this.releases().some(releaseIsActive);
    const domainOf = new Map(clusters.map((c) => [c.metadata.name, clusterDomain(c)] as const));
    const occupancy = (c: string) => all.filter((p) => p.spec.cluster === c && p.status?.phase !== 'Retired').length;
    const open = clusters.filter((c) => c.status?.phase === 'Ready' && !c.spec.cordoned && !c.spec.draining && !c.metadata.deletionTimestamp);

    for (const c of clusters) this.checkCapacity(c.metadata.name);

    // Spread: no domain with room left empty while another holds two or more of the fleet's Prods.
    if (!rolling && !releaseActive) {
      const perDomain = new Map<string, number>();
      // A Prod of a NotReady cluster still counts for its domain: unreachable is not gone, and it is
      // replaced only after its cluster's eviction timeout (issue 12), so its domain is not "empty" meanwhile.
      for (const p of counted) {
        const phase = this.clusterOf(p)?.status?.phase;
        if (phase === 'Ready' || phase === 'NotReady') perDomain.set(domainOf.get(p.spec.cluster) ?? '?', (perDomain.get(domainOf.get(p.spec.cluster) ?? '?') ?? 0) + 1);
      }
      const crowded = [...perDomain].filter(([, n]) => n >= 2);
      const roomy = open.filter((c) => occupancy(c.metadata.name) < c.spec.capacity.prods && !perDomain.has(clusterDomain(c)));
      if (crowded.length > 0 && roomy.length > 0) {
        this.violate('spread', `Prods not spread: ${roomy.map((c) => `${clusterDomain(c)} (${c.metadata.name}, room for ${c.spec.capacity.prods - occupancy(c.metadata.name)})`).join(', ')} has none while ${crowded.map(([d, n]) => `${d} has ${n}`).join(', ')}`);
      }
    }

    // A Release owns the fleet's successors: none the fleet controller built (a roll, a drain, a spread-back)
    // stays in flight beside it, holding a slot a wave needs (a release once waited for room for ever).
    if (releaseActive) {
      const foreign = all.filter((p) => !p.spec.retire && p.spec.replaces !== undefined && names.has(p.spec.replaces) && !p.metadata.labels[LABEL_RELEASE] && !p.metadata.labels[LABEL_REPLACE]);
      if (foreign.length > 0) this.violate('releaseOwns', `a release is active while the fleet's own successors are in flight: ${foreign.map((p) => `${p.metadata.name}→${p.spec.replaces}`).join(', ')}`);
    }

    // A fleet short of Prods says why (and where room would help).
    if (!rolling && counted.length < fleet.spec.prods) {
      const says = (fleet.status?.conditions ?? []).some((c) => c.status !== 'True' || c.type === 'InsufficientCapacity') && /capacity|room|unplaceable|no cluster/i.test(JSON.stringify(fleet.status ?? {}));
      if (!says) this.violate('saysWhy', `fleet has ${counted.length} of ${fleet.spec.prods} Prods and no condition says why`);
    }

    // A template or version that does not start stops its rollout after the first Prod (outside releases).
    if (!releaseActive) {
      const failed = all.filter((p) => !p.spec.retire && p.status?.phase === 'Failed' && this.clusterOf(p)?.status?.phase === 'Ready');
      if (failed.length > 1) this.violate('oneFailed', `${failed.length} Prods Failed at once outside a release: ${failed.map((p) => `${p.metadata.name} (${p.status?.message ?? '?'})`).join('; ')}`);
    }

    const servingOf = (test: boolean) => all.filter((p) => this.serving(p) && (p.spec.role === 'test') === test);
    for (const t of this.tenants()) {
      const assigned = (t.status?.prods ?? []).map((n) => this.mirror.get<Prod>('Prod', n));
      const candidates = servingOf(t.spec.test);
      // Every tenant has a serving Prod (within the settle bound) while one of its role serves.
      if (candidates.length > 0 && !assigned.some((p) => p !== undefined && (this.serving(p) || this.servedBySuccessor(p)))) {
        this.violate('served', `tenant ${t.metadata.name} has no serving Prod (assigned ${JSON.stringify(t.status?.prods ?? [])}) though ${candidates.map((p) => p.metadata.name).join(', ')} serve`);
      }
      // Redundancy kept when capacity allows: two serving Prods in two domains exist → the tenant is on both.
      if (t.spec.redundancy === 2 && !rolling && !releaseActive) {
        // Domains that serve now, or could (an open cluster with room) when the fleet wants two or more normal Prods.
        const domains = new Set(candidates.filter((p) => !this.clusterOf(p)?.spec.draining).map((p) => domainOf.get(p.spec.cluster)));
        const testWanted = Math.min(fleet.spec.testProds, fleet.spec.prods);
        const roleWanted = t.spec.test ? testWanted : fleet.spec.prods - testWanted;
        if (roleWanted >= 2 && domains.size > 0) for (const c of open) if (occupancy(c.metadata.name) < c.spec.capacity.prods) domains.add(clusterDomain(c));
        const mine = new Set(assigned.filter((p): p is Prod => p !== undefined && this.serving(p)).map((p) => domainOf.get(p.spec.cluster)));
        if (domains.size >= 2 && mine.size < 2) {
          this.violate('redundancy', `redundant tenant ${t.metadata.name} is in ${mine.size} domain(s) (${[...mine].join(', ')}) though Prods serve or have room in ${[...domains].join(', ')}`);
        }
      }
    }
  }

  private servedBySuccessor(p: Prod): boolean {
    return this.prods().some((s) => s.spec.replaces === p.metadata.name && s.spec.takeover && this.serving(s));
  }
}
