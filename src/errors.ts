/**
 * The error catalogue: every error the API (and the CLI, which renders API errors) can produce has a
 * stable code, an HTTP status and a message. One central handler in the server maps `DroverError`s to
 * responses `{code, message, field?, fix?}`; anything else is an internal error.
 */

export const errorCatalogue = {
  DROVER_E_INVALID: { status: 400, title: 'invalid input' },
  DROVER_E_UNKNOWN_KIND: { status: 400, title: 'unknown kind' },
  DROVER_E_BAD_REQUEST: { status: 400, title: 'bad request' },
  DROVER_E_UNAUTHORIZED: { status: 401, title: 'unauthorized' },
  DROVER_E_FORBIDDEN: { status: 403, title: 'forbidden' },
  DROVER_E_NOT_FOUND: { status: 404, title: 'not found' },
  DROVER_E_METHOD_NOT_ALLOWED: { status: 405, title: 'method not allowed' },
  DROVER_E_REQUEST_TIMEOUT: { status: 408, title: 'request timeout' },
  DROVER_E_ALREADY_EXISTS: { status: 409, title: 'already exists' },
  DROVER_E_CONFLICT: { status: 409, title: 'conflict' },
  DROVER_E_PORT_IN_USE: { status: 409, title: 'port in use' },
  DROVER_E_GONE: { status: 410, title: 'resource version too old' },
  /**
   * A watch from a revision the store has not reached. Kubernetes answers 504 `TooLargeResourceVersion`
   * because its watch cache may lag etcd and a retry can succeed; Drover's stores answer from the source
   * of truth, so waiting does not help: the client holds a revision of another store (a restored or
   * wiped database) and must list again. Hence a client error.
   */
  DROVER_E_RESOURCE_VERSION_TOO_LARGE: { status: 400, title: 'resource version too large' },
  DROVER_E_TOO_LARGE: { status: 413, title: 'request body too large' },
  DROVER_E_UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'unsupported media type' },
  DROVER_E_UNPROCESSABLE: { status: 422, title: 'cannot be done' },
  DROVER_E_INTERNAL: { status: 500, title: 'internal error' },
  DROVER_E_BAD_GATEWAY: { status: 502, title: 'bad gateway' },
  DROVER_E_UNAVAILABLE: { status: 503, title: 'unavailable' },
  DROVER_E_GATEWAY_TIMEOUT: { status: 504, title: 'gateway timeout' },
  // Admission (src/server/admission.ts): contradictions between objects, refused at write time.
  DROVER_E_HOST_CLAIMED: { status: 400, title: 'host claimed by another tenant' },
  DROVER_E_POLICY_EXISTS: { status: 400, title: 'fleet already has a traffic policy' },
  DROVER_E_MIGRATION_CONFLICT: { status: 409, title: 'conflicts with an active migration or release' },
  // The CLI reached an HTTP server that is not Drover's API (src/client/remote-store.ts).
  DROVER_E_NOT_DROVER: { status: 502, title: 'not a Drover API server' },
  // A client's TLS handshake with the API server failed (src/client/failover.ts): names the flag to fix.
  DROVER_E_TLS: { status: 502, title: 'TLS handshake with the API server failed' },

  // A controller write of a replica that does not lead (any more): fenced off (src/store/etcd/fence.ts).
  DROVER_E_NOT_LEADER: { status: 503, title: 'not the leader' },
} as const;

export type ErrorCode = keyof typeof errorCatalogue;

export interface ErrorBody {
  code: ErrorCode;
  message: string;
  /** Dotted path of the offending field, e.g. `spec.app.port`. */
  field?: string;
  /** What the user should do about it. */
  fix?: string;
}

export class DroverError extends Error {
  readonly code: ErrorCode;
  readonly field: string | undefined;
  readonly fix: string | undefined;

  constructor(code: ErrorCode, message: string, opts: { field?: string; fix?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'DroverError';
    this.code = code;
    this.field = opts.field;
    this.fix = opts.fix;
  }

  get status(): number {
    return errorCatalogue[this.code].status;
  }

  toBody(): ErrorBody {
    const body: ErrorBody = { code: this.code, message: this.message };
    if (this.field !== undefined) body.field = this.field;
    if (this.fix !== undefined) body.fix = this.fix;
    return body;
  }
}

export const errors = {
  notFound: (kind: string, name: string) =>
    new DroverError('DROVER_E_NOT_FOUND', `${kind} "${name}" not found`, {
      fix: `list what exists with \`drover get ${kind.toLowerCase()}s\``,
    }),
  alreadyExists: (kind: string, name: string) =>
    new DroverError('DROVER_E_ALREADY_EXISTS', `${kind} "${name}" already exists`, {
      field: 'metadata.name',
      fix: 'choose another name, or use `drover apply` to update it',
    }),
  conflict: (kind: string, name: string, expected: string, actual: string) =>
    new DroverError(
      'DROVER_E_CONFLICT',
      `${kind} "${name}" was modified concurrently (you sent resourceVersion ${expected}, the stored one is ${actual})`,
      { field: 'metadata.resourceVersion', fix: 're-read the object, re-apply your change and retry' },
    ),
  gone: (requested: string, oldest: string) =>
    new DroverError(
      'DROVER_E_GONE',
      `resourceVersion ${requested} is too old (oldest retained is ${oldest})`,
      { field: 'resourceVersion', fix: 'list again and watch from the list resourceVersion' },
    ),
  tooLargeResourceVersion: (requested: string, current: string) =>
    new DroverError(
      'DROVER_E_RESOURCE_VERSION_TOO_LARGE',
      `resourceVersion ${requested.length > 24 ? `${requested.slice(0, 24)}…` : requested} is ahead of the store (its current revision is ${current})`,
      { field: 'resourceVersion', fix: 'list again and watch from the list resourceVersion (the revision came from another store, e.g. before a restore)' },
    ),
  invalid: (message: string, field?: string, fix?: string) =>
    new DroverError('DROVER_E_INVALID', message, { ...(field ? { field } : {}), ...(fix ? { fix } : {}) }),
};

export function isDroverError(e: unknown, code?: ErrorCode): e is DroverError {
  return e instanceof DroverError && (code === undefined || e.code === code);
}
