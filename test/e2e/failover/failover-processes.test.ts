/**
 * Real processes over a dying replica: a `drover server`, three replica proxies in front of it
 * (test/helpers/replica-proxy.ts: a replica's death is its listener gone and its connections reset), and
 * the CLI and an agent given all three URLs. The CLI's one-shot commands and its `get -w` and the agent's
 * heartbeats go on when the replica they used dies.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RemoteStore } from '../../../src/client/remote-store.js';
import { tenant } from '../../helpers/fixtures.js';
import { startReplicaProxy, type ReplicaProxy } from '../../helpers/replica-proxy.js';
import { waitFor } from '../../helpers/wait-for.js';
import { spawnDrover, startServer, tempDir, type DroverProcess, type ServerProcess } from '../../integration/server/harness.js';

const TOKEN = 'failover-e2e-admin-token';

describe('the CLI and an agent with three server URLs', () => {
  let server: ServerProcess;
  let direct: RemoteStore;
  const procs: DroverProcess[] = [];
  const proxies: ReplicaProxy[] = [];
  const dir = tempDir('drover-failover-');
  // No config file: the URLs and the token come from the flags and the environment only.
  const env = { DROVER_TOKEN: TOKEN, DROVER_CONFIG: join(dir, 'no-config.yaml') };
  const replicas = async (): Promise<string> => {
    const ps = await Promise.all([0, 1, 2].map(() => startReplicaProxy(server.url)));
    proxies.push(...ps);
    return ps.map((p) => p.url).join(',');
  };
  const cli = async (args: string[]): Promise<{ code: number | null; out: string }> => {
    const p = spawnDrover(args, env);
    const code = await p.exited;
    return { code, out: p.output() };
  };

  before(async () => {
    server = await startServer({ dataDir: join(dir, 'data'), env: { DROVER_TOKEN: TOKEN }, args: ['--no-controllers'] });
    direct = new RemoteStore({ server: server.url, token: TOKEN });
  });
  after(async () => {
    for (const p of procs) p.proc.kill('SIGKILL');
    await Promise.all(procs.map((p) => p.exited));
    for (const p of proxies) await p.kill();
    await direct.close();
    await server.stop('SIGKILL');
  });

  it('one-shot commands and `get -w` go on when the replica they used dies', async () => {
    const urls = await replicas();
    const [p1] = proxies.slice(-3) as [ReplicaProxy, ReplicaProxy, ReplicaProxy];
    await direct.create(tenant('cli-a'));
    const watch = spawnDrover(['get', 'tenants', '-w', '-o', 'name', '--server', urls], env);
    procs.push(watch);
    await waitFor('get -w to list', () => watch.stdout().includes('tenant/cli-a'), { timeoutMs: 20_000 });
    assert.ok(p1.connections() > 0, 'the CLI used the first replica');
    await p1.kill();
    await direct.create(tenant('cli-b'));
    await waitFor('get -w to print the change made after the replica died', () => watch.stdout().includes('tenant/cli-b'), { timeoutMs: 20_000 });
    const lines = watch.stdout().trim().split('\n');
    assert.deepEqual(lines, ['tenant/cli-a', 'tenant/cli-b'], `each object once:\n${watch.output()}`);
    // A new command with the dead replica first in its list.
    const r = await cli(['get', 'tenants', '-o', 'name', '--server', urls]);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /tenant\/cli-a\ntenant\/cli-b/);
    // DROVER_SERVER takes the list too.
    const p = spawnDrover(['get', 'tenant', 'cli-b', '-o', 'name'], { ...env, DROVER_SERVER: urls });
    assert.equal(await p.exited, 0, p.output());
  });

  it('an agent keeps heartbeating when its replica dies', async () => {
    const urls = await replicas();
    const [p1, p2] = proxies.slice(-3) as [ReplicaProxy, ReplicaProxy, ReplicaProxy];
    const agent = spawnDrover(['agent', '--cluster', 'fo-c1', '--state-dir', join(dir, 'agent'), '--server', urls], env);
    procs.push(agent);
    const heartbeat = async () => (await direct.get('Cluster', 'fo-c1'))?.status?.lastHeartbeat;
    await waitFor('the first heartbeat', heartbeat, { timeoutMs: 20_000 });
    assert.ok(p1.connections() > 0 && p2.connections() === 0, 'the agent uses the first replica');
    await p1.kill();
    const killedAt = new Date().toISOString();
    await waitFor('a heartbeat after the replica died', async () => ((await heartbeat()) ?? '') > killedAt, { timeoutMs: 10_000 });
    assert.ok(p2.connections() > 0, 'through the second replica');
    assert.doesNotMatch(agent.output(), /heartbeat failed/, agent.output());
  });
});
