/**
 * A user's journey onto a real Kubernetes API server, through real Drover processes: `drover server`,
 * `drover cluster add` from the kit's kubeconfig, `drover agent` for that cluster, a Fleet of 2 Prods
 * placed there, and a release v1 → v2. The cluster is the test kit (../shared/kubernetes) with a SIMULATED
 * node (test/helpers/simulated-node.ts) that binds the pods, marks them Running and answers on their
 * NodePorts, so warm-up has something to talk to. The journey checks objects and Prod phases; it makes
 * no claim about a container runtime, which the kit does not have.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { bin, runCli, startServer, tempDir, type ServerProcess } from '../../integration/server/harness.js';
import { adminHttp, kitDir, kubeconfigPath, kubeContext, restartApiServer } from '../../helpers/kube-kit.js';
import { SimulatedNode } from '../../helpers/simulated-node.js';
import { waitFor } from '../../helpers/wait-for.js';

const skip = kitDir ? false : 'needs the Kubernetes test kit (npm test starts it from ../shared/kubernetes); this journey did NOT run';
if (skip) console.warn(`\n!!! SKIPPED: ${skip}\n`);

interface ProdDoc {
  metadata: { name: string };
  spec: { cluster: string; version: string };
  status?: { phase?: string; version?: string; message?: string; endpoint?: string };
}

describe('journey on a real Kubernetes API server (simulated node)', { skip }, () => {
  const dir = tempDir('drover-kube-journey-');
  let server: ServerProcess;
  let agent: ChildProcess | undefined;
  let agentOut = '';
  let node: SimulatedNode;

  const cli = async (...args: string[]) => {
    const r = await runCli(args, { server });
    assert.equal(r.code, 0, `drover ${args.join(' ')}: ${r.stderr}${r.stdout}`);
    return r.stdout;
  };
  const prods = async () => (parse(await cli('get', 'prods', '-o', 'yaml')) as { items: ProdDoc[] }).items;

  before(async () => {
    node = new SimulatedNode(adminHttp(), { name: 'sim-journey', serveNodePorts: true });
    await node.start();
    server = await startServer({ dataDir: join(dir, 'data') });
  });

  after(async () => {
    agent?.kill('SIGTERM');
    if (agent && agent.exitCode === null) await new Promise((r) => agent?.once('exit', r));
    await server?.stop();
    await node?.stop();
  });

  it('registers the cluster from its kubeconfig and reads its version and nodes', async () => {
    const out = await cli('cluster', 'add', 'k8s', '--kubeconfig', kubeconfigPath ?? '', '--context', kubeContext(), '--region', 'kit', '--capacity', '4');
    assert.match(out, /cluster\/k8s created \(Kubernetes 1\.25, \d+\/\d+ nodes Ready\)/);
  });

  it('runs an agent for it that heartbeats and reports Ready nodes', async () => {
    agent = spawn(process.execPath, [bin, 'agent', '--cluster', 'k8s', '--server', server.url, '--set', 'serviceType=NodePort', '--state-dir', join(dir, 'agent')], {
      env: { ...process.env, DROVER_TOKEN: server.adminToken },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    agent.stdout?.on('data', (b: Buffer) => (agentOut += b.toString()));
    agent.stderr?.on('data', (b: Buffer) => (agentOut += b.toString()));
    let last = '';
    await waitFor(
      'cluster k8s Ready with Ready nodes',
      async () => {
        last = await cli('get', 'cluster', 'k8s', '-o', 'yaml');
        const c = parse(last) as { spec: { provider: string }; status?: { phase?: string; nodes?: { ready: number } } };
        return c.spec.provider === 'kubernetes' && c.status?.phase === 'Ready' && (c.status.nodes?.ready ?? 0) >= 1;
      },
      { timeoutMs: 90_000, intervalMs: 250 },
    ).catch((e: unknown) => assert.fail(`${String(e)}\ncluster:\n${last}\nagent output:\n${agentOut}`));
  });

  it('places a Fleet of 2 Prods there and brings them to Ready through the real Deployment controller', async () => {
    const fleet = `apiVersion: drover.dev/v1alpha1
kind: Fleet
metadata: { name: shop }
spec:
  prods: 2
  version: v1
  app: { image: "registry.invalid/shop:\${version}", port: 8080, healthPath: /healthz, replicas: 2 }
  warmup: { requests: 1 }
`;
    const r = await runCli(['apply', '-f', '-'], { server, input: fleet });
    assert.equal(r.code, 0, r.stderr);
    const ready = await waitFor(
      '2 Prods Ready on k8s',
      async () => {
        const ps = await prods();
        return ps.length === 2 && ps.every((p) => p.status?.phase === 'Ready') ? ps : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 500 },
    ).catch((e: unknown) => assert.fail(`${String(e)}\nagent output:\n${agentOut}`));
    assert.ok(ready.every((p) => p.spec.cluster === 'k8s'));
    assert.ok(ready.every((p) => /^http:\/\/127\.0\.0\.1:\d+$/.test(p.status?.endpoint ?? '')), JSON.stringify(ready.map((p) => p.status)));
    // The real objects: a namespace per Prod, a Deployment whose ReplicaSet's pods the simulated node bound.
    const http = adminHttp();
    const deps = (await http.request({ method: 'GET', path: '/apis/apps/v1/deployments', query: { labelSelector: 'drover.dev/fleet=shop' } })) as {
      items: { metadata: { namespace: string }; spec: { template: { spec: { containers: { image: string }[] } } }; status?: { availableReplicas?: number } }[];
    };
    assert.equal(deps.items.length, 2);
    for (const d of deps.items) {
      assert.equal(d.spec.template.spec.containers[0]?.image, 'registry.invalid/shop:v1');
      assert.equal(d.status?.availableReplicas, 2);
    }
  });

  it('releases v1 → v2 Prod by Prod, the Deployments rolling to the new image', async () => {
    const release = `apiVersion: drover.dev/v1alpha1
kind: Release
metadata: { name: shop-v2 }
spec: { fleet: shop, version: v2, bake: 1s, gates: [] }
`;
    const r = await runCli(['apply', '-f', '-'], { server, input: release });
    assert.equal(r.code, 0, r.stderr);
    const phases = new Set<string>();
    await waitFor(
      'release shop-v2 Succeeded',
      async () => {
        const rel = parse(await cli('get', 'release', 'shop-v2', '-o', 'yaml')) as { status?: { phase?: string } };
        const ps = await prods();
        for (const p of ps) phases.add(p.status?.phase ?? 'none');
        return rel.status?.phase === 'Succeeded';
      },
      { timeoutMs: 180_000, intervalMs: 500 },
    ).catch((e: unknown) => assert.fail(`${String(e)}\nagent output:\n${agentOut}`));
    const ps = (await prods()).filter((p) => p.status?.phase !== 'Retired');
    assert.equal(ps.length, 2);
    assert.ok(ps.every((p) => p.status?.phase === 'Ready' && p.status.version === 'v2'), JSON.stringify(ps.map((p) => p.status)));
    assert.ok(!phases.has('Failed'), `no Prod went Failed during the release: ${[...phases].join(',')}`);
    const http = adminHttp();
    type Deployments = { items: { spec: { template: { spec: { containers: { image: string }[] } } } }[] };
    // Retired Prods' namespaces are deleted (the simulated node confirms their pods' deletion).
    await waitFor(
      'only the 2 v2 Deployments left',
      async () => {
        const now = (await http.request({ method: 'GET', path: '/apis/apps/v1/deployments', query: { labelSelector: 'drover.dev/fleet=shop' } })) as Deployments;
        return now.items.length === 2 && now.items.every((d) => d.spec.template.spec.containers[0]?.image === 'registry.invalid/shop:v2');
      },
      { timeoutMs: 90_000, intervalMs: 500 },
    );
  });

  it('keeps every Prod out of Failed while the API server is down for a few seconds', async () => {
    await restartApiServer(4000);
    // Give the agent a few passes after the restart, then look.
    await new Promise((r) => setTimeout(r, 3000));
    const ps = (await prods()).filter((p) => p.status?.phase !== 'Retired');
    assert.equal(ps.length, 2);
    assert.ok(ps.every((p) => p.status?.phase !== 'Failed'), JSON.stringify(ps.map((p) => p.status)));
    await waitFor(
      'both Prods Ready after the API server is back',
      async () => {
        const now = (await prods()).filter((p) => p.status?.phase !== 'Retired');
        return now.length === 2 && now.every((p) => p.status?.phase === 'Ready');
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
  });
});
