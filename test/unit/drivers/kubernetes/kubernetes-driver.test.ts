/**
 * KubernetesDriver against a mock API server standing in for a real cluster (see mock-api-server.ts for
 * what it implements). What a real cluster adds — controllers, admission, real SSA field merging — is
 * covered by test/integration/kubernetes/real-cluster.test.ts when DROVER_TEST_KUBECONFIG is set.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { createKubernetesDriver, type KubernetesDriver, type KubernetesDriverOptions } from '../../../../src/drivers/kubernetes/kubernetes-driver.js';
import { renderProd } from '../../../../src/drivers/kubernetes/render.js';
import { KubeApiError } from '../../../../src/drivers/kubernetes/kube-http.js';
import { cluster, fleet, prod } from '../../../helpers/fixtures.js';
import { mockKubeconfig, MockKubeApiServer } from './mock-api-server.js';
import { waitFor } from '../../../helpers/wait-for.js';

const TOKEN = 'sekret-token-0123456789abcdef';
const NS = 'drover-web-web-1';

describe('KubernetesDriver (a mock API server stands in for a real cluster)', () => {
  let api = new MockKubeApiServer(TOKEN);
  let dir: string;
  let kubeconfigPath: string;
  let delays: number[];
  const drivers: KubernetesDriver[] = [];

  function driver(opts: KubernetesDriverOptions = {}, clusterSpec: Record<string, unknown> = {}): KubernetesDriver {
    const d = createKubernetesDriver(cluster('k1', { provider: 'kubernetes', kubernetes: { context: 'mock', kubeconfig: kubeconfigPath, ...clusterSpec } }), {
      retry: { sleep: async (ms) => void delays.push(ms) },
      ...opts,
    });
    drivers.push(d);
    return d;
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'drover-k8s-'));
  });
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    for (const d of drivers.splice(0)) await d.close();
    await api.stop();
    api = new MockKubeApiServer(TOKEN);
    await api.start();
    kubeconfigPath = join(dir, `kubeconfig-${Math.random().toString(36).slice(2)}`);
    writeFileSync(kubeconfigPath, mockKubeconfig(api.url, TOKEN));
    delays = [];
  });
  after(async () => {
    for (const d of drivers.splice(0)) await d.close();
    await api.stop();
  });

  const web = fleet('web', { app: { image: 'acme/web:${version}', replicas: 2 } });

  it('applies every rendered object with server-side apply as field manager drover, forcing conflicts', async () => {
    const d = driver();
    await d.apply(prod('web-1', { fleet: 'web', cluster: 'k1' }), web);
    const patches = api.requests.filter((r) => r.method === 'PATCH');
    const rendered = renderProd(prod('web-1', { fleet: 'web', cluster: 'k1' }), web, cluster('k1', { provider: 'kubernetes', kubernetes: { context: 'mock', kubeconfig: kubeconfigPath } }));
    assert.deepEqual(
      patches.map((r) => r.path),
      [
        `/api/v1/namespaces/${NS}`,
        `/apis/apps/v1/namespaces/${NS}/deployments/app`,
        `/api/v1/namespaces/${NS}/services/app`,
        `/apis/policy/v1/namespaces/${NS}/poddisruptionbudgets/app`,
        `/apis/networking.k8s.io/v1/namespaces/${NS}/networkpolicies/drover-isolate-prod`,
      ],
    );
    for (const [i, r] of patches.entries()) {
      assert.equal(r.contentType, 'application/apply-patch+yaml');
      assert.equal(r.query.get('fieldManager'), 'drover');
      assert.equal(r.query.get('force'), 'true');
      assert.equal(r.authorization, `Bearer ${TOKEN}`);
      // What was rendered is what was sent: no client-side model renamed or dropped a field.
      assert.deepEqual(r.body, JSON.parse(JSON.stringify(rendered[i])));
    }
    const np = patches[4]?.body as { spec: { ingress: { from: unknown[] }[] } };
    assert.equal(np.spec.ingress[0]?.from.length, 2);
    // No HPA or Ingress for this fleet: any left from an earlier spec are deleted (404 is fine).
    assert.deepEqual(
      api.requests.filter((r) => r.method === 'DELETE').map((r) => [r.path, r.status]),
      [
        [`/apis/autoscaling/v2/namespaces/${NS}/horizontalpodautoscalers/app`, 404],
        [`/apis/networking.k8s.io/v1/namespaces/${NS}/ingresses/app`, 404],
      ],
    );
  });

  it('changes nothing on a second apply of the same Prod', async () => {
    const d = driver();
    await d.apply(prod('web-1', { fleet: 'web', cluster: 'k1' }), web);
    const before = ['namespaces', 'deployments', 'services'].map((p) => api.get(p, p === 'namespaces' ? NS : 'app', p === 'namespaces' ? undefined : NS)?.metadata.resourceVersion);
    await d.apply(prod('web-1', { fleet: 'web', cluster: 'k1' }), web);
    const after = ['namespaces', 'deployments', 'services'].map((p) => api.get(p, p === 'namespaces' ? NS : 'app', p === 'namespaces' ? undefined : NS)?.metadata.resourceVersion);
    assert.deepEqual(after, before);
    assert.equal(api.get('deployments', 'app', NS)?.metadata.generation, 1);
  });

  it('reports Starting, Running, a new version rolling out, then Failed when the progress deadline passes', async () => {
    const d = driver();
    assert.deepEqual(await d.observe('web-1'), { state: 'Absent', restarts: 0 });
    await d.apply(prod('web-1', { fleet: 'web', cluster: 'k1' }), web);
    const first = await d.observe('web-1');
    assert.equal(first.state, 'Starting');
    assert.match(first.message ?? '', /observe generation 1/);

    api.setStatus('deployments', 'app', NS, { observedGeneration: 1, replicas: 2, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 1 });
    assert.match((await d.observe('web-1')).message ?? '', /1 of 2 updated replicas available/);
    api.setStatus('deployments', 'app', NS, { observedGeneration: 1, replicas: 2, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2 });
    api.put('pods', { metadata: { name: 'app-a', namespace: NS, labels: { 'drover.dev/prod': 'web-1' } }, status: { containerStatuses: [{ name: 'app', restartCount: 2 }] } });
    api.put('pods', { metadata: { name: 'app-b', namespace: NS, labels: { 'drover.dev/prod': 'web-1' } }, status: { containerStatuses: [{ name: 'app', restartCount: 1 }] } });
    assert.deepEqual(await d.observe('web-1'), { state: 'Running', restarts: 3, version: 'v1', endpoint: `http://app.${NS}.svc.cluster.local` });

    await d.apply(prod('web-1', { fleet: 'web', cluster: 'k1', version: 'v2' }), web);
    assert.equal(api.get('deployments', 'app', NS)?.metadata.generation, 2);
    const rolling = await d.observe('web-1');
    assert.equal(rolling.state, 'Starting');
    assert.equal(rolling.version, 'v2');

    api.setStatus('deployments', 'app', NS, {
      observedGeneration: 2,
      replicas: 3,
      updatedReplicas: 1,
      availableReplicas: 2,
      conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'ReplicaSet "app-5d4" has timed out progressing.' }],
    });
    const failed = await d.observe('web-1');
    assert.equal(failed.state, 'Failed');
    assert.match(failed.message ?? '', /timed out progressing/);
  });

  it('finds the endpoint from a NodePort on a Ready node, a LoadBalancer ingress, or the cluster ingress host', async () => {
    const nodePort = driver({ serviceType: 'NodePort' });
    await nodePort.apply(prod('web-1', { fleet: 'web', cluster: 'k1' }), web);
    const svc = api.get('services', 'app', NS);
    assert.ok(svc);
    api.put('services', { ...svc, spec: { type: 'NodePort', ports: [{ name: 'http', port: 80, nodePort: 30080 }] } });
    api.put('nodes', { metadata: { name: 'n1' }, status: { conditions: [{ type: 'Ready', status: 'False' }], addresses: [{ type: 'InternalIP', address: '10.0.0.1' }] } });
    api.put('nodes', { metadata: { name: 'n2' }, status: { conditions: [{ type: 'Ready', status: 'True' }], addresses: [{ type: 'InternalIP', address: '10.0.0.2' }] } });
    api.setStatus('deployments', 'app', NS, { observedGeneration: 1, replicas: 2, updatedReplicas: 2, availableReplicas: 2 });
    assert.equal((await nodePort.observe('web-1')).endpoint, 'http://10.0.0.2:30080');

    api.put('services', { ...svc, spec: { type: 'LoadBalancer', ports: [{ name: 'http', port: 80, nodePort: 30080 }] }, status: { loadBalancer: { ingress: [{ hostname: 'abc.elb.amazonaws.com' }] } } });
    assert.equal((await nodePort.observe('web-1')).endpoint, 'http://abc.elb.amazonaws.com');

    const behindIngress = driver({}, { ingressHost: 'prods.example.com' });
    await behindIngress.apply(prod('web-1', { fleet: 'web', cluster: 'k1' }), web);
    assert.equal((await behindIngress.observe('web-1')).endpoint, `http://${NS}.prods.example.com`);
  });

  it('hands replicas over to another field manager before the HPA takes them, so the Prod is not scaled to 1', async () => {
    const d = driver();
    await d.apply(prod('web-1', { fleet: 'web', cluster: 'k1' }), web);
    const dep = api.get('deployments', 'app', NS);
    assert.ok(dep);
    // As a real server records it: drover applied spec.replicas.
    api.put('deployments', { ...dep, spec: { ...(dep.spec as object), replicas: 2 }, metadata: { ...dep.metadata, managedFields: [{ manager: 'drover', operation: 'Apply', fieldsV1: { 'f:spec': { 'f:replicas': {} } } }] } });
    const from = api.requests.length;
    await d.apply(prod('web-1', { fleet: 'web', cluster: 'k1' }), fleet('web', { app: { image: 'acme/web:${version}', autoscale: { minReplicas: 2, maxReplicas: 5 } } }));
    const patches = api.requests.slice(from).filter((r) => r.method === 'PATCH' && r.path.endsWith('/deployments/app'));
    assert.equal(patches.length, 2);
    const [handover, applied] = patches;
    assert.equal(handover?.query.get('fieldManager'), 'drover-replicas-handover');
    assert.equal(handover?.query.get('force'), null);
    assert.deepEqual((handover?.body as { spec: unknown }).spec, { replicas: 2 });
    assert.equal(applied?.query.get('fieldManager'), 'drover');
    assert.equal((applied?.body as { spec: { replicas?: number } }).spec.replicas, undefined);
    assert.ok(api.requests.slice(from).some((r) => r.method === 'PATCH' && r.path.endsWith('/horizontalpodautoscalers/app')));
  });

  it('retries 429 after the Retry-After the server sent, and 5xx with growing backoff', async () => {
    const d = driver();
    api.failNext({ method: 'PATCH', pathIncludes: '/deployments/' }, 1, 429, { 'Retry-After': '2' });
    api.failNext({ method: 'PATCH', pathIncludes: '/services/' }, 2, 503);
    await d.apply(prod('web-1', { fleet: 'web', cluster: 'k1' }), web);
    assert.ok(api.get('deployments', 'app', NS) && api.get('services', 'app', NS));
    assert.equal(delays[0], 2000);
    assert.equal(delays.length, 3);
    const [, b1 = 0, b2 = 0] = delays;
    assert.ok(b1 >= 100 && b1 <= 200 && b2 >= 200 && b2 <= 400, `backoff ${b1}, ${b2}`);
  });

  it('gives up on errors that retrying cannot fix, at once', async () => {
    const d = driver();
    api.failNext({ method: 'PATCH', pathIncludes: '/deployments/' }, 1, 422);
    await assert.rejects(d.apply(prod('web-1', { fleet: 'web', cluster: 'k1' }), web), (e: unknown) => e instanceof KubeApiError && e.httpStatus === 422);
    assert.deepEqual(delays, []);
  });

  it('retires by deleting the namespace, tolerating a deletion under way (409) and a namespace already gone (404)', async () => {
    const d = driver();
    await d.apply(prod('web-1', { fleet: 'web', cluster: 'k1' }), web);
    assert.deepEqual(await d.list(), ['web-1']);
    await d.retire('web-1');
    assert.equal((await d.observe('web-1')).state, 'Stopping');
    await d.retire('web-1'); // 409: the system is ensuring all content is removed
    api.purgeNamespace(NS);
    await d.retire('web-1'); // 404: gone
    assert.deepEqual(
      api.requests.filter((r) => r.method === 'DELETE' && r.path === `/api/v1/namespaces/${NS}`).map((r) => r.status),
      [200, 409, 404],
    );
    assert.deepEqual(await d.observe('web-1'), { state: 'Absent', restarts: 0 });
    // A fresh driver (a restarted agent) knows nothing in memory and finds nothing by label: retire is a no-op.
    await driver().retire('web-1');
    assert.deepEqual(await driver().list(), []);
  });

  it('lists only Prods that Drover manages on this cluster', async () => {
    const d = driver();
    await d.apply(prod('web-1', { fleet: 'web', cluster: 'k1' }), web);
    await d.apply(prod('web-2', { fleet: 'web', cluster: 'k1' }), web);
    api.put('namespaces', { metadata: { name: 'kube-system' } });
    api.put('namespaces', { metadata: { name: 'other', labels: { 'app.kubernetes.io/managed-by': 'drover', 'drover.dev/cluster': 'k2', 'drover.dev/prod': 'x-1' } } });
    assert.deepEqual(await driver().list(), ['web-1', 'web-2']);
  });

  it('reports cluster health: server version without the provider "+", Ready nodes of all', async () => {
    api.put('nodes', { metadata: { name: 'n1' }, status: { conditions: [{ type: 'Ready', status: 'True' }] } });
    api.put('nodes', { metadata: { name: 'n2' }, status: { conditions: [{ type: 'Ready', status: 'Unknown' }] } });
    assert.deepEqual(await driver().health(), { reachable: true, serverVersion: '1.31', nodes: { ready: 1, total: 2 } });
  });

  it('keeps credentials out of error messages and health reports', async () => {
    const d = driver();
    // A server (or proxy) that echoes the request's Authorization header back in its error body.
    api.failNext({ method: 'PATCH' }, 1, 400, {}, `bad request; you sent Authorization: Bearer ${TOKEN}`);
    const echoed = await d.apply(prod('web-1', { fleet: 'web', cluster: 'k1' }), web).then(
      () => assert.fail('apply succeeded'),
      (e: unknown) => e,
    );
    assert.ok(echoed instanceof KubeApiError && echoed.httpStatus === 400);
    assert.match(echoed.message, /bad request; you sent Authorization: Bearer \[redacted\]/);
    assert.doesNotMatch(echoed.message, new RegExp(TOKEN));

    const wrong = join(dir, 'wrong-token');
    writeFileSync(wrong, mockKubeconfig(api.url, 'wrong-token-abcdefghijklmnop'));
    const denied = createKubernetesDriver(cluster('k1', { provider: 'kubernetes', kubernetes: { context: 'mock', kubeconfig: wrong } }), { retry: { sleep: async () => undefined } });
    const err = await denied.apply(prod('web-1', { fleet: 'web', cluster: 'k1' }), web).then(
      () => assert.fail('apply with a wrong token succeeded'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof KubeApiError && err.httpStatus === 401);
    assert.doesNotMatch(err.message, /wrong-token-abcdefghijklmnop/);
    assert.equal(err.cause, undefined);

    await api.stop();
    const health = await d.health();
    assert.equal(health.reachable, false);
    assert.doesNotMatch(JSON.stringify(health), new RegExp(TOKEN));
    api = new MockKubeApiServer(TOKEN);
    await api.start();
  });

  it('watches Deployments and re-lists when the watch expires (410)', async () => {
    const d = driver();
    await d.apply(prod('web-1', { fleet: 'web', cluster: 'k1' }), web);
    const seen: string[] = [];
    const errors: unknown[] = [];
    const w = d.watchDeployments(
      (p) => seen.push(p),
      (e) => errors.push(e),
    );
    const lists = () => api.requests.filter((r) => r.path === '/apis/apps/v1/deployments' && r.query.get('watch') !== 'true').length;
    await waitFor('the initial list and an open watch', () => seen.length === 1 && api.openWatches() === 1);
    assert.equal(lists(), 1);
    api.setStatus('deployments', 'app', NS, { observedGeneration: 1 });
    await waitFor('a MODIFIED event', () => seen.length === 2);

    api.expireWatches();
    await waitFor('a re-list and a new watch', () => lists() === 2 && api.openWatches() === 1);
    assert.deepEqual(seen, ['web-1', 'web-1', 'web-1']);
    // The ERROR event's Status is kept whole: code 410 and reason Expired, as an HTTP 410 answer would carry.
    const expired = errors[0];
    assert.ok(expired instanceof KubeApiError, String(expired));
    assert.equal(expired.httpStatus, 410);
    assert.equal(expired.reason, 'Expired');
    const rewatch = api.requests.filter((r) => r.query.get('watch') === 'true').at(-1);
    assert.equal(rewatch?.query.get('labelSelector'), 'app.kubernetes.io/managed-by=drover,drover.dev/cluster=k1');
    await w.stop();
    await waitFor('the watch to close', () => api.openWatches() === 0);
  });
});
