/**
 * Leader election on etcd, for control-plane replicas that share one etcd (docs/architecture.md, "A highly
 * available control plane"). The algorithm and key layout are etcd's own (Go `concurrency.Election`, etcd3's
 * `Election`, so `client.namespace(root).election('controllers').leader()` reads who leads): each candidate
 * puts `<root>election/controllers/<leaseId>` attached to its lease; the key with the lowest create revision
 * leads; the others wait for the key created just before theirs to go.
 *
 * Unlike etcd3's `Campaign` it renews the lease itself, at `renewMs`, and keeps a local deadline: the lead is
 * given up when no renewal sent less than `ttlMs` ago has been answered (etcd counts the TTL from when it
 * received the renewal, later than we sent it, so locally we always give up first). Those are for promptness
 * only; safety is the fence (src/store/etcd/fence.ts): every controller write checks in its etcd transaction
 * that this term's key still exists with its create revision, so a replica paused or cut off past its lease
 * writes nothing whatever its clock says.
 */
import { EtcdLeaseInvalidError, type Etcd3, type Lease } from 'etcd3';
import type { Fence, FenceRefusal, FenceSource } from '../store/etcd/fence.js';
import { fencedWrites, leaderGauge, leaderTransitions, lastFencedCommit } from './etcd-election-metrics.js';
import type { LeaderElector, Leadership } from './leader-election.js';
import { errorText, stderrLogger, type Logger } from './logger.js';

export const DEFAULT_LEASE_TTL_MS = 3000;
/** The TTL is whole seconds (etcd's unit), and etcd raises anything below ~1.5 s (3/2 of its election timeout). */
const MIN_TTL_S = 2;
const ELECTION = 'controllers';
const RELEASED = 'released';
/** After a failed renewal (a member died mid-call), the next try comes this soon, on another member. */
const RENEW_RETRY_MS = 100;

export interface EtcdElectorOptions {
  client: Etcd3;
  /** The installation's key prefix (the store's `root`, e.g. `/drover/`). */
  root: string;
  /** This replica's name, shown as the leader. */
  id: string;
  /** This replica's API URL, shown with its name. */
  url?: string;
  /** Lease TTL: how long the lead outlives a leader that stopped renewing. Rounded up to whole seconds. */
  ttlMs?: number;
  /** How often the lease is renewed; default a third of the TTL. */
  renewMs?: number;
  logger?: Logger;
}

/** What a candidate key holds. */
export interface LeaderInfo {
  id: string;
  url?: string;
  /** When it was elected (ISO time, its own clock); absent while it is taking over. */
  since?: string;
  /** Its etcd lease, in hex as `etcdctl lease` shows it. */
  lease: string;
}

export class EtcdLeaderElector implements LeaderElector, FenceSource {
  readonly ttlMs: number;
  readonly renewMs: number;
  private readonly prefix: string;
  private readonly logger: Logger;
  private term: Term | undefined;

  constructor(private readonly opts: EtcdElectorOptions) {
    this.ttlMs = Math.max(MIN_TTL_S, Math.ceil((opts.ttlMs ?? DEFAULT_LEASE_TTL_MS) / 1000)) * 1000;
    this.renewMs = Math.max(100, Math.min(opts.renewMs ?? this.ttlMs / 3, this.ttlMs / 2));
    this.prefix = `${opts.root}election/${ELECTION}/`;
    this.logger = opts.logger ?? stderrLogger;
    leaderGauge.set(0);
    // Present from the start, so that an alert on their increase has a series to compare with.
    for (const reason of ['not-leading', 'fence-lost'] as const) fencedWrites.inc({ reason }, 0);
  }

  /** True while this replica leads (its term is elected and not lost). */
  get isLeading(): boolean {
    return this.current() !== undefined;
  }

  async acquire(signal: AbortSignal): Promise<Leadership> {
    for (;;) {
      signal.throwIfAborted();
      const term = new Term(this.opts.client.lease(this.ttlMs / 1000, { autoKeepAlive: false }), this.ttlMs, this.renewMs, this.logger);
      try {
        await this.campaign(term, signal);
      } catch (e) {
        term.end('campaign ended');
        await term.revoke();
        if (signal.aborted) throw e;
        // A lease lost while waiting (etcd unreachable past the TTL): stand again with a new one.
        this.logger.log('warn', 'leader campaign failed; standing again', { error: errorText(e) });
        await new Promise((r) => setTimeout(r, this.renewMs));
        continue;
      }
      this.term = term;
      leaderGauge.set(1);
      leaderTransitions.inc({ event: 'acquired' });
      this.logger.log('info', 'elected leader', { id: this.opts.id, lease: term.leaseHex, key: term.fence?.key, revision: term.fence?.createRevision });
      term.lost.signal.addEventListener('abort', () => {
        leaderGauge.set(0);
        const reason = String(term.lost.signal.reason);
        if (reason === RELEASED) {
          this.logger.log('info', 'leadership given up', { id: this.opts.id });
          return;
        }
        leaderTransitions.inc({ event: 'lost' });
        this.logger.log('warn', 'leadership lost', { id: this.opts.id, reason });
      }, { once: true });
      return {
        lost: term.lost.signal,
        release: async () => {
          term.end(RELEASED);
          if (this.term === term) this.term = undefined;
          await term.revoke();
        },
      };
    }
  }

