/**
 * What a reconcile pass came to. The manager classifies each pass once (`outcomeOf`) and turns the
 * outcome into a queue action, a log line and the `result` metric label in one place (manager.ts).
 */
import { isDroverError } from '../errors.js';
import { TerminalError, type Result } from './reconciler.js';

export const reconcileResults = ['success', 'requeue_after', 'error', 'terminal'] as const;
export type ReconcileResult = (typeof reconcileResults)[number];

export type Outcome =
  | { result: 'success' }
  | { result: 'requeue_after'; afterMs: number }
  | { result: 'error'; error: unknown }
  | { result: 'terminal'; error: TerminalError };

export type Settled = { ok: true; value: Result } | { ok: false; error: unknown };

export function outcomeOf(settled: Settled): Outcome {
  if (!settled.ok) {
    if (settled.error instanceof TerminalError) return { result: 'terminal', error: settled.error };
    return { result: 'error', error: settled.error };
  }
  const after = settled.value.requeueAfterMs;
  if (after !== undefined && after > 0) return { result: 'requeue_after', afterMs: after };
  return { result: 'success' };
}

/** A concurrent write beat us: expected under contention, retried like any error but logged quieter. */
export function isConflict(e: unknown): boolean {
  return isDroverError(e, 'DROVER_E_CONFLICT');
}
