/**
 * The agent when its cluster's API is unreachable (an API server restart, a network cut): a Prod is not
 * Failed for it, its last observed state is kept, and only an outage longer than the agent's grace stops
 * the heartbeat so that the cluster turns NotReady. A driver double stands in for the cluster here; the
 * real-API-server version of this is test/integration/kubernetes/real-cluster.test.ts.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Agent } from '../../../src/agent/agent.js';
import type { Prod } from '../../../src/api/kinds/prod.js';
import type { ClusterDriver, ClusterHealth, WorkloadObservation } from '../../../src/drivers/driver.js';
import { KubeApiError } from '../../../src/drivers/kubernetes/kube-http.js';
import { MemoryStore } from '../../../src/store/memory/memory-store.js';
import { fleet, prod as prodDoc } from '../../helpers/fixtures.js';
import { waitFor } from '../../helpers/wait-for.js';

/** A cluster whose API can be switched off; workloads are Running while it is on. */
class FlakyCluster implements ClusterDriver {
  readonly provider = 'kubernetes' as const;
  down = false;
  failWith: () => Error = () => new KubeApiError(0, 'kubernetes API PATCH /api/v1/namespaces/x: connect ECONNREFUSED 127.0.0.1:6443');
  nodes = { ready: 1, total: 1 };
  private readonly running = new Set<string>();

  private check(): void {
    if (this.down) throw this.failWith();
  }
  async apply(prod: Prod): Promise<void> {
    this.check();
    this.running.add(prod.metadata.name);
  }
  async observe(name: string): Promise<WorkloadObservation> {
    this.check();
    return this.running.has(name) ? { state: 'Running', endpoint: 'http://127.0.0.1:9', version: 'v1', restarts: 0 } : { state: 'Absent', restarts: 0 };
  }
  async retire(name: string): Promise<void> {
    this.check();
    this.running.delete(name);
  }
  async list(): Promise<string[]> {
    this.check();
    return [...this.running];
  }
  async health(): Promise<ClusterHealth> {
    if (this.down) return { reachable: false, failure: 'unreachable', message: 'connect ECONNREFUSED' };
    return { reachable: true, serverVersion: '1.25', nodes: this.nodes };
  }
  async close(): Promise<void> {}
}

describe('Agent when the cluster API is unreachable (driver double for the cluster)', () => {
  const store = new MemoryStore();
  const driver = new FlakyCluster();
  const agent = new Agent({
    store,
    driver,
    cluster: { name: 'k1', region: 'eu', capacity: 4 },
    heartbeatMs: 50,
    resyncMs: 100,
    healthMs: 50,
    clusterApiGraceMs: 600,
    warmupIntervalMs: 10,
    log: () => {},
  });
  after(async () => {
    driver.down = true; // shutting down while the cluster is unreachable must still finish
    await agent.stop();
    await store.close();
  });

  const prod = () => store.get('Prod', 'web-1');
  const cluster = () => store.get('Cluster', 'k1');

  it('reports node counts and the server version with its heartbeats', async () => {
    // warmup needs answers from the endpoint; one request that nobody answers is fine for this test
    await store.create(fleet('web', { app: { command: 'unused' }, prods: 1, warmup: { requests: 1 } }));
    await store.create(prodDoc('web-1', { fleet: 'web', cluster: 'k1' }));
    await agent.start();
    const c = await waitFor('heartbeat with node counts', async () => {
      const cur = await cluster();
      return cur?.status?.lastHeartbeat && cur.status.nodes ? cur : undefined;
    });
    assert.deepEqual(c.status?.nodes, { ready: 1, total: 1 });
    assert.equal(c.status?.serverVersion, '1.25');
    await waitFor('the Prod to be observed running', async () => {
      const p = await prod();
      return p?.status?.phase === 'WarmingUp' || p?.status?.phase === 'Ready';
    });
  });

  it('keeps the last observed phase through a short outage instead of calling the Prod Failed', async () => {
    const before = (await prod())?.status?.phase;
    driver.down = true;
    const withMessage = await waitFor('the outage to be noted on the Prod', async () => {
      const p = await prod();
      return p?.status?.message?.includes('cluster API unavailable') ? p : undefined;
    });
    assert.equal(withMessage.status?.phase, before);
    assert.notEqual(withMessage.status?.phase, 'Failed');
    // Within the agent's grace, heartbeats go on: a short API server restart is not a lost cluster.
    const hb = (await cluster())?.status?.lastHeartbeat;
    await waitFor('another heartbeat during the short outage', async () => (await cluster())?.status?.lastHeartbeat !== hb);
    driver.down = false;
    await waitFor('the message to clear once the API answers', async () => !(await prod())?.status?.message?.includes('cluster API unavailable'));
    assert.notEqual((await prod())?.status?.phase, 'Failed');
  });

  it('stops heartbeating after the grace, saying why, and resumes when the API answers', async () => {
    driver.down = true;
    const c = await waitFor('the cluster message', async () => {
      const cur = await cluster();
      return cur?.status?.message?.startsWith('cluster API unreachable') ? cur : undefined;
    }, { timeoutMs: 20_000 });
    const frozen = c.status?.lastHeartbeat;
    await new Promise((r) => setTimeout(r, 300)); // six heartbeat periods: none may advance lastHeartbeat
    assert.equal((await cluster())?.status?.lastHeartbeat, frozen);
    assert.notEqual((await prod())?.status?.phase, 'Failed');
    driver.down = false;
    await waitFor('heartbeats again', async () => (await cluster())?.status?.lastHeartbeat !== frozen, { timeoutMs: 20_000 });
    assert.equal((await cluster())?.status?.message, undefined);
  });

  it('reports a cluster with no Ready node (so placement skips it)', async () => {
    driver.nodes = { ready: 0, total: 0 };
    await waitFor('0 Ready nodes in status', async () => (await cluster())?.status?.nodes?.ready === 0);
    driver.nodes = { ready: 1, total: 1 };
  });
});
