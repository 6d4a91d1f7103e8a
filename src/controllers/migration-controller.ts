/**
 * The migration controller (key: Migration name): reads, decides (migration-decide.ts), writes. It reads
 * the Migration from the store (its own status drives the next step, and the cache may not show the last
 * write yet), everything else from the cache. For an ALB target it first syncs the weight the status asks
 * for (the adapter in src/cloud/alb/forward-weights.ts retries throttling and 5xx itself and classifies the
 * rest), so the decision sees what the load balancer holds. Gates are I/O: when the decision asks for
 * them, they run and the pure function is called again with the verdict. Then one status write (a rollback
 * is one write of weight 0, hence one plan update) and one Event per decision.
 */
import { isReleaseActive } from '../api/kinds/release.js';
import type { Migration } from '../api/kinds/migration.js';
import type { AnyResource } from '../api/resource.js';
import { albMetricContext } from '../cloud/alb/arns.js';
import { syncAlbForwardWeights, type AlbForwardTarget, type AlbSyncResult } from '../cloud/alb/forward-weights.js';
import { runGates, type GateRunner } from '../release/gates/index.js';
import type { ReconcileContext, Reconciler, Result } from '../runtime/reconciler.js';
import { canonicalJson } from '../store/object-semantics.js';
import { mutate, mutateStatus } from '../store/mutate.js';
import { decideMigration, type MigrationObservation, type MigrationOutcome } from './migration-decide.js';
import { reader } from './reads.js';

export interface MigrationControllerOptions {
  edgeStatsUrls?: string[];
  prometheusUrl?: string;
  now?: () => number;
  gates?: GateRunner;
  /** The ALB adapter; tests inject a fake. */
  albSync?: typeof syncAlbForwardWeights;
}

