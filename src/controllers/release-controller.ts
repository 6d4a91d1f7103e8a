/**
 * The release controller (key: Release name). Level-based: every call reads the Release, the fleet's
 * Prods and Tenants, works out the one next step of the state machine below, performs it, records it,
 * and returns. Waits are requeues, never sleeps.
 *
 *   Pending ──plan──▶ Progressing: per wave
 *     Pending  → create successors (replaces = old, new version, release env, same cluster and role)
 *     Updating → wait until every successor is observably serving the new version (isServing)
 *              → takeover = true on all of them (the traffic plan swaps their tenants over)
 *     Baking   → bake clock starts once the plan routes to them; after `bake`, run the gates:
 *                pass → retire predecessors, next wave (last wave: Fleet.spec.version = V, Succeeded)
 *                fail → autoRollback: takeover=false + retire on the wave's successors in one write each
 *                       (tenants back on the predecessors, still up and on the known-good version),
 *                       RolledBack; else Failed with traffic left as it is
 *                inconclusive → spec.paused = true, Paused with the reason
 *   spec.paused pauses; clearing it resumes (a Baking wave bakes again). spec.action is one-shot:
 *   abort / rollback undo the in-flight wave; promote passes a Baking wave without its gates.
 * Every decision goes to status.decisions and is recorded as an Event.
 */
import type { z } from 'zod';
import type { Cluster } from '../api/kinds/cluster.js';
import type { Fleet } from '../api/kinds/fleet.js';
import type { Prod } from '../api/kinds/prod.js';
import { ReleaseStatus, type Release } from '../api/kinds/release.js';
import type { Tenant } from '../api/kinds/tenant.js';
import type { TrafficPlan } from '../api/kinds/traffic-plan.js';
import { durationMs } from '../api/meta.js';
import type { AnyResource } from '../api/resource.js';
import { isDroverError } from '../errors.js';
import { runGates, type GateRunner } from '../release/gates/index.js';
import { planWaves, releasableProds } from '../release/plan-waves.js';
import {
  buildSuccessor,
  clusterOccupancy,
  placeSuccessor,
  ensureSuccessor,
  isServing,
  LABEL_RELEASE,
  mutate,
  retireProd,
  revertSuccessor,
  setTakeover,
  successorName,
} from '../release/successor.js';
import type { ReconcileContext, Reconciler, Result } from '../runtime/reconciler.js';
import type { ControlPlaneOptions } from './index.js';

export const ReleaseDecision = [
  'Planned',
  'Waiting',
  'WaveStarted',
  'WaveSkipped',
  'Swapped',
  'GatesPassed',
  'GatesFailed',
  'RolledBack',
  'Inconclusive',
  'Paused',
  'Resumed',
  'Aborted',
  'Promoted',
  'Succeeded',
] as const;
export type ReleaseDecision = (typeof ReleaseDecision)[number];

type Status = z.infer<typeof ReleaseStatus>;
type Wave = Status['waves'][number];

const TERMINAL = new Set<Status['phase']>(['Succeeded', 'RolledBack', 'Failed', 'Aborted']);
const ACTIVE = new Set<Status['phase']>(['Progressing', 'Paused', 'RollingBack']);
const WARNING = new Set<ReleaseDecision>(['GatesFailed', 'RolledBack', 'Inconclusive', 'Aborted']);

export interface ReleaseControllerOptions {
  edgeStatsUrls?: string[];
  prometheusUrl?: string;
  now?: () => number;
  gates?: GateRunner;
  /** How long a wave may wait for its successors to serve before it fails. Default 10 min. */
  progressDeadlineMs?: number;
  /** Requeue delay while waiting on other components. Default 250 ms. */
  pollMs?: number;
}

interface Decision {
  action: ReleaseDecision;
  reason: string;
}

