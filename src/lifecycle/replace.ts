/**
 * `drover cluster replace OLD --with NEW`: the immutable cluster upgrade, as a client-side orchestrator.
 *
 * Why client-side and not a controller: every step is an idempotent write of existing contracts
 * (cordon, successor Prods with deterministic names, takeover, retire), so running the command again
 * resumes where it stopped, and a crash in between leaves both Prods serving (safe). It needs no new
 * kind in the API, and the command that started it is where progress is shown. A `ClusterReplacement`
 * kind with a controller is the way to make it survive the CLI going away, if that is ever needed.
 *
 * Steps: cordon OLD → for each live Prod on OLD, a successor on NEW (same version, role and env;
 * replaces = old) → wait until it serves (never on stale status) → takeover on (its tenants move in
 * one plan update) → when all have moved, retire OLD's Prods. If a successor fails or the deadline
 * passes, the successors are reverted (takeover off, retired): the tenants stay on OLD.
 *
 * Which Prods move: every live Prod on OLD, including those a release or an earlier replace created (they
 * keep `spec.replaces` after their predecessor is gone; only a successor whose predecessor is still live
 * is in flight — `isSuccessorInFlight`). Not moved, each with its reason in the result: a successor in
 * flight or a Prod being replaced (someone else is swapping it), and Prods of a fleet with an active
 * Release (the release builds its successors next to their predecessors). A replace that leaves any Prod
 * behind is not ok: the command says which and why, and exits non-zero.
 */
import type { Prod } from '../api/kinds/prod.js';
import { isReleaseActive, type Release } from '../api/kinds/release.js';
import { LABEL_REPLACE } from '../api/labels.js';
import { errors } from '../errors.js';
import { buildSuccessor, ensureSuccessor, isServing, isSuccessorInFlight, retireProd, revertSuccessor, setTakeover, successorName } from '../release/successor.js';
import type { Store } from '../store/store.js';
import { setClusterState } from './cluster-ops.js';

export const ReplaceStep = ['cordoned', 'skipped', 'created', 'serving', 'swapped', 'retired', 'failed', 'reverted'] as const;
export type ReplaceStep = (typeof ReplaceStep)[number];

export interface ReplaceProgress {
  step: ReplaceStep;
  prod?: string;
  successor?: string;
  message: string;
}

export interface ReplaceResult {
  ok: boolean;
  moved: { from: string; to: string }[];
  /** Live Prods on OLD that were not moved, and why. */
  skipped: { prod: string; reason: string }[];
  message: string;
}

/** The live Prods on a cluster, split into those a replace moves and those it must leave, with reasons. */
export function replaceCandidates(cluster: string, prods: readonly Prod[], releases: readonly Release[]): { move: Prod[]; skip: ReplaceResult['skipped'] } {
  const byName = new Map(prods.map((p) => [p.metadata.name, p] as const));
  const swapping = new Map<string, string>();
  for (const p of prods) if (!p.spec.retire && isSuccessorInFlight(p, byName)) swapping.set(p.spec.replaces!, p.metadata.name);
  const releasing = new Map<string, string>();
  for (const r of releases) if (isReleaseActive(r)) releasing.set(r.spec.fleet, r.metadata.name);
  const move: Prod[] = [];
  const skip: ReplaceResult['skipped'] = [];
  for (const p of prods) {
    if (p.spec.cluster !== cluster || p.spec.retire) continue;
    const name = p.metadata.name;
    const release = releasing.get(p.spec.fleet);
    if (release !== undefined) skip.push({ prod: name, reason: `fleet ${p.spec.fleet} has release ${release} in progress: run the replace after it ends (or abort it)` });
    else if (isSuccessorInFlight(p, byName)) skip.push({ prod: name, reason: `it is taking over from ${p.spec.replaces}: wait until that swap ends` });
    else if (swapping.has(name)) skip.push({ prod: name, reason: `${swapping.get(name)} is taking over from it: wait until that swap ends` });
    else move.push(p);
  }
  return { move, skip };
}