export function migrationController(opts: MigrationControllerOptions = {}): Reconciler {
  const now = opts.now ?? Date.now;
  const gates = opts.gates ?? runGates;
  const albSync = opts.albSync ?? syncAlbForwardWeights;
  /** fleet → migrations, so that a plan, Fleet or Release change wakes the migrations of its fleet. */
  const byFleet = new Map<string, Set<string>>();
  const ofFleet = (o: AnyResource): string[] => {
    const f = o.kind === 'Fleet' || o.kind === 'TrafficPlan' ? o.metadata.name : (o.spec as { fleet?: string }).fleet;
    return [...(byFleet.get(f ?? '') ?? [])];
  };
  const track = (m: Migration) => {
    const set = byFleet.get(m.spec.fleet) ?? new Set<string>();
    set.add(m.metadata.name);
    byFleet.set(m.spec.fleet, set);
  };

  async function observe(ctx: ReconcileContext, m: Migration): Promise<Omit<MigrationObservation, 'now' | 'verdict' | 'alb'>> {
    const read = reader(ctx);
    const fleetName = m.spec.fleet;
    const [fleet, tenants, prods, releases, plan] = await Promise.all([
      read.get('Fleet', fleetName),
      read.list('Tenant'),
      read.list('Prod'),
      read.list('Release'),
      read.get('TrafficPlan', fleetName),
    ]);
    const entry = plan?.spec.legacy?.find((l) => l.migration === m.metadata.name);
    return {
      migration: m,
      fleet,
      tenants: tenants.filter((t) => t.spec.fleet === fleetName),
      prods: prods.filter((p) => p.spec.fleet === fleetName && p.status?.phase === 'Ready' && !p.spec.retire).map((p) => p.metadata.name),
      activeReleases: releases.filter((r) => r.spec.fleet === fleetName && isReleaseActive(r)).map((r) => r.metadata.name),
      planned: entry ? { fleetPercent: entry.fleetPercent, moved: entry.moved ?? [] } : undefined,
    };
  }

  async function syncAlb(m: Migration): Promise<AlbSyncResult | undefined> {
    const t = m.spec.target;
    const st = m.status;
    if (t.type !== 'alb' || !st || st.phase === 'Pending') return undefined;
    const target: AlbForwardTarget = {
      legacyTargetGroupArn: t.legacyTargetGroupArn ?? '',
      fleetTargetGroupArn: t.fleetTargetGroupArn ?? '',
      stickinessSeconds: t.stickinessSeconds,
      ...(t.region !== undefined ? { region: t.region } : {}),
      ...(t.listenerArn !== undefined ? { listenerArn: t.listenerArn } : {}),
      ...(t.ruleArn !== undefined ? { ruleArn: t.ruleArn } : {}),
    };
    try {
      return await albSync(target, st.weight, st.target?.appliedWeight);
    } catch (e) {
      // The adapter classifies AWS errors itself; anything it throws is a bug or a transient fault.
      return { ok: false, permanent: false, code: 'AdapterError', message: e instanceof Error ? e.message : String(e) };
    }
  }

  async function write(ctx: ReconcileContext, m: Migration, outcome: MigrationOutcome): Promise<void> {
    const name = m.metadata.name;
    let cur: Migration | undefined = m;
    if (outcome.clearAction) {
      const handled = m.spec.action;
      cur = await mutate<Migration>(ctx.store, 'Migration', name, (x) => {
        if (x.spec.action !== handled) return false;
        x.spec.action = 'none';
      });
    }
    if (!cur) return;
    if (canonicalJson(m.status ?? {}) !== canonicalJson(outcome.status)) {
      cur = await mutateStatus<Migration>(ctx.store, 'Migration', name, (x) => {
        // Another writer since our read (only the user's spec writes should happen): the status is ours.
        x.status = outcome.status;
      });
    }
    if (!cur) return;
    for (const e of outcome.events) await ctx.recordEvent(cur, e.type, e.reason, e.message);
  }

  return {
    name: 'migration',
    resyncMs: 30_000,
    watches: [
      { kind: 'Migration' },
      { kind: 'Fleet', mapToKeys: ofFleet },
      { kind: 'TrafficPlan', mapToKeys: ofFleet },
      { kind: 'Release', mapToKeys: ofFleet },
      // Read for the selection and the wave only: no pass of their own.
      { kind: 'Tenant', mapToKeys: () => [] },
      { kind: 'Prod', mapToKeys: () => [] },
    ],
    async listKeys(ctx) {
      const ms = await reader(ctx).list('Migration');
      for (const m of ms) track(m);
      return ms.map((m) => m.metadata.name);
    },
    async reconcile(ctx, key): Promise<Result> {
      const m = await ctx.store.get('Migration', key);
      if (!m) {
        for (const set of byFleet.values()) set.delete(key);
        return {};
      }
      track(m);
      if (m.metadata.deletionTimestamp) return {};
      const alb = await syncAlb(m);
      const base = { ...(await observe(ctx, m)), now: now(), ...(alb ? { alb } : {}) };
      let outcome = decideMigration(base);
      if (outcome.runGates) {
        const g = outcome.runGates;
        const t = m.spec.target;
        // An ALB migration's cloudwatch gates read the fleet's (and legacy's) target group by default.
        const cloudwatch = t.type === 'alb' && t.fleetTargetGroupArn && t.legacyTargetGroupArn ? albMetricContext({ ...t, fleetTargetGroupArn: t.fleetTargetGroupArn, legacyTargetGroupArn: t.legacyTargetGroupArn }) : undefined;
        const verdict = await gates({ gates: m.spec.gates, wave: g.wave, baseline: g.baseline, windowMs: g.windowMs, edgeStatsUrls: opts.edgeStatsUrls ?? [], prometheusUrl: opts.prometheusUrl, ...(cloudwatch ? { cloudwatch } : {}) });
        outcome = decideMigration({ ...base, now: now(), verdict });
      }
      await write(ctx, m, outcome);
      return outcome.requeueAfterMs !== undefined ? { requeueAfterMs: outcome.requeueAfterMs } : {};
    },
  };
}
