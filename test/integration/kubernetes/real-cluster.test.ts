/**
 * The Kubernetes driver against a real cluster: apply → ready → new image → retire → idempotent re-apply.
 * Runs only when DROVER_TEST_KUBECONFIG names a kubeconfig (optionally DROVER_TEST_CONTEXT a context in it;
 * default its current context). See docs/kubernetes.md for running it with kind.
 *
 * The workload is nginx (answers 200 on / at port 80); DROVER_TEST_IMAGE may name a mirror of it, with
 * ${version} where the tag goes.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { Cluster } from '../../../src/api/kinds/cluster.js';
import { Fleet } from '../../../src/api/kinds/fleet.js';
import { Prod } from '../../../src/api/kinds/prod.js';
import type { WorkloadObservation } from '../../../src/drivers/driver.js';
import { loadKubeConfig } from '../../../src/drivers/kubernetes/credentials.js';
import { KubeHttp } from '../../../src/drivers/kubernetes/kube-http.js';
import { createKubernetesDriver, type KubernetesDriver } from '../../../src/drivers/kubernetes/kubernetes-driver.js';
import { namespaceName } from '../../../src/drivers/kubernetes/names.js';

const kubeconfig = process.env.DROVER_TEST_KUBECONFIG;
const skip = kubeconfig
  ? false
  : 'DROVER_TEST_KUBECONFIG is not set, so the real-cluster suite of the Kubernetes driver did NOT run (see docs/kubernetes.md: kind create cluster, then DROVER_TEST_KUBECONFIG=<path>)';
if (skip) console.warn(`\n!!! SKIPPED: ${skip}\n`);

const V1 = '1.27-alpine';
const V2 = '1.26-alpine';
const image = process.env.DROVER_TEST_IMAGE ?? 'docker.io/library/nginx:${version}';
const READY_TIMEOUT_MS = 240_000;

describe('Kubernetes driver on a real cluster', { skip }, () => {
  const suffix = randomBytes(3).toString('hex');
  const prodName = `it-${suffix}`;
  const fleet = Fleet.parse({
    apiVersion: 'drover.dev/v1alpha1',
    kind: 'Fleet',
    metadata: { name: 'drover-it' },
    spec: { version: V1, app: { image, port: 80, healthPath: '/', replicas: 2 } },
  });
  const prod = (version: string) =>
    Prod.parse({ apiVersion: 'drover.dev/v1alpha1', kind: 'Prod', metadata: { name: prodName }, spec: { fleet: 'drover-it', cluster: 'it', version } });
  const ns = namespaceName('drover-it', prodName);
  let driver: KubernetesDriver;
  let http: KubeHttp;

  before(() => {
    const context = process.env.DROVER_TEST_CONTEXT ?? currentContext(kubeconfig ?? '');
    const cluster = Cluster.parse({
      apiVersion: 'drover.dev/v1alpha1',
      kind: 'Cluster',
      metadata: { name: 'it' },
      spec: { provider: 'kubernetes', kubernetes: { context, kubeconfig } },
    });
    driver = createKubernetesDriver(cluster, { serviceType: 'NodePort' });
    http = new KubeHttp(loadKubeConfig({ context, ...(kubeconfig ? { kubeconfig } : {}) }));
  });

  after(async () => {
    await driver?.retire(prodName).catch(() => undefined);
    await driver?.close();
  });

  async function until(what: string, cond: (o: WorkloadObservation) => boolean): Promise<WorkloadObservation> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    let last: WorkloadObservation | undefined;
    while (Date.now() < deadline) {
      last = await driver.observe(prodName);
      if (cond(last)) return last;
      if (last.state === 'Failed') assert.fail(`Prod failed while waiting for ${what}: ${last.message}`);
      await new Promise((resolve) => setTimeout(resolve, 2000)); // polling the cluster, not synchronising with a fake
    }
    assert.fail(`timed out waiting for ${what}; last observation ${JSON.stringify(last)}`);
  }

  async function deploymentMeta(): Promise<{ resourceVersion: string; generation: number; image: string }> {
    const d = (await http.request({ method: 'GET', path: `/apis/apps/v1/namespaces/${ns}/deployments/app` })) as {
      metadata: { resourceVersion: string; generation: number };
      spec: { template: { spec: { containers: { image: string }[] } } };
    };
    return { resourceVersion: d.metadata.resourceVersion, generation: d.metadata.generation, image: d.spec.template.spec.containers[0]?.image ?? '' };
  }

  it('reports the cluster reachable with its version and Ready nodes', async () => {
    const h = await driver.health();
    assert.equal(h.reachable, true, h.message);
    assert.match(h.serverVersion ?? '', /^\d+\.\d+$/);
    assert.ok((h.nodes?.ready ?? 0) >= 1, JSON.stringify(h.nodes));
  });

  it('applies a Prod and sees it Running with its version and a NodePort endpoint', async () => {
    await driver.apply(prod(V1), fleet);
    const o = await until('Running', (x) => x.state === 'Running');
    assert.equal(o.version, V1);
    assert.match(o.endpoint ?? '', /^http:\/\/[^:]+:\d+$/);
    assert.deepEqual(await driver.list().then((l) => l.includes(prodName)), true);
    if (process.platform === 'linux' && o.endpoint) {
      // kind's node addresses are on a Docker bridge the Linux host can reach.
      const res = await fetch(o.endpoint);
      assert.equal(res.status, 200);
    }
  });

  it('changes nothing when the same Prod is applied again', async () => {
    const before = await deploymentMeta();
    await driver.apply(prod(V1), fleet);
    assert.deepEqual(await deploymentMeta(), before);
  });

  it('rolls out a new image and reports the new version once every replica is updated', async () => {
    await driver.apply(prod(V2), fleet);
    const meta = await deploymentMeta();
    assert.equal(meta.image, image.replaceAll('${version}', V2));
    const o = await until(`version ${V2} Running`, (x) => x.state === 'Running' && x.version === V2);
    assert.equal(o.state, 'Running');
  });

  it('retires by deleting the namespace, tolerates retiring again, and re-applies idempotently', async () => {
    await driver.retire(prodName);
    await driver.retire(prodName);
    await until('Absent', (x) => x.state === 'Absent');
    await driver.retire(prodName);
    await driver.apply(prod(V1), fleet);
    const first = await deploymentMeta();
    await driver.apply(prod(V1), fleet);
    assert.deepEqual(await deploymentMeta(), first);
    await until('Running again', (x) => x.state === 'Running');
  });
});

function currentContext(path: string): string {
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  return kc.getCurrentContext();
}
