/** Restart delays of a crash-looping workload: base·2^attempt, capped, so a broken Prod costs little. */
export interface BackoffPolicy {
  baseMs: number;
  capMs: number;
  /** A run that lasted this long counts as healthy: the next crash starts again from `baseMs`. */
  resetAfterMs: number;
}

export const defaultBackoff: BackoffPolicy = { baseMs: 250, capMs: 10_000, resetAfterMs: 10_000 };

export function backoffDelay(attempt: number, policy: BackoffPolicy): number {
  return Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(attempt, 30));
}
