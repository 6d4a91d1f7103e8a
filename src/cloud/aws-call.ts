/**
 * Every AWS call Drover makes goes through `awsCall`: one retry policy, one error classification, one
 * call counter.
 *
 * Why retries here and not in the SDK: the clients are built with `maxAttempts: 1` (src/cloud/clients.ts)
 * and this loop retries instead — capped exponential backoff with full jitter (sleep = random(0, min(cap,
 * base·2^n))), as the SDK's standard strategy does — because (1) Global Accelerator answers its internal
 * errors and `TransactionInProgressException` with HTTP 400, which the SDK's classifier does not retry;
 * (2) a sync has a budget (a controller worker must not hang on a throttled API for minutes: the next sync
 * comes anyway); (3) one policy for GA, Route 53 and ELBv2 that tests can exercise with a mocked client.
 *
 * Classes: throttling and transient (5xx, GA internal error, a transaction in progress, network) are
 * retried; credentials (none found, expired) and permanent ones (AccessDenied, not found, invalid
 * argument) are not: the controller turns them into a condition and an Event and waits for a change or
 * the next sync period.
 */

export type AwsErrorClass = 'throttling' | 'transient' | 'credentials' | 'permanent';

const THROTTLING = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'PriorRequestNotComplete',
  'SlowDown',
  'RequestThrottled',
  'BandwidthLimitExceeded',
]);
const TRANSIENT = new Set([
  'InternalServiceErrorException',
  'InternalFailure',
  'InternalError',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'TransactionInProgressException',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
]);
const CREDENTIALS = new Set(['CredentialsProviderError', 'ExpiredToken', 'ExpiredTokenException', 'InvalidClientTokenId', 'UnrecognizedClientException']);

interface ErrorLike {
  name?: string;
  code?: string;
  message?: string;
  $fault?: 'client' | 'server';
  $metadata?: { httpStatusCode?: number };
}

export function awsErrorCode(e: unknown): string {
  const x = (e ?? {}) as ErrorLike;
  return x.name && x.name !== 'Error' ? x.name : (x.code ?? 'Error');
}

export function classifyAwsError(e: unknown): AwsErrorClass {
  const x = (e ?? {}) as ErrorLike;
  const code = awsErrorCode(e);
  if (THROTTLING.has(code) || x.$metadata?.httpStatusCode === 429) return 'throttling';
  if (CREDENTIALS.has(code) || /credential/i.test(code)) return 'credentials';
  if (TRANSIENT.has(code) || x.$fault === 'server' || (x.$metadata?.httpStatusCode ?? 0) >= 500) return 'transient';
  if (x.code !== undefined && TRANSIENT.has(x.code)) return 'transient';
  return 'permanent';
}

/** An AWS call that failed for good (after retries, or at once when not retryable). */
export class AwsCallError extends Error {
  constructor(
    readonly operation: string,
    readonly code: string,
    readonly errorClass: AwsErrorClass,
    message: string,
    readonly attempts: number,
    options?: { cause?: unknown },
  ) {
    super(`${operation}: ${code}: ${message}`, options);
    this.name = 'AwsCallError';
  }
}

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  attempts: number;
  baseMs: number;
  capMs: number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

/** 6 attempts, 100 ms base, 5 s cap: at most ~10 s of waiting per call before the sync gives up. */
export const DEFAULT_RETRY: RetryPolicy = { attempts: 6, baseMs: 100, capMs: 5_000 };

/** Counts the calls of one sync, by reads and writes (bench/ and status report them). */
export class CallMeter {
  reads = 0;
  writes = 0;
  /** Retries after throttling or a transient error. */
  retries = 0;
  readonly log: string[] = [];
}

/** Runs `fn` (one SDK `send`) with the retry policy; counts the call; throws `AwsCallError` when it fails. */
export async function awsCall<T>(meter: CallMeter, operation: string, kind: 'read' | 'write', fn: () => Promise<T>, policy: RetryPolicy = DEFAULT_RETRY): Promise<T> {
  const sleep = policy.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const random = policy.random ?? Math.random;
  for (let attempt = 1; ; attempt++) {
    if (kind === 'read') meter.reads++;
    else meter.writes++;
    meter.log.push(operation);
    try {
      return await fn();
    } catch (e) {
      const cls = classifyAwsError(e);
      const retryable = cls === 'throttling' || cls === 'transient';
      if (!retryable || attempt >= policy.attempts) {
        throw new AwsCallError(operation, awsErrorCode(e), cls, (e as ErrorLike).message ?? String(e), attempt, { cause: e });
      }
      meter.retries++;
      await sleep(random() * Math.min(policy.capMs, policy.baseMs * 2 ** (attempt - 1)));
    }
  }
}
