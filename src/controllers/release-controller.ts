/**
 * The release controller (key: Release name): reads, decides, writes. The state machine and every rule
 * live in release-decide.ts (pure, `decideRelease`); this file observes the Release, its Fleet, the
 * fleet's Prods, Tenants, TrafficPlans and other Releases, runs the gates and the synthetic probes when
 * the decision asks for them, executes the decision's writes, then writes status and records each
 * decision as an Event. Waits are requeues, never sleeps; a conflict is an error for the manager's
 * `settle` like any other.
 */
import type { Cluster } from '../api/kinds/cluster.js';
import type { Fleet } from '../api/kinds/fleet.js';
import type { Prod } from '../api/kinds/prod.js';
import { isReleaseActive, ReleaseStatus, type Release } from '../api/kinds/release.js';
import type { Tenant } from '../api/kinds/tenant.js';
import type { TrafficPlan } from '../api/kinds/traffic-plan.js';
import type { AnyResource } from '../api/resource.js';
import { runGates, type GateRunner } from '../release/gates/index.js';
import { createProbeRunner, type ProbeRunner } from '../release/probes.js';
import { ensureSuccessor, mutate, retireProd, revertSuccessor, setTakeover } from '../release/successor.js';
import type { ReconcileContext, Reconciler, Result } from '../runtime/reconciler.js';
import type { Store } from '../store/store.js';
import type { ControlPlaneOptions } from './index.js';
import { decideRelease, warningDecisions, type ReleaseObservation, type ReleaseOutcome, type ReleaseWrite } from './release-decide.js';

export { ReleaseDecision } from './release-decide.js';

export interface ReleaseControllerOptions {
  edgeStatsUrls?: string[];
  prometheusUrl?: string;
  now?: () => number;
  gates?: GateRunner;
  /** Sends the synthetic probes of baking waves; default: real HTTP probes from this process. */
  probes?: ProbeRunner;
  /** How long a wave may wait for its successors to serve before it fails. Default 10 min. */
  progressDeadlineMs?: number;
  /** Requeue delay while waiting on other components. Default 250 ms. */
  pollMs?: number;
}

export function releaseController(opts: ReleaseControllerOptions = {}): Reconciler {
  const now = opts.now ?? Date.now;
  const gates = opts.gates ?? runGates;
  let probes = opts.probes;
  /** The runner this controller made itself ends with the manager's run (stop, lost leadership). */
  const prober = (signal: AbortSignal): ProbeRunner => {
    if (probes) return probes;
    const own = createProbeRunner({ now });
    probes = own;
    signal.addEventListener('abort', () => {
      if (probes === own) probes = undefined;
      void own.close();
    }, { once: true });
    return own;
  };
  /** fleet → active release names, so that Prod and Tenant changes enqueue the right Release. */
  const activeByFleet = new Map<string, Set<string>>();
  const byFleet = (o: AnyResource) => [...(activeByFleet.get((o.spec as { fleet?: string }).fleet ?? '') ?? [])];

  function track(rel: Release, active: boolean): void {
    const set = activeByFleet.get(rel.spec.fleet) ?? new Set<string>();
    if (active) set.add(rel.metadata.name);
    else set.delete(rel.metadata.name);
    activeByFleet.set(rel.spec.fleet, set);
  }

  async function observe(store: Store, rel: Release): Promise<Omit<ReleaseObservation, 'probeCoverageMs'>> {
    const fleetName = rel.spec.fleet;
    const [fleet, prods, tenants, plans, releases, clusters] = await Promise.all([
      store.get<Fleet>('Fleet', fleetName),
      store.list<Prod>('Prod'),
      store.list<Tenant>('Tenant'),
      store.list<TrafficPlan>('TrafficPlan'),
      store.list<Release>('Release'),
      store.list<Cluster>('Cluster'),
    ]);
    return {
      release: rel,
      fleet,
      allProds: prods.items,
      clusters: clusters.items,
      prods: prods.items.filter((p) => p.spec.fleet === fleetName),
      tenants: tenants.items.filter((t) => t.spec.fleet === fleetName),
      plans: plans.items.filter((p) => p.spec.fleet === fleetName),
      otherActive: releases.items.filter((r) => r.spec.fleet === fleetName && goesBefore(r, rel)).map((r) => r.metadata.name),
      nowMs: now(),
      progressDeadlineMs: opts.progressDeadlineMs ?? 600_000,
      pollMs: opts.pollMs ?? 250,
    };
  }

  async function reconcile(ctx: ReconcileContext, name: string): Promise<Result> {
    const { store } = ctx;
    const rel = await store.get<Release>('Release', name);
    if (!rel) {
      probes?.sync(name, undefined);
      for (const set of activeByFleet.values()) set.delete(name);
      return {};
    }
    const observed = await observe(store, rel);
    const progress = () => ({ probeCoverageMs: probes?.coverageMs(name), probeFewest: probes?.fewestRequests(name) });
    let outcome = decideRelease({ ...observed, ...progress() });
    // Level-based: the probes that run are the ones this decision wants (a new bake starts them).
    if (outcome.probes || probes) prober(ctx.signal).sync(name, outcome.probes);
    if (outcome.runGates) {
      const g = outcome.runGates;
      const verdict = await gates({
        gates: rel.spec.gates,
        wave: g.wave,
        baseline: g.baseline,
        windowMs: g.windowMs,
        edgeStatsUrls: opts.edgeStatsUrls ?? [],
        prometheusUrl: opts.prometheusUrl,
        // The probes of this wave's bake, all of them (they start with the bake; it may have run long).
        ...(outcome.probes ? { probes: prober(ctx.signal).results(name) } : {}),
      });
      outcome = decideRelease({ ...observed, ...progress(), verdict });
      probes?.sync(name, outcome.probes);
    }
    track(rel, isReleaseActive({ status: outcome.status }));
    for (const w of outcome.writes) await execute(store, name, w);
    await writeStatus(ctx, rel, outcome);
    return outcome.requeueAfterMs !== undefined ? { requeueAfterMs: outcome.requeueAfterMs } : {};
  }

  return {
    name: 'release',
    watches: [{ kind: 'Release' }, { kind: 'Prod', mapToKeys: byFleet }, { kind: 'Tenant', mapToKeys: byFleet }, { kind: 'Fleet', mapToKeys: (o) => [...(activeByFleet.get(o.metadata.name) ?? [])] }],
    resyncMs: 30_000,
    listKeys: async (ctx) => (await ctx.store.list<Release>('Release')).items.map((r) => r.metadata.name),
    reconcile,
  };
}

