/**
 * What `drover migration …` does, as library code over a Store (the command file parses options and
 * prints): start, plan (a dry run), and the user's actions. Actions act or say why not: one that cannot
 * apply (anything but pause on a finished migration, promote of a paused-before-start one) is refused
 * with the fix; an accepted one is written and followed until the controller handled it.
 */
import { z } from 'zod';
import { isMigrationFinished, MigrationSpec, type Migration } from '../api/kinds/migration.js';
import type { Gate } from '../api/kinds/release.js';
import { API_VERSION } from '../api/meta.js';
import { fromZodError } from '../api/validate.js';
import { planSteps, selectTenants, type PlannedStep, type TenantSelection } from '../controllers/migration-plan.js';
import { DroverError, errors, isDroverError } from '../errors.js';
import { mutate } from '../store/mutate.js';
import type { Store } from '../store/store.js';

export interface StartMigrationOptions {
  legacy: string[];
  healthPath?: string;
  mode?: string;
  steps?: string;
  bake?: string;
  tenants?: string;
  selector?: string;
  affinity?: string;
  maxErrorRate?: string;
  maxRatioToLegacy?: string;
  name?: string;
  paused?: boolean;
  target?: string;
  listenerArn?: string;
  ruleArn?: string;
  legacyTargetGroup?: string;
  fleetTargetGroup?: string;
  region?: string;
  stickiness?: string;
}

/** `a=b,c=d` → matchLabels. */
function selectorOf(s: string): { matchLabels: Record<string, string> } {
  const matchLabels: Record<string, string> = {};
  for (const part of s.split(',').filter(Boolean)) {
    const i = part.indexOf('=');
    if (i <= 0) throw errors.invalid(`--selector "${s}" is not KEY=VALUE[,KEY=VALUE]`, 'spec.tenants.selector', 'use e.g. --selector tier=free');
    matchLabels[part.slice(0, i)] = part.slice(i + 1);
  }
  return { matchLabels };
}

function num(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw errors.invalid(`${flag} "${v}" is not a number`, flag.replace(/^--/, ''), `give ${flag} a number`);
  return n;
}

/** The spec the flags describe, validated (errors name the spec field and the fix). */
export function migrationSpecFromFlags(fleet: string, o: StartMigrationOptions): MigrationSpec {
  const gates: Gate[] = [{ type: 'errorRate', max: num(o.maxErrorRate, '--max-error-rate') ?? 0.01, minRequests: 20, ...(o.maxRatioToLegacy !== undefined ? { maxRatioToBaseline: num(o.maxRatioToLegacy, '--max-ratio-to-legacy')! } : {}) }];
  const raw = {
    fleet,
    legacy: { endpoints: o.legacy.map((url) => ({ url })), ...(o.healthPath ? { healthPath: o.healthPath } : {}) },
    ...(o.tenants ? { tenants: { names: o.tenants.split(',').filter(Boolean) } } : o.selector ? { tenants: { selector: selectorOf(o.selector) } } : {}),
    ...(o.mode ? { mode: o.mode } : {}),
    ...(o.steps ? { steps: o.steps.split(',').map((x) => Number(x.trim().replace(/%$/, ''))) } : {}),
    ...(o.bake ? { bake: o.bake } : {}),
    ...(o.affinity ? { affinity: o.affinity } : {}),
    gates,
    paused: o.paused === true,
    target: {
      ...(o.target ? { type: o.target } : {}),
      ...(o.listenerArn ? { listenerArn: o.listenerArn } : {}),
      ...(o.ruleArn ? { ruleArn: o.ruleArn } : {}),
      ...(o.legacyTargetGroup ? { legacyTargetGroupArn: o.legacyTargetGroup } : {}),
      ...(o.fleetTargetGroup ? { fleetTargetGroupArn: o.fleetTargetGroup } : {}),
      ...(o.region ? { region: o.region } : {}),
      ...(o.stickiness !== undefined ? { stickinessSeconds: num(o.stickiness, '--stickiness') } : {}),
    },
  };
  try {
    return MigrationSpec.parse(raw);
  } catch (e) {
    if (e instanceof z.ZodError) {
      const err = fromZodError(e, MigrationSpec);
      throw new DroverError(err.code, err.message.startsWith('spec.') ? err.message : `spec.${err.message}`, { ...(err.field ? { field: `spec.${err.field}` } : {}), ...(err.fix ? { fix: err.fix } : {}) });
    }
    throw e;
  }
}

export async function startMigration(store: Store, fleet: string, o: StartMigrationOptions): Promise<Migration> {
  if (o.legacy.length === 0) throw errors.invalid('no legacy endpoint given', 'spec.legacy.endpoints', 'name the legacy backend: --legacy http://10.0.0.5:8080 (repeatable)');
  const spec = migrationSpecFromFlags(fleet, o);
  const base = o.name ?? `${fleet}-migration`;
  for (let i = 1; ; i++) {
    const name = i === 1 ? base : `${base}-${i}`;
    try {
      return await store.create<Migration>({ apiVersion: API_VERSION, kind: 'Migration', metadata: { name, labels: {}, annotations: {}, finalizers: [], ownerReferences: [] }, spec });
    } catch (e) {
      if (!isDroverError(e, 'DROVER_E_ALREADY_EXISTS') || o.name !== undefined || i >= 20) throw e;
    }
  }
}

