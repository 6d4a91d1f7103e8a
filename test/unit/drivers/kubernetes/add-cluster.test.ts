import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Cluster } from '../../../../src/api/kinds/cluster.js';
import type { AnyResource } from '../../../../src/api/resource.js';
import { addKubernetesCluster } from '../../../../src/drivers/kubernetes/add-cluster.js';
import { kubernetesDriverFromSettings } from '../../../../src/drivers/kubernetes/index.js';
import { isDroverError } from '../../../../src/errors.js';
import { MemoryStore } from '../../../../src/store/memory/memory-store.js';
import { mockKubeconfig, MockKubeApiServer } from './mock-api-server.js';

const TOKEN = 'cluster-add-token-0123456789';

describe('addKubernetesCluster (a mock API server stands in for a real cluster)', () => {
  let api: MockKubeApiServer;
  let dir: string;
  let kubeconfig: string;

  before(async () => {
    api = new MockKubeApiServer(TOKEN);
    await api.start();
    api.put('nodes', { metadata: { name: 'n1' }, status: { conditions: [{ type: 'Ready', status: 'True' }] } });
    dir = mkdtempSync(join(tmpdir(), 'drover-cluster-add-'));
    kubeconfig = join(dir, 'config');
    writeFileSync(kubeconfig, mockKubeconfig(api.url, TOKEN, 'kind-drover'));
  });
  after(async () => {
    await api.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('names the --context flag and lists the contexts there are when the context is missing', async () => {
    const store = new MemoryStore();
    await assert.rejects(addKubernetesCluster(store, { name: 'k1', context: 'prod-eu', kubeconfig }), (e: unknown) => {
      assert.ok(isDroverError(e, 'DROVER_E_INVALID'));
      assert.equal(e.field, '--context');
      assert.match(e.message, /context "prod-eu" is not in kubeconfig/);
      assert.equal(e.fix, 'use one of: kind-drover');
      return true;
    });
    assert.equal(await store.get('Cluster', 'k1'), undefined);
  });

  it('names the --kubeconfig flag when the file cannot be read', async () => {
    await assert.rejects(addKubernetesCluster(new MemoryStore(), { name: 'k1', context: 'x', kubeconfig: join(dir, 'missing') }), (e: unknown) => isDroverError(e) && e.field === '--kubeconfig');
  });

  it('creates the Cluster with the probed server version and only a reference to the credentials, then updates it', async () => {
    const store = new MemoryStore();
    const r = await addKubernetesCluster(store, { name: 'k1', context: 'kind-drover', kubeconfig, provider: 'eks', region: 'eu-west-1', capacity: 4 });
    assert.equal(r.created, true);
    assert.deepEqual(r.warnings, []);
    assert.deepEqual(r.health, { reachable: true, serverVersion: '1.31', nodes: { ready: 1, total: 1 } });
    const stored = await store.get('Cluster', 'k1');
    assert.ok(stored);
    assert.equal(stored.spec.provider, 'eks');
    assert.equal(stored.spec.version, '1.31');
    assert.equal(stored.spec.capacity.prods, 4);
    assert.deepEqual(stored.spec.kubernetes, { context: 'kind-drover', kubeconfig });
    assert.doesNotMatch(JSON.stringify(stored), new RegExp(TOKEN));

    const again = await addKubernetesCluster(store, { name: 'k1', context: 'kind-drover', kubeconfig, ingressHost: 'prods.example.com' });
    assert.equal(again.created, false);
    const updated = await store.get('Cluster', 'k1');
    assert.equal(updated?.spec.region, 'eu-west-1', 'fields not given again are kept');
    assert.equal(updated?.spec.kubernetes?.ingressHost, 'prods.example.com');
  });

  it('re-running it while the agent heartbeats into the Cluster updates it (no conflict from the probe window)', async () => {
    const inner = new MemoryStore();
    await addKubernetesCluster(inner, { name: 'k1', context: 'kind-drover', kubeconfig, region: 'eu-west-1' });
    // The agent's heartbeat lands between the command's read and its write (during the probe).
    let beats = 0;
    const store = Object.create(inner) as MemoryStore;
    store.get = async <T extends AnyResource>(kind: string, name: string): Promise<T | undefined> => {
      const got = await inner.get<T>(kind, name);
      if (beats++ === 0) {
        const c = (await inner.get('Cluster', 'k1'))!;
        await inner.updateStatus<Cluster>({ ...c, status: { ...c.status, lastHeartbeat: new Date().toISOString() } as Cluster['status'] });
      }
      return got;
    };
    const r = await addKubernetesCluster(store, { name: 'k1', context: 'kind-drover', kubeconfig, capacity: 7 });
    assert.equal(r.created, false);
    const c = await inner.get('Cluster', 'k1');
    assert.equal(c?.spec.capacity.prods, 7);
    assert.equal(c?.spec.region, 'eu-west-1');
    assert.ok(c?.status?.lastHeartbeat, 'the heartbeat is kept');
  });

  it('warns but still saves the Cluster when the API server does not answer', async () => {
    const down = new MockKubeApiServer(TOKEN);
    await down.start();
    const path = join(dir, 'down');
    writeFileSync(path, mockKubeconfig(down.url, TOKEN, 'gone'));
    await down.stop();
    const store = new MemoryStore();
    const r = await addKubernetesCluster(store, { name: 'k2', context: 'gone', kubeconfig: path }, { probeTimeoutMs: 2000 });
    assert.equal(r.health.reachable, false);
    assert.equal(r.warnings.length, 1);
    assert.match(r.warnings[0] ?? '', /not reachable now/);
    assert.doesNotMatch(r.warnings[0] ?? '', new RegExp(TOKEN));
    assert.equal((await store.get('Cluster', 'k2'))?.spec.version, undefined);
  });
});

describe('kubernetesDriverFromSettings (a mock API server stands in for a real cluster)', () => {
  it('builds a working driver from agent flag settings, and names a bad setting', async () => {
    const api = new MockKubeApiServer(TOKEN);
    await api.start();
    const dir = mkdtempSync(join(tmpdir(), 'drover-settings-'));
    try {
      const path = join(dir, 'config');
      writeFileSync(path, mockKubeconfig(api.url, TOKEN, 'ctx'));
      const d = kubernetesDriverFromSettings('k9', { context: 'ctx', kubeconfig: path, serviceType: 'NodePort' });
      assert.equal(d.provider, 'kubernetes');
      assert.equal((await d.health()).reachable, true);
      assert.deepEqual(await d.list(), []);
      assert.equal(api.requests.at(-1)?.query.get('labelSelector'), 'app.kubernetes.io/managed-by=drover,drover.dev/cluster=k9');
      await d.close();
      assert.throws(
        () => kubernetesDriverFromSettings('k9', { context: 'ctx', kubeconfig: path, serviceType: 'Ingress' }),
        (e: unknown) => isDroverError(e) && e.field === 'settings.serviceType',
      );
    } finally {
      await api.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