/**
 * Whether release `other` holds `rel` back from planning: it is active and has planned already, or both
 * wait to plan and `other` came first (oldest, then by name), so that two new releases never wait for
 * each other.
 */
function goesBefore(other: Release, rel: Release): boolean {
  if (other.metadata.name === rel.metadata.name || !isReleaseActive(other)) return false;
  if ((other.status?.phase ?? 'Pending') !== 'Pending') return true;
  if ((rel.status?.phase ?? 'Pending') !== 'Pending') return false;
  const key = (r: Release) => `${r.metadata.creationTimestamp ?? ''}\u0000${r.metadata.name}`;
  return key(other) < key(rel);
}

async function execute(store: Store, release: string, w: ReleaseWrite): Promise<void> {
  switch (w.write) {
    case 'createSuccessor':
      await ensureSuccessor(store, w.prod);
      return;
    case 'takeover':
      await setTakeover(store, w.prod, true);
      return;
    case 'retire':
      await retireProd(store, w.prod);
      return;
    case 'revert':
      await revertSuccessor(store, w.prod);
      return;
    case 'fleetVersion':
      await mutate<Fleet>(store, 'Fleet', w.fleet, (f) => {
        if (f.spec.version === w.version) return false;
        f.spec.version = w.version;
      });
      return;
    case 'pause':
      await mutate<Release>(store, 'Release', release, (r) => {
        if (r.spec.paused) return false;
        r.spec.paused = true;
      });
      return;
    case 'clearAction':
      await mutate<Release>(store, 'Release', release, (r) => {
        if (r.spec.action === 'none' && (!w.unpause || !r.spec.paused)) return false;
        r.spec.action = 'none';
        if (w.unpause) r.spec.paused = false;
      });
      return;
  }
}

async function writeStatus(ctx: ReconcileContext, rel: Release, outcome: ReleaseOutcome): Promise<void> {
  const st = outcome.status;
  if (JSON.stringify(st) === JSON.stringify(ReleaseStatus.parse(rel.status ?? {})) && outcome.decisions.length === 0) return;
  st.observedGeneration = rel.metadata.generation;
  // Our own spec writes (clearAction, pause) moved the resourceVersion: write status on the latest.
  const fresh = await ctx.store.get<Release>('Release', rel.metadata.name);
  if (!fresh) return;
  await ctx.store.updateStatus({ ...fresh, status: st });
  for (const d of outcome.decisions) await ctx.recordEvent(fresh, warningDecisions.has(d.action) ? 'Warning' : 'Normal', d.action, d.reason);
}

export const releaseControllerFactory = (o: ControlPlaneOptions): Reconciler =>
  releaseController({ ...(o.edgeStatsUrls ? { edgeStatsUrls: o.edgeStatsUrls } : {}), ...(o.prometheusUrl ? { prometheusUrl: o.prometheusUrl } : {}) });
