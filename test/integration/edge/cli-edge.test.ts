/**
 * `drover edge --server URL` as a real process against a real `drover server`: it follows the plan the
 * traffic controller writes through the API's watch, and keeps serving it after the server is SIGKILLed.
 * Also `drover edge --plan-file`.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { Cluster, Fleet, Prod, Tenant } from '../../../src/api/index.js';
import { RemoteStore } from '../../../src/client/remote-store.js';
import { TrafficController } from '../../../src/controllers/traffic-controller.js';
import { startCache } from '../../../src/runtime/object-cache.js';
import type { ReconcileContext } from '../../../src/runtime/reconciler.js';
import { client, endpoint, get, plan } from '../../conformance/edge/harness.js';
import { waitFor } from '../../helpers/wait-for.js';
import { startUpstream, type UpstreamServer } from '../../conformance/edge/upstream.js';
import { repoRoot, requireBuild, startServer, tempDir, type ServerProcess } from '../server/harness.js';

const meta = (name: string) => ({ apiVersion: 'drover.dev/v1alpha1' as const, metadata: { name } });

async function startEdgeProcess(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ proc: ChildProcess; url: string; admin: string; output: () => string }> {
  requireBuild();
  const proc = spawn(process.execPath, [join(repoRoot, 'bin', 'drover.js'), 'edge', '--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0', ...args], {
    env: { ...process.env, DROVER_CONFIG: join(tempDir(), 'none.yaml'), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr.on('data', (c: Buffer) => (out += c.toString()));
  await waitFor(`edge prints its URLs:\n${out}`, () => /listening on http/.test(out) && /admin: http/.test(out), { timeoutMs: 20_000 });
  const url = /listening on (http:\/\/\S+)/.exec(out)![1]!;
  const admin = /admin: (http:\/\/[^/\s]+)/.exec(out)![1]!;
  return { proc, url, admin, output: () => out };
}

async function kill(p: ChildProcess | undefined): Promise<void> {
  if (!p || p.exitCode !== null || p.signalCode !== null) return;
  const exited = once(p, 'exit');
  p.kill('SIGKILL');
  await exited;
}

describe('drover edge (process)', () => {
  let server: ServerProcess;
  let up: UpstreamServer;
  let edgeProc: ChildProcess | undefined;
  let fileEdge: ChildProcess | undefined;
  const agent = client();

  before(async () => {
    up = await startUpstream('web-1');
    server = await startServer({ args: ['--backend', 'memory'] });
  });
  after(async () => {
    await kill(edgeProc);
    await kill(fileEdge);
    await server.stop('SIGKILL');
    await agent.close();
    await up.close();
  });

  it('follows the plan through the API watch and keeps serving it when the server dies', async () => {
    const edge = await startEdgeProcess(['--server', server.url, '--token', server.adminToken, '--fleet', 'web']);
    edgeProc = edge.proc;
    assert.equal((await get(agent, edge.url, '/')).status, 503, 'no plan yet: 503 with a clear body');

    // The server's traffic controller compiles the plan from these; the edge follows it through the watch.
    const store = new RemoteStore({ server: server.url, token: server.adminToken });
    const cl = await store.create(Cluster.parse({ ...meta('tokyo-1'), kind: 'Cluster', spec: { region: 'tokyo', heartbeatGraceMs: 600_000 } }));
    await store.updateStatus({ ...cl, metadata: { ...cl.metadata, resourceVersion: undefined }, status: Cluster.shape.status.unwrap().parse({ phase: 'Ready', lastHeartbeat: new Date().toISOString() }) });
    await store.create(Fleet.parse({ ...meta('web'), kind: 'Fleet', spec: { prods: 1, version: 'v1', app: { command: 'node' } } }));
    // The fleet controller creates the Prod; this test plays the agent and reports it Ready at the upstream.
    let prodName = '';
    await waitFor('the fleet controller creates a Prod', async () => {
      prodName = (await store.list('Prod')).items.find((x) => x.spec.fleet === 'web')?.metadata.name ?? '';
      return prodName !== '';
    }, { timeoutMs: 10_000 });
    const p = (await store.get('Prod', prodName))!;
    await store.updateStatus({ ...p, metadata: { ...p.metadata, resourceVersion: undefined }, status: Prod.shape.status.unwrap().parse({ phase: 'Ready', endpoint: up.url, version: 'v1' }) });
    const t = await store.create(Tenant.parse({ ...meta('shop'), kind: 'Tenant', spec: { fleet: 'web', match: { hosts: ['shop.example.com'] } } }));
    await store.updateStatus({ ...t, metadata: { ...t.metadata, resourceVersion: undefined }, status: Tenant.shape.status.unwrap().parse({ prods: [prodName] }) });
    // Also reconcile from here, so the test does not depend on which controllers this server build runs.
    const traffic = new TrafficController();
    const cache = await startCache(store, traffic.watches.map((w) => w.kind));
    const ctx: ReconcileContext = { store, cache, signal: new AbortController().signal, recordEvent: async () => {} };
    await traffic.reconcile(ctx, 'web').catch(() => undefined);
    await cache.stop();
    await waitFor('the edge serves the plan', async () => (await get(agent, edge.url, '/', { host: 'shop.example.com' })).upstream === 'web-1', { timeoutMs: 15_000 });
    assert.equal((await get(agent, edge.url, '/', { host: 'shop.example.com' })).headers['x-drover-prod'], prodName);

    await server.stop('SIGKILL');
    for (let i = 0; i < 50; i++) assert.equal((await get(agent, edge.url, '/', { host: 'shop.example.com' })).upstream, 'web-1');
    const hz = (await (await fetch(`${edge.admin}/healthz`)).json()) as { plans: { fleet: string; revision: number }[] };
    assert.equal(hz.plans[0]?.fleet, 'web');
  });

  it('--plan-file serves plans from a file', async () => {
    const file = join(tempDir(), 'plan.yaml');
    writeFileSync(file, stringify({ apiVersion: 'drover.dev/v1alpha1', kind: 'TrafficPlan', metadata: { name: 'web' }, spec: plan({ endpoints: [endpoint('web-1', up.url, 'tokyo')], groups: [{ domain: 'tokyo', trafficDial: 100, endpoints: [{ prod: 'web-1', weight: 1 }] }] }) }));
    const edge = await startEdgeProcess(['--plan-file', file]);
    fileEdge = edge.proc;
    assert.match(edge.output(), /plans from file/);
    const a = await get(agent, edge.url, '/');
    assert.equal(a.upstream, 'web-1');
    assert.equal(a.headers['x-drover-prod'], 'web-1');
  });
});