export async function replaceCluster(
  store: Store,
  oldName: string,
  newName: string,
  opts: { timeoutMs?: number; pollMs?: number; onProgress?: (p: ReplaceProgress) => void; signal?: AbortSignal } = {},
): Promise<ReplaceResult> {
  const report = opts.onProgress ?? (() => {});
  if (oldName === newName) throw errors.invalid(`cannot replace cluster ${oldName} with itself`, 'with', 'name another cluster: drover cluster replace OLD --with NEW');
  if (!(await store.get('Cluster', oldName))) throw errors.notFound('Cluster', oldName);
  const target = await store.get('Cluster', newName);
  if (!target) throw errors.notFound('Cluster', newName);
  if (target.spec.cordoned || target.spec.draining) throw errors.invalid(`cluster ${newName} is cordoned or draining`, 'with', `uncordon it first: drover cluster uncordon ${newName}`);
  await setClusterState(store, oldName, 'cordon');
  report({ step: 'cordoned', message: `${oldName} cordoned: no new Prods` });

  const [all, releases] = await Promise.all([store.list('Prod'), store.list('Release')]);
  const { move: preds, skip: skipped } = replaceCandidates(oldName, all.items, releases.items);
  for (const s of skipped) report({ step: 'skipped', prod: s.prod, message: `${s.prod} not moved: ${s.reason}` });
  const pairs: { pred: Prod; succ: string }[] = [];
  for (const pred of preds) {
    const succ = await ensureSuccessor(
      store,
      buildSuccessor(pred, { name: successorName(pred, pred.spec.version, `replace/${oldName}/${newName}`), cluster: newName, labels: { [LABEL_REPLACE]: oldName } }),
    );
    pairs.push({ pred, succ: succ.metadata.name });
    report({ step: 'created', prod: pred.metadata.name, successor: succ.metadata.name, message: `${pred.metadata.name} → ${succ.metadata.name} on ${newName}` });
  }

  const end = Date.now() + (opts.timeoutMs ?? 600_000);
  const swapped = new Set<string>();
  while (swapped.size < pairs.length) {
    for (const { pred, succ } of pairs) {
      if (swapped.has(succ)) continue;
      const p = await store.get('Prod', succ);
      if (!p || p.status?.phase === 'Failed' || Date.now() > end || opts.signal?.aborted) {
        const why = !p ? `${succ} disappeared` : p.status?.phase === 'Failed' ? `${succ} failed: ${p.status.message ?? ''}` : `timed out waiting for ${succ}`;
        report({ step: 'failed', prod: pred.metadata.name, successor: succ, message: why });
        await Promise.all(pairs.map((x) => revertSuccessor(store, x.succ)));
        report({ step: 'reverted', message: `successors reverted; tenants stay on ${oldName} (still cordoned)` });
        return { ok: false, moved: [], skipped, message: why };
      }
      if (isServing(p, pred.spec.version)) {
        report({ step: 'serving', prod: pred.metadata.name, successor: succ, message: `${succ} serves ${pred.spec.version}` });
        await setTakeover(store, succ, true);
        swapped.add(succ);
        report({ step: 'swapped', prod: pred.metadata.name, successor: succ, message: `tenants of ${pred.metadata.name} now on ${succ}` });
      }
    }
    if (swapped.size < pairs.length) await new Promise((r) => setTimeout(r, opts.pollMs ?? 250));
  }
  for (const { pred } of pairs) {
    await retireProd(store, pred.metadata.name);
    report({ step: 'retired', prod: pred.metadata.name, message: `${pred.metadata.name} retired` });
  }
  const moved = pairs.map((x) => ({ from: x.pred.metadata.name, to: x.succ }));
  if (skipped.length > 0) {
    return { ok: false, moved, skipped, message: `${pairs.length} Prods moved from ${oldName} to ${newName}; ${skipped.length} not moved (${skipped.map((s) => s.prod).join(', ')}, reasons above): run the replace again once they can move; ${oldName} stays cordoned` };
  }
  if (pairs.length === 0) return { ok: true, moved, skipped, message: `nothing to move: cluster ${oldName} has no live Prods (already replaced, or empty); it stays cordoned — delete it when you no longer need it` };
  return { ok: true, moved, skipped, message: `${pairs.length} Prods moved from ${oldName} to ${newName}; ${oldName} stays cordoned — delete it when empty` };
}
