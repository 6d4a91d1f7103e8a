/**
 * `drover cluster add` end to end: the built CLI against a real `drover server` process, with a mock
 * Kubernetes API server standing in for the cluster it probes.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { runCli, startServer, tempDir, type ServerProcess } from '../server/harness.js';
import { mockKubeconfig, MockKubeApiServer } from '../../unit/drivers/kubernetes/mock-api-server.js';

const TOKEN = 'cli-kube-token-0123456789abcdef';

describe('drover cluster add (real server; a mock API server stands in for the Kubernetes cluster)', () => {
  const dir = tempDir('drover-cluster-add-');
  const kubeconfig = join(dir, 'kubeconfig');
  let server: ServerProcess;
  let kube: MockKubeApiServer;

  before(async () => {
    kube = new MockKubeApiServer(TOKEN);
    await kube.start();
    kube.put('nodes', { metadata: { name: 'n1' }, status: { conditions: [{ type: 'Ready', status: 'True' }] } });
    writeFileSync(kubeconfig, mockKubeconfig(kube.url, TOKEN, 'kind-drover'));
    server = await startServer({ dataDir: join(dir, 'data') });
  });
  after(async () => {
    await server?.stop('SIGKILL');
    await kube?.stop();
  });

  it('creates the Cluster, probing the cluster for its version', async () => {
    const r = await runCli(['cluster', 'add', 'eu-1', '--kubeconfig', kubeconfig, '--context', 'kind-drover', '--provider', 'eks', '--region', 'eu-west-1', '--capacity', '5'], { server });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'cluster/eu-1 created (Kubernetes 1.31, 1/1 nodes Ready)\n');
    const got = await runCli(['get', 'cluster', 'eu-1', '-o', 'yaml'], { server });
    assert.equal(got.code, 0, got.stderr);
    const c = parse(got.stdout) as { spec: { provider: string; region: string; version: string; capacity: { prods: number }; kubernetes: Record<string, string> } };
    assert.deepEqual([c.spec.provider, c.spec.region, c.spec.version, c.spec.capacity.prods], ['eks', 'eu-west-1', '1.31', 5]);
    assert.deepEqual(c.spec.kubernetes, { context: 'kind-drover', kubeconfig });
    assert.doesNotMatch(got.stdout, new RegExp(TOKEN));
  });

  it('fails naming --context and listing the contexts when the context is not in the kubeconfig', async () => {
    const r = await runCli(['cluster', 'add', 'eu-2', '--kubeconfig', kubeconfig, '--context', 'nope'], { server });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /context "nope" is not in kubeconfig/);
    assert.match(r.stderr, /--context/);
    assert.match(r.stderr, /kind-drover/);
  });
});
