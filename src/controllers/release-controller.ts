/**
 * The release controller (key: Release name): reads, decides, writes. The state machine and every rule
 * live in release-decide.ts (pure, `decideRelease`); this file observes the Release, its Fleet, the
 * fleet's Prods, Tenants, TrafficPlans and other Releases, runs the gates and the synthetic probes when
 * the decision asks for them, executes the decision's writes, then writes status and records each
 * decision as an Event. Waits are requeues, never sleeps; a conflict is an error for the manager's
 * `settle` like any other.
 */
import type { Fleet } from '../api/kinds/fleet.js';
import type { Prod } from '../api/kinds/prod.js';
import { isReleaseActive, ReleaseStatus, type Release } from '../api/kinds/release.js';
import type { AnyResource } from '../api/resource.js';
import { runGates, type GateRunner } from '../release/gates/index.js';
import { createProbeRunner, type ProbeRunner } from '../release/probes.js';
import { ensureSuccessor, retireProd, revertSuccessor, setTakeover } from '../release/successor.js';
import type { ReconcileContext, Reconciler, Result } from '../runtime/reconciler.js';
import { mutate, mutateStatus } from '../store/mutate.js';
import type { Store } from '../store/store.js';
import { OwnWrites } from './own-writes.js';
import { reader } from './reads.js';
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
  /**
   * This controller's writes until its cache shows them: a pass on a Release whose status it just wrote
   * would otherwise take the step again, and one that just created successors would not see them.
   */
  const written = { releases: new OwnWrites<Release>(), prods: new OwnWrites<Prod>() };

  function track(rel: Release, active: boolean): void {
    const set = activeByFleet.get(rel.spec.fleet) ?? new Set<string>();
    if (active) set.add(rel.metadata.name);
    else set.delete(rel.metadata.name);
    activeByFleet.set(rel.spec.fleet, set);
  }

  async function observe(ctx: ReconcileContext, rel: Release): Promise<Omit<ReleaseObservation, 'probeCoverageMs'>> {
    const fleetName = rel.spec.fleet;
    const read = reader(ctx);
    const [fleet, cachedProds, tenants, plans, cachedReleases, clusters] = await Promise.all([
      read.get('Fleet', fleetName),
      read.list('Prod'),
      read.list('Tenant'),
      read.list('TrafficPlan'),
      read.list('Release'),
      read.list('Cluster'),
    ]);
    const prods = written.prods.overlay(cachedProds);
    const releases = written.releases.overlay(cachedReleases);
    return {
      release: rel,
      fleet,
      allProds: prods,
      clusters,
      prods: prods.filter((p) => p.spec.fleet === fleetName),
      tenants: tenants.filter((t) => t.spec.fleet === fleetName),
      plans: plans.filter((p) => p.spec.fleet === fleetName),
      otherActive: releases.filter((r) => r.spec.fleet === fleetName && goesBefore(r, rel)).map((r) => r.metadata.name),
      nowMs: now(),
      progressDeadlineMs: opts.progressDeadlineMs ?? 600_000,
      pollMs: opts.pollMs ?? 250,
    };
  }

  async function reconcile(ctx: ReconcileContext, name: string): Promise<Result> {
    const { store } = ctx;
    const rel = written.releases.current(name, await reader(ctx).get('Release', name));
    if (!rel) {
      probes?.sync(name, undefined);
      for (const set of activeByFleet.values()) set.delete(name);
      return {};
    }
    const observed = await observe(ctx, rel);
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
    for (const w of outcome.writes) {
      const done = await execute(store, name, w);
      if (done?.kind === 'Prod') written.prods[w.write === 'createSuccessor' ? 'created' : 'updated'](done as Prod);
      if (done?.kind === 'Release') written.releases.updated(done as Release);
    }
    const st = await writeStatus(ctx, rel, outcome);
    if (st) written.releases.updated(st);
    return outcome.requeueAfterMs !== undefined ? { requeueAfterMs: outcome.requeueAfterMs } : {};
  }

  return {
    name: 'release',
    watches: [
      { kind: 'Release' },
      { kind: 'Prod', mapToKeys: byFleet },
      { kind: 'Tenant', mapToKeys: byFleet },
      { kind: 'Fleet', mapToKeys: (o) => [...(activeByFleet.get(o.metadata.name) ?? [])] },
      // Read from the cache only (where successors fit; whether the plans route to them): a pass that
      // waits on them polls (`pollMs`).
      { kind: 'Cluster', mapToKeys: () => [] },
      { kind: 'TrafficPlan', mapToKeys: () => [] },
    ],
    resyncMs: 30_000,
    listKeys: async (ctx) => (await reader(ctx).list('Release')).map((r) => r.metadata.name),
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

/** Makes one write of the decision; returns the object written (undefined when nothing was). */
async function execute(store: Store, release: string, w: ReleaseWrite): Promise<AnyResource | undefined> {
  switch (w.write) {
    case 'createSuccessor':
      return ensureSuccessor(store, w.prod);
    case 'takeover':
      return setTakeover(store, w.prod, true);
    case 'retire':
      return retireProd(store, w.prod);
    case 'revert':
      return revertSuccessor(store, w.prod);
    case 'fleetVersion':
      return mutate<Fleet>(store, 'Fleet', w.fleet, (f) => {
        if (f.spec.version === w.version) return false;
        f.spec.version = w.version;
      });
    case 'pause':
      return mutate<Release>(store, 'Release', release, (r) => {
        if (r.spec.paused) return false;
        r.spec.paused = true;
      });
    case 'clearAction':
      return mutate<Release>(store, 'Release', release, (r) => {
        if (r.spec.action === 'none' && (!w.unpause || !r.spec.paused)) return false;
        r.spec.action = 'none';
        if (w.unpause) r.spec.paused = false;
      });
  }
}

/** Writes the decided status (on the stored Release: our own spec writes moved its resourceVersion) and records each decision. */
async function writeStatus(ctx: ReconcileContext, rel: Release, outcome: ReleaseOutcome): Promise<Release | undefined> {
  const st = outcome.status;
  if (JSON.stringify(st) === JSON.stringify(ReleaseStatus.parse(rel.status ?? {})) && outcome.decisions.length === 0) return undefined;
  st.observedGeneration = rel.metadata.generation;
  const fresh = await mutateStatus<Release>(ctx.store, 'Release', rel.metadata.name, (cur) => void (cur.status = st));
  if (!fresh) return undefined;
  for (const d of outcome.decisions) await ctx.recordEvent(fresh, warningDecisions.has(d.action) ? 'Warning' : 'Normal', d.action, d.reason);
  return fresh;
}
