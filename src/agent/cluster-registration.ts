/**
 * The agent's Cluster object: created or brought up to date at start (provider, region, domain,
 * capacity from the agent's flags; anything else — cordoned, draining — stays as operators set it), and
 * its heartbeat fields in status. The cluster controller owns `status.phase` and `status.prods`; the agent
 * writes only lastHeartbeat and agent {pid, startedAt}.
 */
import { API_VERSION } from '../api/meta.js';
import { Cluster, ClusterStatus } from '../api/kinds/cluster.js';
import type { ClusterHealth } from '../drivers/driver.js';
import { createOrUpdate, mutateStatus } from '../store/mutate.js';
import type { Store } from '../store/store.js';

export interface ClusterIdentity {
  name: string;
  provider: 'local' | 'kubernetes';
  region?: string;
  domain?: string;
  capacity?: number;
  /** Annotations the agent keeps on its Cluster (e.g. where a local agent keeps its state). */
  annotations?: Record<string, string>;
}

/**
 * Creates the agent's Cluster, or brings an existing one (made by `drover up` or `drover apply`, maybe at
 * the same moment) up to the agent's identity. Writes nothing when it already matches.
 */
export async function registerCluster(store: Store, id: ClusterIdentity): Promise<Cluster> {
  const doc = Cluster.parse({
    apiVersion: API_VERSION,
    kind: 'Cluster',
    metadata: { name: id.name, annotations: id.annotations ?? {} },
    spec: {
      provider: id.provider,
      ...(id.region !== undefined ? { region: id.region } : {}),
      ...(id.domain !== undefined ? { domain: id.domain } : {}),
      ...(id.capacity !== undefined ? { capacity: { prods: id.capacity } } : {}),
    },
  });
  return createOrUpdate(store, doc, (cur) => {
    const before = JSON.stringify([cur.spec, cur.metadata.annotations]);
    // An EKS cluster runs the kubernetes driver: keep the more precise provider (the EKS support calendar reads it).
    const spec = { ...cur.spec, provider: cur.spec.provider === 'eks' && id.provider === 'kubernetes' ? cur.spec.provider : id.provider };
    if (id.region !== undefined) spec.region = id.region;
    if (id.domain !== undefined) spec.domain = id.domain;
    if (id.capacity !== undefined) spec.capacity = { prods: id.capacity };
    cur.spec = spec;
    cur.metadata.annotations = { ...cur.metadata.annotations, ...id.annotations };
    return JSON.stringify([cur.spec, cur.metadata.annotations]) !== before;
  });
}

export interface Heartbeat {
  pid: number;
  startedAt: string;
  /**
   * False when the agent runs but its cluster has not answered for longer than the agent's grace: the
   * heartbeat then does not advance lastHeartbeat (so the cluster turns NotReady and traffic moves), and
   * only says why.
   */
  alive?: boolean;
  /** The cluster's last probe: node counts and server version go into status for placement and `get`. */
  health?: ClusterHealth;
}

/** Writes the heartbeat into Cluster.status; re-registers a Cluster that was deleted under the agent. */
export async function writeHeartbeat(store: Store, id: ClusterIdentity, hb: Heartbeat, now = new Date()): Promise<void> {
  const h = hb.health;
  const alive = hb.alive ?? true;
  const message = !alive ? `cluster API unreachable: ${h?.message ?? 'no answer'}` : h && !h.reachable ? `cluster API not answering: ${h.message ?? 'no answer'}` : undefined;
  // The cluster controller writes phase and prods concurrently: mutateStatus re-reads and re-applies on a conflict.
  const write = () =>
    mutateStatus<Cluster>(store, 'Cluster', id.name, (cur) => {
      const next: Record<string, unknown> = {
        ...cur.status,
        agent: { ...cur.status?.agent, pid: hb.pid, startedAt: hb.startedAt },
        ...(alive ? { lastHeartbeat: now.toISOString() } : {}),
        ...(h?.nodes ? { nodes: h.nodes } : {}),
        ...(h?.serverVersion ? { serverVersion: h.serverVersion } : {}),
      };
      if (message === undefined) delete next.message;
      else next.message = message;
      const status = ClusterStatus.parse(next);
      if (!alive && JSON.stringify(status) === JSON.stringify(cur.status)) return false;
      cur.status = status;
    });
  if (await write()) return;
  await registerCluster(store, id);
  await write();
}
