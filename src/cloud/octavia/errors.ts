/**
 * Why a mirror could not read or build: a code (the `Synced` condition's reason), the spec field at fault
 * and the fix. Not API errors (no HTTP status): they end in a LoadBalancerMirror's status and Events.
 */
export type MirrorErrorCode =
  | 'OctaviaConfig'
  | 'OctaviaAuth'
  | 'OctaviaUnreachable'
  | 'OctaviaNotFound'
  | 'OctaviaError'
  | 'ServiceClusterNotFound'
  | 'ServiceClusterNotKubernetes'
  | 'ServiceClusterConfig'
  | 'ServiceNotFound'
  | 'ServiceNotLoadBalancer'
  | 'ServiceAuth'
  | 'ServiceUnreachable'
  | 'ServiceError'
  | 'SourceAddressMissing'
  | 'InvalidTarget';

export class OctaviaError extends Error {
  readonly field: string | undefined;
  readonly fix: string | undefined;
  constructor(
    readonly code: MirrorErrorCode,
    message: string,
    opts: { field?: string; fix?: string; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'OctaviaError';
    this.field = opts.field;
    this.fix = opts.fix;
  }
}
