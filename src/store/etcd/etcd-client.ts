/**
 * The one place an etcd client is built, for the store and the leader elector alike: client URLs, TLS
 * files, and fault handling suited to a control plane that must survive the loss of one etcd member.
 */
import { readFileSync } from 'node:fs';
import { Etcd3, type IOptions } from 'etcd3';

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
    faultHandling: { watchBackoff: new CappedBackoff(50) },
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
