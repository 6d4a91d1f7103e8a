/**
 * The one place an etcd client is built, for the store and the leader elector alike: client URLs, TLS
 * files, and fault handling suited to a control plane that must survive the loss of one etcd member.
 */
import { readFileSync } from 'node:fs';
import { circuitBreaker, ConsecutiveBreaker, ExponentialBackoff, handleWhen, isBrokenCircuitError, retry } from 'cockatiel';
import { Etcd3, isRecoverableError, type IOptions } from 'etcd3';

export interface EtcdConnection {
  /** Client URLs of the members, e.g. `http://127.0.0.1:2379`; a comma-separated string is split. */
  hosts: string | string[];
  /** PEM files: the CA that signed the members' certificates, and this client's certificate and key. */
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

/** Largest pause before a broken watch stream is opened again (etcd3's default grows to 30 s). */
const WATCH_BACKOFF_MAX_MS = 1000;
/** Unary calls to a member that stopped answering give up after this and are retried on another one. */
const CALL_DEADLINE_MS = 10_000;

/**
 * A member that failed 3 calls in a row is skipped for this long. etcd3's default, 5 s, outlasts an etcd
 * leader election: when a killed member was the etcd leader, the survivors also fail a few calls while they
 * elect, every member's breaker opens, and every write fails for 5 s ("circuit breaker is open").
 */
const MEMBER_HALF_OPEN_MS = 500;
/** Attempts of one call over the members, with backoff: long enough to ride over an etcd election. */
const CALL_ATTEMPTS = 6;

/** etcd3 takes cockatiel's backoff shape; a capped doubling is all a reconnect needs. */
class CappedBackoff {
  constructor(readonly duration: number) {}
  next(): CappedBackoff {
    return new CappedBackoff(Math.min(WATCH_BACKOFF_MAX_MS, this.duration * 2));
  }
}

export function etcdHosts(hosts: string | string[]): string[] {
  return (Array.isArray(hosts) ? hosts : hosts.split(',')).map((h) => h.trim()).filter((h) => h !== '');
}

export function etcdClient(conn: EtcdConnection): Etcd3 {
  const opts: IOptions = {
    hosts: etcdHosts(conn.hosts),
    // Watches reconnect to another member fast: the informers and the API's watches ride on them.
    faultHandling: {
      watchBackoff: new CappedBackoff(50),
      host: () => circuitBreaker(handleWhen(isRecoverableError), { halfOpenAfter: MEMBER_HALF_OPEN_MS, breaker: new ConsecutiveBreaker(3) }),
      // Every member skipped (all breakers open) is retried too: nothing was sent, so a retry is safe;
      // a call that reached a member and failed is retried as etcd3 does by default (the store
      // recognises its own write when a retried commit finds it already applied).
      global: retry(handleWhen((e) => isRecoverableError(e) || isBrokenCircuitError(e)), {
        maxAttempts: CALL_ATTEMPTS,
        backoff: new ExponentialBackoff({ initialDelay: 50, maxDelay: 1000 }),
      }),
    },
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + CALL_DEADLINE_MS }),
  };
  if (conn.caFile) {
    opts.credentials = {
      rootCertificate: readFileSync(conn.caFile),
      ...(conn.certFile ? { certChain: readFileSync(conn.certFile) } : {}),
      ...(conn.keyFile ? { privateKey: readFileSync(conn.keyFile) } : {}),
    };
  }
  return new Etcd3(opts);
}
