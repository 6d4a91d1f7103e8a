/**
 * Which Kubernetes API failures are worth retrying, and how long to wait. One place decides, so every call
 * the driver makes behaves the same.
 *
 * Retried: 409 Conflict (with force=true a server-side apply has no field conflicts left, so a 409 means a
 * concurrent write or an object still being deleted — both pass), 429 Too Many Requests (API priority and
 * fairness; the server sends Retry-After), 5xx, no answer at all, and a 403 that only says the namespace is
 * still terminating. Everything else (400/422 invalid, 401/403, 404) will not change by retrying and is
 * returned at once.
 */
import { KubeApiError } from './kube-http.js';

export interface RetryPolicy {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Upper bound for a server's Retry-After, so one answer cannot park the agent for minutes. */
  maxRetryAfterMs: number;
  /** Injected so tests can see the delays without waiting them out. */
  sleep: (ms: number) => Promise<void>;
}

export const defaultRetryPolicy: RetryPolicy = {
  attempts: 5,
  baseDelayMs: 200,
  maxDelayMs: 5_000,
  maxRetryAfterMs: 30_000,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export function isRetryable(e: unknown): e is KubeApiError {
  if (!(e instanceof KubeApiError)) return false;
  const s = e.httpStatus;
  return s === 0 || s === 409 || s === 429 || s >= 500 || e.namespaceTerminating;
}

/**
 * A failure that says nothing about the Prod: the API server did not answer, is overloaded, or the Prod's
 * old namespace is still going away. The agent keeps the Prod's last observed state through these instead
 * of calling the Prod Failed; a longer outage makes the cluster NotReady through its heartbeat.
 */
export function isTransient(e: unknown): boolean {
  return isRetryable(e);
}

/** Delay before retry number `attempt` (1-based): Retry-After when the server sent one, else jittered exponential. */
export function retryDelayMs(e: KubeApiError, attempt: number, policy: RetryPolicy, random = Math.random): number {
  if (e.retryAfterMs !== undefined) return Math.min(e.retryAfterMs, policy.maxRetryAfterMs);
  const exp = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  // Full jitter halves the herd when many agents retry against one API server at once.
  return Math.round(exp / 2 + random() * (exp / 2));
}

export async function withRetry<T>(fn: () => Promise<T>, policy: RetryPolicy): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (!isRetryable(e) || attempt >= policy.attempts) throw e;
      await policy.sleep(retryDelayMs(e, attempt, policy));
    }
  }
}
