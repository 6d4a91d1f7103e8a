/**
 * The Kubernetes driver against a real API server (the test kit, ../shared/kubernetes) with a SIMULATED
 * node: how long from a Prod applied to its Deployment available, and how many API calls a reconcile of an
 * unchanged Prod costs (target: 0 writes).
 *
 *   npx tsx bench/kubernetes.ts [--prods 10]
 *
 * Starts its own kit in a temp directory unless DROVER_TEST_KUBECONFIG (and DROVER_TEST_KUBE_KIT) name one.
 * The simulated node reports pods Running as soon as it sees them (250 ms poll), so the time measured is
 * the API server's and controllers' part plus Drover's, not image pulls or container starts.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { waitFor } from '../test/helpers/wait-for.js';

const { values } = parseArgs({ options: { prods: { type: 'string', default: '10' } } });
const count = Number(values.prods);

const kitRoot = resolve(import.meta.dirname, '..', '..', 'shared', 'kubernetes');
let ownKit: string | undefined;
if (!process.env.DROVER_TEST_KUBECONFIG) {
  ownKit = mkdtempSync(join(tmpdir(), 'drover-bench-kit-'));
  const r = spawnSync('bash', [join(kitRoot, 'start.sh'), ownKit], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('the Kubernetes test kit did not start');
  process.env.DROVER_TEST_KUBECONFIG = join(ownKit, 'kubeconfig');
  process.env.DROVER_TEST_KUBE_KIT = ownKit;
}

// Imported after the environment is set: kube-kit reads it at load.
const { Cluster } = await import('../src/api/kinds/cluster.js');
const { Fleet } = await import('../src/api/kinds/fleet.js');
const { Prod } = await import('../src/api/kinds/prod.js');
const { createKubernetesDriver } = await import('../src/drivers/kubernetes/kubernetes-driver.js');
const { adminHttp, kubeconfigPath, kubeContext } = await import('../test/helpers/kube-kit.js');
const { SimulatedNode } = await import('../test/helpers/simulated-node.js');

const node = new SimulatedNode(adminHttp(), { name: 'sim-bench', serveNodePorts: true });
await node.start();
const cluster = Cluster.parse({
  apiVersion: 'drover.dev/v1alpha1',
  kind: 'Cluster',
  metadata: { name: 'bench' },
  spec: { provider: 'kubernetes', kubernetes: { context: kubeContext(), kubeconfig: kubeconfigPath } },
});
const fleet = Fleet.parse({
  apiVersion: 'drover.dev/v1alpha1',
  kind: 'Fleet',
  metadata: { name: 'bench' },
  spec: { version: 'v1', app: { image: 'registry.invalid/bench:${version}', port: 8080, healthPath: '/healthz', replicas: 2 } },
});
const driver = createKubernetesDriver(cluster, { serviceType: 'NodePort' });
const prods = Array.from({ length: count }, (_, i) =>
  Prod.parse({ apiVersion: 'drover.dev/v1alpha1', kind: 'Prod', metadata: { name: `b${i}-${process.pid}` }, spec: { fleet: 'bench', cluster: 'bench', version: 'v1' } }),
);

const loadavg = () => spawnSync('cat', ['/proc/loadavg']).stdout.toString().split(' ').slice(0, 3).join(' ');
console.log(`load before: ${loadavg()}`);

// 1. Prod applied → Deployment available (every replica updated and available), one Prod after another.
const times: number[] = [];
for (const p of prods) {
  const t0 = performance.now();
  await driver.apply(p, fleet);
  // No deadline worth the name: the benchmark measures how long this takes; a driver error ends it.
  await waitFor(`${p.metadata.name} Running`, async () => (await driver.observe(p.metadata.name)).state === 'Running', { timeoutMs: 600_000, intervalMs: 50, retryIf: () => false });
  times.push(performance.now() - t0);
}
times.sort((a, b) => a - b);
const pct = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? NaN;

// 2. A reconcile of every unchanged Prod (what the agent's resync does): apply + observe.
const before = { ...driver.requestCounts };
for (const p of prods) {
  await driver.apply(p, fleet);
  await driver.observe(p.metadata.name);
}
const reads = (driver.requestCounts.reads - before.reads) / count;
const writes = (driver.requestCounts.writes - before.writes) / count;

console.log(`load after: ${loadavg()}`);
console.log(`Prod applied → Deployment available (${count} Prods, 2 replicas, simulated node): p50 ${pct(0.5).toFixed(0)} ms, p90 ${pct(0.9).toFixed(0)} ms, max ${pct(1).toFixed(0)} ms`);
console.log(`API calls per Prod per reconcile when nothing changed: ${writes} writes, ${reads} reads`);
mkdirSync(join(import.meta.dirname, 'results'), { recursive: true });
writeFileSync(join(import.meta.dirname, 'results', `kubernetes-${Date.now()}.json`), JSON.stringify({ count, timesMs: times, readsPerReconcile: reads, writesPerReconcile: writes }, null, 2));

for (const p of prods) await driver.retire(p.metadata.name);
await driver.close();
await node.stop();
if (ownKit) {
  spawnSync('bash', [join(kitRoot, 'stop.sh'), ownKit], { stdio: 'inherit' });
  rmSync(ownKit, { recursive: true, force: true });
}