export function releaseController(opts: ReleaseControllerOptions = {}): Reconciler {
  const now = opts.now ?? Date.now;
  const gates = opts.gates ?? runGates;
  const deadline = opts.progressDeadlineMs ?? 600_000;
  const poll = opts.pollMs ?? 250;
  /** fleet → active release names, so that Prod and Tenant changes enqueue the right Release. */
  const activeByFleet = new Map<string, Set<string>>();
  const byFleet = (o: AnyResource) => [...(activeByFleet.get((o.spec as { fleet?: string }).fleet ?? '') ?? [])];
  const iso = () => new Date(now()).toISOString();

  function track(rel: Release, phase: Status['phase']): void {
    const set = activeByFleet.get(rel.spec.fleet) ?? new Set<string>();
    if (TERMINAL.has(phase)) set.delete(rel.metadata.name);
    else set.add(rel.metadata.name);
    activeByFleet.set(rel.spec.fleet, set);
  }

  async function reconcile(ctx: ReconcileContext, name: string): Promise<Result> {
    const store = ctx.store;
    let rel = await store.get<Release>('Release', name);
    if (!rel) return {};
    const st: Status = ReleaseStatus.parse(rel.status ?? {});
    const before = JSON.stringify(st);
    const decisions: Decision[] = [];
    const decide = (action: ReleaseDecision, reason: string) => {
      decisions.push({ action, reason });
      st.decisions.push({ time: iso(), action, reason });
      if (st.decisions.length > 100) st.decisions.splice(0, st.decisions.length - 100);
    };
    const spec = rel.spec;

    const result = await step();
    track(rel, st.phase);
    if (JSON.stringify(st) !== before || decisions.length > 0) {
      st.observedGeneration = rel.metadata.generation;
      const fresh = await store.get<Release>('Release', name);
      if (!fresh) return {};
      await store.updateStatus({ ...fresh, status: st });
      for (const d of decisions) await ctx.recordEvent(fresh, WARNING.has(d.action) ? 'Warning' : 'Normal', d.action, d.reason);
    }
    return result;

    /** One-shot actions are reset in spec once handled (the CLI sets them). */
    async function clearAction(extra?: (r: Release) => void): Promise<void> {
      const updated = await mutate<Release>(store, 'Release', name, (r) => {
        r.spec.action = 'none';
        extra?.(r);
      });
      if (updated) rel = updated;
    }

    async function step(): Promise<Result> {
      const wave = st.waves[st.currentWave];
      if (TERMINAL.has(st.phase)) {
        if (st.phase === 'Failed' && spec.action === 'rollback' && wave) {
          await undoWave(wave, 'rollback requested');
          st.phase = 'RolledBack';
          decide('RolledBack', `wave ${wave.index} rolled back on request: tenants back on ${st.fromVersion ?? 'the known-good version'}`);
        }
        if (spec.action !== 'none') await clearAction();
        return {};
      }

      const fleet = await store.get<Fleet>('Fleet', spec.fleet);
      if (!fleet) {
        st.message = `fleet ${spec.fleet} not found`;
        return { requeueAfterMs: 5000 };
      }

      // Actions that end the release work whatever the state.
      if (spec.action === 'abort' || spec.action === 'rollback') {
        if (wave && (wave.state === 'Updating' || wave.state === 'Baking')) await undoWave(wave, `${spec.action} requested`);
        const passed = st.waves.filter((w) => w.state === 'Passed').flatMap((w) => w.replacements);
        const rest = passed.length > 0 ? `; ${passed.join(', ')} of passed waves are on ${spec.version}: with Fleet.spec.version still ${st.fromVersion ?? 'the old version'}, the fleet controller rolls them back one by one` : '';
        st.phase = spec.action === 'abort' ? 'Aborted' : 'RolledBack';
        decide(spec.action === 'abort' ? 'Aborted' : 'RolledBack', `${spec.action} requested by user${rest}`);
        await clearAction();
        return {};
      }

      if (st.waves.length === 0) return plan(fleet);

      if (spec.action === 'promote') {
        if (wave?.state === 'Baking') {
          decide('Promoted', `wave ${wave.index} promoted by user: bake and gates skipped`);
          await clearAction((r) => (r.spec.paused = false));
          st.phase = 'Progressing';
          return passWave(fleet, wave, 'promoted');
        }
        decide('Promoted', `promote ignored: wave ${wave?.index ?? '-'} is ${wave?.state ?? 'absent'}, not baking`);
        await clearAction();
        return {};
      }

      if (spec.paused) {
        if (st.phase !== 'Paused') {
          st.phase = 'Paused';
          decide('Paused', st.message ?? 'paused by user');
        }
        return {};
      }
      if (st.phase === 'Paused') {
        st.phase = 'Progressing';
        st.message = undefined;
        if (wave?.state === 'Baking' && wave.bakeStartedAt) wave.bakeStartedAt = iso();
        decide('Resumed', wave?.state === 'Baking' ? `resumed: wave ${wave.index} bakes again, then its gates run` : 'resumed');
      }

      if (!wave) return finish(fleet);
      const prods = new Map((await store.list<Prod>('Prod')).items.filter((p) => p.spec.fleet === spec.fleet).map((p) => [p.metadata.name, p] as const));
      switch (wave.state) {
        case 'Pending':
          return startWave(fleet, wave, prods);
        case 'Updating':
        case 'WarmingUp':
          return awaitServing(wave, prods);
        case 'Baking':
          return bake(fleet, wave, prods);
        default:
          st.currentWave++;
          return { requeueAfterMs: 0 };
      }
    }

    async function plan(fleet: Fleet): Promise<Result> {
      const others = (await store.list<Release>('Release')).items.filter(
        (r) => r.metadata.name !== name && r.spec.fleet === spec.fleet && ACTIVE.has(ReleaseStatus.parse(r.status ?? {}).phase),
      );
      if (others.length > 0) {
        const msg = `waiting: release ${others.map((r) => r.metadata.name).join(', ')} of fleet ${spec.fleet} is in progress`;
        if (st.message !== msg) decide('Waiting', msg);
        st.message = msg;
        return { requeueAfterMs: 5000 };
      }
      const prods = (await store.list<Prod>('Prod')).items;
      const tenants = (await store.list<Tenant>('Tenant')).items.filter((t) => t.spec.fleet === spec.fleet);
      const live = releasableProds(prods, spec.fleet).filter((p) => p.spec.version !== spec.version);
      const p = planWaves(live, tenants, { maxParallel: spec.maxParallel });
      st.fromVersion = fleet.spec.version;
      st.currentWave = 0;
      st.message = undefined;
      st.waves = p.waves.map((w) => ({ index: w.index, riskClass: w.riskClass, prods: w.prods, replacements: [], users: w.users, state: 'Pending' }));
      st.phase = 'Progressing';
      decide('Planned', `${st.fromVersion} → ${spec.version} in ${p.waves.length} waves: ${p.waves.map((w) => `${w.riskClass}[${w.prods.join(',')}]`).join(' → ') || 'nothing to do'}`);
      if (p.waves.length === 0) return finish(fleet);
      return { requeueAfterMs: 0 };
    }

    async function startWave(fleet: Fleet, wave: Wave, prods: Map<string, Prod>): Promise<Result> {
      const names: string[] = [];
      // Capacity is a hard limit for successors too: on the predecessor's cluster when it has room, else
      // where placement finds room; with none anywhere the wave waits.
      const [allProds, clusters] = await Promise.all([store.list<Prod>('Prod'), store.list<Cluster>('Cluster')]);
      const occupancy = clusterOccupancy(allProds.items);
      for (const predName of wave.prods) {
        const pred = prods.get(predName);
        if (!pred || pred.spec.retire) continue;
        const succName = successorName(pred, spec.version, `${name}/${rel!.metadata.uid ?? ''}`);
        const cluster = prods.get(succName)?.spec.cluster ?? placeSuccessor(pred, fleet, clusters.items, [...prods.values()], occupancy);
        if (typeof cluster !== 'string') {
          wave.reason = `waiting for room for a successor of ${predName}: ${cluster.reason}`;
          return { requeueAfterMs: 5000 };
        }
        const succ = buildSuccessor(pred, {
          name: succName,
          cluster,
          version: spec.version,
          env: spec.env,
          // The Fleet's current template: a template change made before or during the release rides along.
          app: fleet.spec.app,
          labels: { [LABEL_RELEASE]: name },
        });
        names.push((await ensureSuccessor(store, succ)).metadata.name);
      }
      wave.startedAt = iso();
      wave.replacements = names;
      if (names.length === 0) {
        wave.state = 'Skipped';
        wave.reason = 'its Prods are gone';
        decide('WaveSkipped', `wave ${wave.index}: none of ${wave.prods.join(', ')} exists any more`);
        st.currentWave++;
        return { requeueAfterMs: 0 };
      }
      wave.state = 'Updating';
      decide('WaveStarted', `wave ${wave.index} (${wave.riskClass}, ${wave.users} users): ${wave.prods.map((p, i) => `${p} → ${names[i] ?? '?'}`).join(', ')}`);
      return { requeueAfterMs: poll };
    }

    async function awaitServing(wave: Wave, prods: Map<string, Prod>): Promise<Result> {
      const succs = wave.replacements.map((n) => prods.get(n));
      const missing = wave.replacements.filter((_, i) => !succs[i]);
      // A successor that failed, or that someone else retired (its cluster was lost), will never serve.
      const failed = succs.filter((p): p is Prod => p?.status?.phase === 'Failed' || p?.spec.retire === true);
      const waited = now() - Date.parse(wave.startedAt ?? iso());
      if (missing.length > 0 || failed.length > 0 || waited > deadline) {
        const why =
          missing.length > 0
            ? `successor ${missing.join(', ')} disappeared`
            : failed.length > 0
              ? `successor ${failed.map((p) => (p.spec.retire ? `${p.metadata.name} was retired (its cluster lost?)` : `${p.metadata.name} failed: ${p.status?.message ?? 'no message'}`)).join('; ')}`
              : `successors not serving ${spec.version} after ${Math.round(waited / 1000)}s`;
        return failWave(wave, why);
      }
      if (!succs.every((p) => p && isServing(p, spec.version))) {
        wave.reason = `waiting for ${succs.filter((p) => !p || !isServing(p, spec.version)).map((p) => `${p?.metadata.name}(${p?.status?.phase ?? 'Pending'})`).join(', ')}`;
        return { requeueAfterMs: poll };
      }
      await Promise.all(wave.replacements.map((n) => setTakeover(store, n, true)));
      wave.state = 'Baking';
      wave.reason = undefined;
      decide('Swapped', `wave ${wave.index}: ${wave.replacements.join(', ')} serve ${spec.version}; takeover on`);
      return { requeueAfterMs: 0 };
    }

    async function bake(fleet: Fleet, wave: Wave, prods: Map<string, Prod>): Promise<Result> {
      if (!wave.bakeStartedAt) {
        // The bake clock starts once the traffic plan routes to the successors (when a plan exists).
        const plans = (await store.list<TrafficPlan>('TrafficPlan')).items.filter((p) => p.spec.fleet === spec.fleet);
        const routed = (n: string) => plans.every((p) => p.spec.endpoints.some((e) => e.prod === n && e.state === 'active'));
        if (!wave.replacements.every(routed)) {
          wave.reason = 'waiting for the traffic plan to route to the successors';
          return { requeueAfterMs: poll };
        }
        wave.bakeStartedAt = iso();
        wave.reason = undefined;
      }
      const bakeMs = durationMs(spec.bake);
      const elapsed = now() - Date.parse(wave.bakeStartedAt);
      if (elapsed < bakeMs) return { requeueAfterMs: Math.min(bakeMs - elapsed, 5000) };

      const inWave = new Set(wave.prods);
      const baseline = [...prods.values()]
        .filter((p) => !p.spec.retire && !inWave.has(p.metadata.name) && p.spec.version === st.fromVersion && isServing(p, p.spec.version))
        .map((p) => p.metadata.name);
      const verdict = await gates({
        gates: spec.gates,
        wave: wave.replacements,
        baseline,
        windowMs: Math.max(1000, Math.min(bakeMs, elapsed) || elapsed),
        edgeStatsUrls: opts.edgeStatsUrls ?? [],
        prometheusUrl: opts.prometheusUrl,
      });
      if (verdict.outcome === 'pass') {
        decide('GatesPassed', `wave ${wave.index}: ${verdict.reason}`);
        return passWave(fleet, wave, verdict.reason);
      }
      if (verdict.outcome === 'fail') return failWave(wave, verdict.reason);
      st.message = `wave ${wave.index} inconclusive: ${verdict.reason}`;
      st.phase = 'Paused';
      decide('Inconclusive', `${st.message}; paused — resume to bake again, promote to go on, rollback to undo`);
      await mutate<Release>(store, 'Release', name, (r) => {
        if (r.spec.paused) return false;
        r.spec.paused = true;
      });
      return {};
    }

    async function passWave(fleet: Fleet, wave: Wave, reason: string): Promise<Result> {
      await Promise.all(wave.prods.map((p) => retireProd(store, p)));
      wave.state = 'Passed';
      wave.reason = reason;
      wave.finishedAt = iso();
      st.currentWave++;
      if (st.currentWave >= st.waves.length) return finish(fleet);
      return { requeueAfterMs: 0 };
    }

    async function failWave(wave: Wave, reason: string): Promise<Result> {
      wave.finishedAt = iso();
      if (!spec.autoRollback) {
        wave.state = 'Failed';
        wave.reason = reason;
        st.phase = 'Failed';
        decide('GatesFailed', `wave ${wave.index}: ${reason}; autoRollback is off, traffic left as it is — \`drover release rollback ${name}\` undoes it`);
        return {};
      }
      decide('GatesFailed', `wave ${wave.index}: ${reason}`);
      await undoWave(wave, reason);
      st.phase = 'RolledBack';
      decide('RolledBack', `wave ${wave.index}: tenants of ${wave.replacements.join(', ')} back on ${wave.prods.join(', ')} (${st.fromVersion ?? 'known-good'}); successors retired`);
      return {};
    }

    /** Tenants back on the predecessors (still up, known-good) first; one write per successor. */
    async function undoWave(wave: Wave, reason: string): Promise<void> {
      await Promise.all(wave.replacements.map((n) => revertSuccessor(store, n)));
      wave.state = 'RolledBack';
      wave.reason = reason;
      wave.finishedAt ??= iso();
    }

    async function finish(fleet: Fleet): Promise<Result> {
      if (fleet.spec.version !== spec.version) {
        await mutate<Fleet>(store, 'Fleet', fleet.metadata.name, (f) => {
          if (f.spec.version === spec.version) return false;
          f.spec.version = spec.version;
        });
      }
      st.phase = 'Succeeded';
      st.message = undefined;
      decide('Succeeded', `fleet ${spec.fleet} is on ${spec.version}`);
      return {};
    }
  }

  return {
    name: 'release',
    watches: [{ kind: 'Release' }, { kind: 'Prod', mapToKeys: byFleet }, { kind: 'Tenant', mapToKeys: byFleet }],
    resyncMs: 30_000,
    listKeys: async (ctx) => (await ctx.store.list<Release>('Release')).items.map((r) => r.metadata.name),
    reconcile: async (ctx, key) => {
      try {
        return await reconcile(ctx, key);
      } catch (e) {
        // A conflict means someone wrote in between: read again soon rather than back off.
        if (isDroverError(e, 'DROVER_E_CONFLICT')) return { requeueAfterMs: 50 };
        throw e;
      }
    },
  };
}

export const releaseControllerFactory = (o: ControlPlaneOptions): Reconciler =>
  releaseController({ ...(o.edgeStatsUrls ? { edgeStatsUrls: o.edgeStatsUrls } : {}), ...(o.prometheusUrl ? { prometheusUrl: o.prometheusUrl } : {}) });
