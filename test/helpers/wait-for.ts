/**
 * The one way tests and benchmarks wait: poll a check until it returns a value, never sleep a fixed time.
 *
 * `check` returns the awaited value, or `undefined`, `null` or `false` for "not yet". A check that throws
 * counts as "not yet" too (a server still starting refuses connections), unless `retryIf` says the error is
 * final, in which case it is thrown at once. On timeout the error says what was awaited, the last value the
 * check returned and the last error it threw.
 */
export interface WaitOptions {
  /** Give up after this long (default 10 s). */
  timeoutMs?: number;
  /** Pause between checks (default 20 ms). */
  intervalMs?: number;
  /** Which errors thrown by the check mean "try again" (default: all); any other is thrown at once. */
  retryIf?: (error: unknown) => boolean;
}

type NotYet = undefined | null | false;

export async function waitFor<T>(what: string, check: () => T | NotYet | Promise<T | NotYet>, opts: WaitOptions = {}): Promise<T> {
  const { timeoutMs = 10_000, intervalMs = 20, retryIf = () => true } = opts;
  const deadline = Date.now() + timeoutMs;
  let last: { value: unknown } | undefined;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== null && v !== false) return v;
      last = { value: v };
    } catch (e) {
      if (!retryIf(e)) throw e;
      lastError = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${describeLast(last, lastError)}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

function describeLast(last: { value: unknown } | undefined, lastError: unknown): string {
  const parts: string[] = [];
  if (last) parts.push(`last value ${show(last.value)}`);
  if (lastError !== undefined) parts.push(`last error ${lastError instanceof Error ? lastError.message : show(lastError)}`);
  return parts.length ? ` (${parts.join('; ')})` : '';
}

function show(v: unknown): string {
  try {
    const s = JSON.stringify(v) ?? String(v);
    return s.length > 300 ? `${s.slice(0, 300)}…` : s;
  } catch {
    return String(v);
  }
}
