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
 */
import type { Cluster } from '../api/kinds/cluster.js';
import type { Prod } from '../api/kinds/prod.js';
import { errors } from '../errors.js';
import { buildSuccessor, ensureSuccessor, isServing, LABEL_REPLACE, retireProd, revertSuccessor, setTakeover, successorName } from '../release/successor.js';
import type { Store } from '../store/store.js';
import { setClusterState } from './cluster-ops.js';

export const ReplaceStep = ['cordoned', 'created', 'serving', 'swapped', 'retired', 'failed', 'reverted'] as const;
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
  message: string;
}

export async function replaceCluster(
  store: Store,
  oldName: string,
  newName: string,
  opts: { timeoutMs?: number; pollMs?: number; onProgress?: (p: ReplaceProgress) => void; signal?: AbortSignal } = {},
): Promise<ReplaceResult> {
  const report = opts.onProgress ?? (() => {});
  const target = await store.get<Cluster>('Cluster', newName);
  if (!target) throw errors.notFound('Cluster', newName);
  if (target.spec.cordoned || target.spec.draining) throw errors.invalid(`cluster ${newName} is cordoned or draining`, 'with', `uncordon it first: drover cluster uncordon ${newName}`);
  await setClusterState(store, oldName, 'cordon');
  report({ step: 'cordoned', message: `${oldName} cordoned: no new Prods` });

  const all = (await store.list<Prod>('Prod')).items;
  const preds = all.filter((p) => p.spec.cluster === oldName && !p.spec.retire && p.spec.replaces === undefined);
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
      const p = await store.get<Prod>('Prod', succ);
      if (!p || p.status?.phase === 'Failed' || Date.now() > end || opts.signal?.aborted) {
        const why = !p ? `${succ} disappeared` : p.status?.phase === 'Failed' ? `${succ} failed: ${p.status.message ?? ''}` : `timed out waiting for ${succ}`;
        report({ step: 'failed', prod: pred.metadata.name, successor: succ, message: why });
        await Promise.all(pairs.map((x) => revertSuccessor(store, x.succ)));
        report({ step: 'reverted', message: `successors reverted; tenants stay on ${oldName} (still cordoned)` });
        return { ok: false, moved: [], message: why };
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
  return {
    ok: true,
    moved: pairs.map((x) => ({ from: x.pred.metadata.name, to: x.succ })),
    message: `${pairs.length} Prods moved from ${oldName} to ${newName}; ${oldName} stays cordoned — delete it when empty`,
  };
}