export interface MigrationPlan {
  kind: 'MigrationPlan';
  fleet: string;
  mode: MigrationSpec['mode'];
  selection: TenantSelection;
  steps: PlannedStep[];
}

/** The steps a migration with these flags would take over today's tenants (nothing is written). */
export async function planMigration(store: Store, fleet: string, o: Omit<StartMigrationOptions, 'legacy'>): Promise<MigrationPlan> {
  if (!(await store.get('Fleet', fleet))) throw errors.notFound('Fleet', fleet);
  const spec = migrationSpecFromFlags(fleet, { ...o, legacy: ['http://legacy.invalid'] });
  const tenants = (await store.list('Tenant')).items;
  const selection = selectTenants(spec, tenants);
  return { kind: 'MigrationPlan', fleet, mode: spec.mode, selection, steps: planSteps(spec, selection) };
}

export const MigrationAction = ['pause', 'resume', 'abort', 'promote'] as const;
export type MigrationAction = (typeof MigrationAction)[number];

const refuse = (message: string, fix: string) => new DroverError('DROVER_E_UNPROCESSABLE', message, { fix });

export function migrationRefusal(m: Migration, action: MigrationAction): { error: DroverError } | { already: string } | undefined {
  const name = m.metadata.name;
  const phase = m.status?.phase ?? 'Pending';
  if (isMigrationFinished(m)) {
    if (action === 'pause') return { already: `migration.drover.dev/${name} already ended (${phase}): nothing to pause` };
    return { error: refuse(`migration ${name} already ended (${phase}): there is nothing to ${action}`, `see what happened with: drover migration status ${name}; start again with: drover migration start ${m.spec.fleet} --legacy URL`) };
  }
  if (action === 'pause' && m.spec.paused) return { already: `migration.drover.dev/${name} already paused` };
  if (action === 'resume' && !m.spec.paused && phase !== 'Paused') return { already: `migration.drover.dev/${name} is not paused: nothing to resume` };
  if (action === 'promote' && phase === 'Pending') return { error: refuse(`migration ${name} has not started: there is no step to promote`, m.spec.paused ? `resume it first: drover migration resume ${name}` : `wait for the first step: drover migration status ${name} -w`) };
  if (m.spec.action !== 'none' && m.spec.action !== action && action !== 'abort') {
    return { error: refuse(`migration ${name} has a ${m.spec.action} request the controller has not handled yet`, `wait for it: drover migration status ${name} -w`) };
  }
  return undefined;
}

const APPLY: Record<MigrationAction, (m: Migration) => void> = {
  pause: (m) => void (m.spec.paused = true),
  resume: (m) => {
    m.spec.paused = false;
    m.spec.action = 'resume';
  },
  abort: (m) => void (m.spec.action = 'abort'),
  promote: (m) => void (m.spec.action = 'promote'),
};

export async function requestMigrationAction(store: Store, name: string, action: MigrationAction): Promise<{ migration: Migration; already?: string }> {
  let already: string | undefined;
  const m = await mutate<Migration>(store, 'Migration', name, (x) => {
    const no = migrationRefusal(x, action);
    if (no && 'error' in no) throw no.error;
    if (no) {
      already = no.already;
      return false;
    }
    APPLY[action](x);
  });
  if (!m) throw errors.notFound('Migration', name);
  return { migration: m, ...(already !== undefined ? { already } : {}) };
}

/** Follows an accepted action until the controller handled it; reports its decision. */
export async function awaitMigrationAction(store: Store, name: string, action: MigrationAction, opts: { timeoutMs?: number; pollMs?: number } = {}): Promise<{ ok: boolean; message: string; migration: Migration }> {
  const end = Date.now() + (opts.timeoutMs ?? 30_000);
  const since = new Date(Date.now() - 1000).toISOString();
  for (;;) {
    const m = await store.get('Migration', name);
    if (!m) throw errors.notFound('Migration', name);
    const phase = m.status?.phase ?? 'Pending';
    const handled = action === 'pause' ? phase === 'Paused' || phase === 'Pending' || isMigrationFinished(m) : m.spec.action === 'none';
    if (handled) {
      const last = (m.status?.decisions ?? []).filter((d) => d.time >= since).at(-1);
      const text = last ? `${last.action}: ${last.reason}` : `phase ${phase}`;
      return { ok: last?.action !== 'ActionIgnored', message: `migration.drover.dev/${name} ${phase} at ${m.status?.weight ?? 0} % on the fleet: ${text}`, migration: m };
    }
    if (Date.now() > end) {
      return { ok: false, message: `migration.drover.dev/${name}: the controller has not handled ${action} within ${Math.round((opts.timeoutMs ?? 30_000) / 1000)}s (is the control plane running?); the request stays in the spec`, migration: m };
    }
    await new Promise((res) => setTimeout(res, opts.pollMs ?? 200));
  }
}
