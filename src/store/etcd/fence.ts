/**
 * Fencing of the leader's writes (see docs/architecture.md, "A highly available control plane"). The
 * leader holds a key under the election prefix, attached to its etcd lease; while that key exists with the
 * create revision it had when this replica was elected, no other replica leads. A fenced write adds
 * `create_revision(key) == createRevision` to its etcd transaction, so it commits only while the term it
 * was decided in is still alive — checked by etcd at commit, not by this process's idea of the time.
 */
export interface Fence {
  /** The election key this replica holds (attached to its lease). */
  key: string;
  /** Its create revision: a key re-created by a later term has another one. */
  createRevision: string;
}

export type FenceRefusal = 'not-leading' | 'fence-lost';

export interface FenceSource {
  /** The fence of the term this replica leads now; undefined when it does not lead. */
  current(): Fence | undefined;
  /** A write was refused: the replica does not lead, or etcd found the fence gone at commit. */
  refused(why: FenceRefusal, what: string): void;
  /** A fenced write committed at this revision. */
  committed(revision: string): void;
}