  private async campaign(term: Term, signal: AbortSignal): Promise<void> {
    const { client } = this.opts;
    const leaseId = await term.lease.grant();
    term.startRenewing();
    const key = `${this.prefix}${leaseId}`;
    const candidate = (since?: string) => JSON.stringify({ id: this.opts.id, ...(this.opts.url ? { url: this.opts.url } : {}), ...(since ? { since } : {}) });
    const put = await client.if(key, 'Create', '==', 0).then(client.put(key).value(candidate()).lease(leaseId)).else(client.get(key)).commit();
    const rev = put.succeeded ? put.header.revision : put.responses[0]?.response_range.kvs[0]?.create_revision;
    if (!rev) throw new Error(`election key ${key} vanished while it was being created`);
    await this.waitForPredecessors(rev, AbortSignal.any([signal, term.lost.signal]));
    const since = new Date().toISOString();
    const proclaimed = await client.if(key, 'Create', '==', rev).then(client.put(key).value(candidate(since)).lease(leaseId)).commit();
    if (!proclaimed.succeeded) throw new Error('the election key went away as this replica was elected');
    term.fence = { key, createRevision: rev };
  }

  /** Waits until no candidate key created before ours is left, one predecessor at a time (no herd). */
  private async waitForPredecessors(rev: string, signal: AbortSignal): Promise<void> {
    const { client } = this.opts;
    const before = (BigInt(rev) - 1n).toString();
    for (;;) {
      signal.throwIfAborted();
      const res = await client.getAll().prefix(this.prefix).maxCreateRevision(before).sort('Create', 'Descend').limit(1).exec();
      const pred = res.kvs[0];
      if (!pred) return;
      const watcher = await client.watch().key(pred.key).startRevision((BigInt(res.header.revision) + 1n).toString()).create();
      try {
        await new Promise<void>((resolve, reject) => {
          const onAbort = () => reject(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
          signal.addEventListener('abort', onAbort, { once: true });
          watcher.on('delete', () => resolve());
          // From the range's revision on: a delete between the read and the watch is replayed, not missed.
          watcher.on('error', (e) => reject(e));
        });
      } finally {
        await watcher.cancel().catch(() => undefined);
      }
    }
  }

  /** Who leads now, as etcd says (the candidate key created first); undefined when nobody stands. */
  async leader(): Promise<LeaderInfo | undefined> {
    const res = await this.opts.client.getAll().prefix(this.prefix).sort('Create', 'Ascend').limit(1).exec();
    const kv = res.kvs[0];
    if (!kv) return undefined;
    const v = JSON.parse(kv.value.toString()) as Omit<LeaderInfo, 'lease'>;
    return { ...v, lease: BigInt(kv.lease).toString(16) };
  }

  current(): Fence | undefined {
    const t = this.term;
    return t && !t.lost.signal.aborted ? t.fence : undefined;
  }

  refused(why: FenceRefusal, what: string): void {
    fencedWrites.inc({ reason: why });
    this.logger.log('warn', 'controller write fenced off', { id: this.opts.id, reason: why, write: what });
    if (why === 'fence-lost') this.term?.end('etcd refused a fenced write: the election key is gone');
  }

  committed(revision: string): void {
    lastFencedCommit.set(Number(revision));
  }
}

/** One leadership attempt: a lease, its renewals and local deadline, and (once elected) its fence. */
class Term {
  readonly lost = new AbortController();
  fence: Fence | undefined;
  leaseHex = '';
  private renewTimer: NodeJS.Timeout | undefined;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private ackedSentAt = 0;
  private renewing = false;
  private failing = false;

  constructor(
    readonly lease: Lease,
    private readonly ttlMs: number,
    private readonly renewMs: number,
    private readonly logger: Logger,
  ) {
    // A lease that cannot be granted or renewed is reported here too; the deadline and `end` handle it.
    lease.on('lost', () => undefined);
  }

  /** Starts after the grant: the grant's request time is the first renewal. */
  startRenewing(): void {
    this.ackedSentAt = performance.now() - this.renewMs;
    void this.lease.grant().then((id) => (this.leaseHex = BigInt(id).toString(16)), () => undefined);
    this.armDeadline();
    this.renewTimer = setInterval(() => void this.renew(), this.renewMs);
  }

  private armDeadline(): void {
    clearTimeout(this.deadlineTimer);
    const left = this.ackedSentAt + this.ttlMs - performance.now();
    this.deadlineTimer = setTimeout(() => {
      // Timers run before I/O after a pause (SIGSTOP, a blocked loop): this fires before any late answer.
      if (this.ackedSentAt + this.ttlMs <= performance.now()) this.end(`lease not renewed within its TTL (${this.ttlMs} ms)`);
      else this.armDeadline();
    }, Math.max(0, left));
  }

  private async renew(): Promise<void> {
    if (this.renewing || this.lost.signal.aborted) return;
    this.renewing = true;
    const sentAt = performance.now();
    try {
      const res = await this.lease.keepaliveOnce({ deadline: Date.now() + Math.max(this.renewMs, 500) });
      if (Number(res.TTL) <= 0) {
        this.end('etcd says the lease expired');
        return;
      }
      if (sentAt > this.ackedSentAt) this.ackedSentAt = sentAt;
      if (this.failing) this.logger.log('info', 'lease renewal works again');
      this.failing = false;
    } catch (e) {
      if (e instanceof EtcdLeaseInvalidError) {
        this.end(`lease renewal refused: ${errorText(e)}`);
        return;
      }
      if (!this.failing) this.logger.log('warn', 'lease renewal failed; retrying', { error: errorText(e) });
      this.failing = true;
      setTimeout(() => void this.renew(), RENEW_RETRY_MS).unref();
    } finally {
      this.renewing = false;
    }
  }

  end(reason: string): void {
    clearInterval(this.renewTimer);
    clearTimeout(this.deadlineTimer);
    if (!this.lost.signal.aborted) this.lost.abort(reason);
  }

  /** Gives the lease back so that its key goes at once (best effort: after a loss it is gone already). */
  async revoke(): Promise<void> {
    await this.lease.revoke({ deadline: Date.now() + 2000 }).catch(() => undefined);
  }
}
