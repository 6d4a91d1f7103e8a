/**
 * A ClusterDriver runs Prods on one cluster. The local driver runs them as child processes; the
 * Kubernetes driver renders them into a namespace and applies them with server-side apply. The agent
 * (src/agent/) drives whichever one its cluster uses, so both get the same lifecycle logic.
 *
 * Every method is idempotent and level-based: `apply` makes the cluster run what the Prod says,
 * whatever ran before; `retire` tolerates the Prod being gone already.
 */
import type { Fleet } from '../api/kinds/fleet.js';
import type { Prod } from '../api/kinds/prod.js';
import { isDroverError } from '../errors.js';

export type WorkloadState = 'Absent' | 'Starting' | 'Running' | 'Failed' | 'Stopping';

export interface WorkloadObservation {
  state: WorkloadState;
  /** Where the Prod answers HTTP, when known (e.g. http://127.0.0.1:41234). */
  endpoint?: string;
  /** The version actually running, as the cluster reports it. */
  version?: string;
  restarts: number;
  /** Why it is not running, for `describe`. */
  message?: string;
}

export interface ClusterHealth {
  /** The cluster's API answered and accepted our credentials: Drover can run Prods there. */
  reachable: boolean;
  /**
   * Why not, when reachable is false: no answer at all, or an answer that refused the credentials
   * (a different fix: the network vs the kubeconfig's user).
   */
  failure?: 'unreachable' | 'unauthorized';
  nodes?: { ready: number; total: number };
  /** Kubernetes server version "1.31", when the cluster reports one. */
  serverVersion?: string;
  message?: string;
}

export interface ClusterDriver {
  readonly provider: 'local' | 'kubernetes';
  apply(prod: Prod, fleet: Fleet): Promise<void>;
  observe(prodName: string): Promise<WorkloadObservation>;
  retire(prodName: string): Promise<void>;
  /** Names of the Prods this driver has workloads for (to find orphans after a restart). */
  list(): Promise<string[]>;
  health(): Promise<ClusterHealth>;
  close(): Promise<void>;
}

/**
 * A driver failure that says nothing about the Prod: the cluster's API did not answer, was overloaded, or is
 * busy finishing an earlier deletion. The agent keeps the Prod's last observed state through it (an
 * unreachable API server is not a failed Prod); a lasting outage shows as the cluster's health instead.
 */
export function isTransientDriverError(e: unknown): boolean {
  return isDroverError(e, 'DROVER_E_UNAVAILABLE') || isDroverError(e, 'DROVER_E_CONFLICT');
}
