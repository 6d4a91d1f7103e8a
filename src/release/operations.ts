/**
 * What `drover release …` does, as library code over a Store (the command file only parses options and
 * prints, with the CLI's formatters): start, plan, and the user's actions on a Release.
 *
 * Actions act or say why not. An action that cannot apply to the release as it is (abort of a finished
 * release, promote with no wave baking, rollback of a Succeeded release) is refused with an error that
 * says what to do instead; an accepted one is written to the spec and, unless told not to wait, followed
 * until the release controller has handled it, so the command reports what happened, not "requested".
 *
 * Why `rollback` of a Succeeded release is refused rather than rebuilt: once a release succeeded, every
 * Prod of the old version is retired and deleted, so there is no known-good Prod to point tenants back at
 * in one step. Going back means building Prods again, which is a release of the previous version: it
 * deserves the same waves, gates and abort as any other, so the error names that command.
 */
import { API_VERSION } from '../api/meta.js';
import { isReleaseFinished, ReleaseSpec, type Gate, type Release } from '../api/kinds/release.js';
import { DroverError, errors, isDroverError } from '../errors.js';
import type { Store } from '../store/store.js';
import { planWaves, releasableProds, type WavePlan } from './plan-waves.js';
import { mutate } from '../store/mutate.js';

export interface StartOptions {
  version: string;
  maxParallel?: number;
  bake?: string;
  name?: string;
  autoRollback: boolean;
  env: string[];
  maxErrorRate?: string;
  promql?: string;
  promqlMax?: string;
  /** Requests per second per new Prod for the synthetic probes; 0 turns them off. */
  probeRate?: number;
  probePath?: string;
}

export async function startRelease(store: Store, fleet: string, o: StartOptions): Promise<Release> {
  if (!(await store.get('Fleet', fleet))) throw errors.notFound('Fleet', fleet);
  const gates: Gate[] = [{ type: 'errorRate', max: o.maxErrorRate !== undefined ? Number(o.maxErrorRate) : 0.01, minRequests: 20 }];
  if (o.promql) gates.push({ type: 'promql', query: o.promql, ...(o.promqlMax !== undefined ? { max: Number(o.promqlMax) } : {}) });
  const env = Object.fromEntries(
    o.env.map((kv) => {
      const i = kv.indexOf('=');
      if (i <= 0) throw errors.invalid(`--env "${kv}" is not KEY=VALUE`, 'env', 'use e.g. --env FEATURE_X=on');
      return [kv.slice(0, i), kv.slice(i + 1)];
    }),
  );
  const probes =
    o.probeRate === 0 ? { enabled: false } : o.probeRate !== undefined || o.probePath !== undefined ? { ...(o.probeRate !== undefined ? { rate: o.probeRate } : {}), ...(o.probePath !== undefined ? { path: o.probePath } : {}) } : undefined;
  const spec = ReleaseSpec.parse({
    fleet,
    version: o.version,
    gates,
    env,
    autoRollback: o.autoRollback,
    ...(o.maxParallel ? { maxParallel: o.maxParallel } : {}),
    ...(o.bake ? { bake: o.bake } : {}),
    ...(probes ? { probes } : {}),
  });
  const slug = o.version.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '');
  const base = o.name ?? `${fleet}-${slug}`.slice(0, 60).replace(/-+$/, '');
  for (let i = 1; ; i++) {
    const name = i === 1 ? base : `${base}-${i}`;
    try {
      return await store.create<Release>({ apiVersion: API_VERSION, kind: 'Release', metadata: { name, labels: {}, annotations: {}, finalizers: [], ownerReferences: [] }, spec });
    } catch (e) {
      if (!isDroverError(e, 'DROVER_E_ALREADY_EXISTS') || o.name !== undefined || i >= 20) throw e;
    }
  }
}

/** The waves a release of `fleet` to `version` would take now (a dry run: nothing is written). */
export async function planRelease(store: Store, fleet: string, version: string, maxParallel: number): Promise<WavePlan> {
  if (!(await store.get('Fleet', fleet))) throw errors.notFound('Fleet', fleet);
  const prods = releasableProds((await store.list('Prod')).items, fleet).filter((p) => p.spec.version !== version);
  const tenants = (await store.list('Tenant')).items.filter((t) => t.spec.fleet === fleet);
  return planWaves(prods, tenants, { maxParallel });
}

export const ReleaseAction = ['pause', 'resume', 'abort', 'rollback', 'promote'] as const;
export type ReleaseAction = (typeof ReleaseAction)[number];

const refuse = (message: string, fix: string) => new DroverError('DROVER_E_UNPROCESSABLE', message, { fix });

/**
 * Why `action` cannot apply to `r` as it is now, or undefined when it can. `already` marks a request whose
 * end state already holds (pause of a paused release): said, but not an error.
 */
