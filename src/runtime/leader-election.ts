/**
 * The leader-election hook: only the leader runs reconcilers. A multi-replica backend (etcd leases)
 * implements `LeaderElector`; a single control plane uses `AlwaysLeader`.
 */
export interface Leadership {
  /** Aborts when leadership is lost; the manager then stops its reconcilers and campaigns again. */
  readonly lost: AbortSignal;
  /** Gives leadership up (on a clean stop). */
  release(): Promise<void>;
}

export interface LeaderElector {
  /** Resolves once this instance leads. Rejects (or never resolves) if `signal` aborts first. */
  acquire(signal: AbortSignal): Promise<Leadership>;
}

/** One control plane: it always leads, and never loses it. */
export class AlwaysLeader implements LeaderElector {
  async acquire(_signal: AbortSignal): Promise<Leadership> {
    return { lost: new AbortController().signal, release: async () => {} };
  }
}
