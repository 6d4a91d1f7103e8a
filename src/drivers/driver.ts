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
  reachable: boolean;
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