export function refusal(r: Release, action: ReleaseAction): { error: DroverError } | { already: string } | undefined {
  const name = r.metadata.name;
  const phase = r.status?.phase ?? 'Pending';
  const status = `drover release status ${name}`;
  if (isReleaseFinished(r)) {
    if (action === 'rollback' && phase === 'Failed') return undefined;
    // What a pause asks for (no further change by this release) holds for a finished one.
    if (action === 'pause') return { already: `release.drover.dev/${name} already ended (${phase}): nothing to pause` };
    if (action === 'rollback' && phase === 'Succeeded') {
      const prev = r.status?.fromVersion;
      return {
        error: refuse(
          `release ${name} succeeded: fleet ${r.spec.fleet} is on ${r.spec.version} and the Prods of ${prev ?? 'the previous version'} are gone, so there is no wave to undo`,
          `release the previous version, with waves and gates like any release: drover release start ${r.spec.fleet} --version ${prev ?? '<previous version>'}`,
        ),
      };
    }
    return { error: refuse(`release ${name} already ended (${phase}): there is nothing to ${action}`, `see what happened with: ${status}; start a new release with: drover release start ${r.spec.fleet} --version <version>`) };
  }
  if (action === 'pause' && r.spec.paused) return { already: `release.drover.dev/${name} already paused` };
  if (action === 'resume' && !r.spec.paused) return { already: `release.drover.dev/${name} is not paused: nothing to resume` };
  if (action === 'promote') {
    const wave = r.status?.waves[r.status.currentWave];
    if (wave?.state !== 'Baking') {
      return { error: refuse(`release ${name}: promote passes a baking wave, and wave ${wave?.index ?? '-'} is ${wave?.state ?? 'not planned yet'}`, `wait until the wave bakes: ${status} -w`) };
    }
  }
  if (r.spec.action !== 'none' && r.spec.action !== action) {
    return { error: refuse(`release ${name} has a ${r.spec.action} request the release controller has not handled yet`, `wait for it: ${status} -w`) };
  }
  return undefined;
}

const APPLY: Record<ReleaseAction, (r: Release) => void> = {
  pause: (r) => void (r.spec.paused = true),
  resume: (r) => void (r.spec.paused = false),
  abort: (r) => void (r.spec.action = 'abort'),
  rollback: (r) => void (r.spec.action = 'rollback'),
  promote: (r) => void (r.spec.action = 'promote'),
};

/**
 * Writes the action into the Release's spec, or throws why it cannot apply (see `refusal`); `already` says
 * so when its end state held and nothing was written.
 */
export async function requestAction(store: Store, name: string, action: ReleaseAction): Promise<{ release: Release; already?: string }> {
  let already: string | undefined;
  const r = await mutate<Release>(store, 'Release', name, (rel) => {
    const no = refusal(rel, action);
    if (no && 'error' in no) throw no.error;
    if (no) {
      already = no.already;
      return false;
    }
    APPLY[action](rel);
  });
  if (!r) throw errors.notFound('Release', name);
  return { release: r, ...(already !== undefined ? { already } : {}) };
}

export const actOnRelease = async (store: Store, name: string, action: ReleaseAction): Promise<Release> => (await requestAction(store, name, action)).release;

export interface ActionResult {
  ok: boolean;
  message: string;
  release: Release;
}

/**
 * Follows an accepted action until the release controller has handled it: the one-shot `spec.action`
 * cleared (abort, rollback, promote), or the phase showing the pause. Reports the controller's decision.
 */
export async function awaitAction(store: Store, name: string, action: ReleaseAction, opts: { timeoutMs?: number; pollMs?: number } = {}): Promise<ActionResult> {
  const end = Date.now() + (opts.timeoutMs ?? 30_000);
  const since = new Date(Date.now() - 1000).toISOString();
  for (;;) {
    const r = await store.get('Release', name);
    if (!r) throw errors.notFound('Release', name);
    const phase = r.status?.phase ?? 'Pending';
    const handled =
      action === 'pause' ? phase === 'Paused' || isReleaseFinished(r) : action === 'resume' ? phase !== 'Paused' : r.spec.action === 'none';
    if (handled) {
      const last = (r.status?.decisions ?? []).filter((d) => d.time >= since).at(-1);
      const ignored = last?.action === 'ActionIgnored';
      const text = last ? `${last.action}: ${last.reason}` : `phase ${phase}`;
      return { ok: !ignored, message: `release.drover.dev/${name} ${phase}: ${text}`, release: r };
    }
    if (Date.now() > end) {
      return {
        ok: false,
        message: `release.drover.dev/${name}: the release controller has not handled ${action} within ${Math.round((opts.timeoutMs ?? 30_000) / 1000)}s (is the control plane running?); the request stays in the spec and is handled when it runs`,
        release: r,
      };
    }
    await new Promise((res) => setTimeout(res, opts.pollMs ?? 200));
  }
}
