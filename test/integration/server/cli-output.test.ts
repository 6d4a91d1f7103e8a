/**
 * `-o json|yaml|name` on every command that prints a result, and `-w` as one event per line when piped
 * (issue 19 item 3), through `bin/drover.js` against a real `drover server` (controllers off: the test
 * writes the status the controllers would, so that each output is known).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import type { Release } from '../../../src/api/kinds/release.js';
import { RemoteStore } from '../../../src/client/remote-store.js';
import { cluster, fleet, prod, tenant } from '../../helpers/fixtures.js';
import { waitFor } from '../../helpers/wait-for.js';
import { bin, repoRoot, runCli, startServer, tempDir, type ServerProcess } from './harness.js';

describe('machine-readable output of every command', () => {
  let server: ServerProcess;
  let store: RemoteStore;
  before(async () => {
    server = await startServer({ dataDir: join(tempDir(), 'data'), args: ['--no-controllers'] });
    store = new RemoteStore({ server: server.url, token: server.adminToken });
    const put = async <T extends { status?: unknown }>(o: T) => {
      const created = await store.create(o as never);
      if (o.status) await store.updateStatus({ ...(created as object), status: o.status } as never);
    };
    await put(fleet('web', { app: { command: 'node' }, prods: 4 }));
    for (const c of [cluster('tokyo', { domain: 'jp', capacity: 10, provider: 'local', phase: 'Ready' }), cluster('osaka', { domain: 'jp-west', capacity: 10, provider: 'local', phase: 'Ready' }), cluster('spare', { domain: 'us', capacity: 10, provider: 'local', phase: 'Ready' })]) await put(c);
    for (const p of [prod('tokyo-1', { cluster: 'tokyo', phase: 'Ready' }), prod('tokyo-2', { cluster: 'tokyo', phase: 'Ready' }), prod('osaka-1', { cluster: 'osaka', phase: 'Ready' }), prod('osaka-2', { cluster: 'osaka', phase: 'Ready' })]) await put(p);
    await put(tenant('shop', { users: 100, redundancy: 2, prods: ['tokyo-1', 'osaka-1'] }));
    await put(tenant('blog', { users: 10, prods: ['tokyo-2'] }));
  });
  after(async () => {
    await store?.close();
    await server?.stop('SIGKILL');
  });

  const cli = async (...args: string[]) => {
    const r = await runCli(args, { server });
    assert.equal(r.code, 0, `drover ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const lines = (s: string) => s.trim().split('\n');

  it('release plan', async () => {
    const json = JSON.parse(await cli('release', 'plan', 'web', '--version', 'v2', '-o', 'json')) as { kind: string; fleet: string; waves: { prods: string[] }[] };
    assert.equal(json.kind, 'ReleasePlan');
    assert.equal(json.fleet, 'web');
    const planned = json.waves.flatMap((w) => w.prods).sort();
    assert.deepEqual(planned, ['osaka-1', 'osaka-2', 'tokyo-1', 'tokyo-2']);
    assert.deepEqual((parse(await cli('release', 'plan', 'web', '--version', 'v2', '-o', 'yaml')) as { waves: unknown[] }).waves.length, json.waves.length);
    assert.deepEqual(lines(await cli('release', 'plan', 'web', '--version', 'v2', '-o', 'name')).sort(), planned.map((p) => `prod/${p}`));
    const bad = await runCli(['release', 'plan', 'web', '--version', 'v2', '-o', 'xml'], { server });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /option '-o, --output <format>' argument 'xml' is invalid\. Allowed choices are json, yaml, name/);
  });

  it('release start, status and actions', async () => {
    assert.equal(await cli('release', 'start', 'web', '--version', 'v2', '-o', 'name'), 'release/web-v2\n');
    const r = JSON.parse(await cli('release', 'status', 'web-v2', '-o', 'json')) as Release;
    assert.equal(r.kind, 'Release');
    assert.equal(r.spec.version, 'v2');
    assert.equal((parse(await cli('release', 'status', 'web-v2', '-o', 'yaml')) as Release).metadata.name, 'web-v2');
    assert.equal(await cli('release', 'status', 'web-v2', '-o', 'name'), 'release/web-v2\n');
    const paused = JSON.parse(await cli('release', 'pause', 'web-v2', '--no-wait', '-o', 'json')) as Release;
    assert.equal(paused.spec.paused, true);
  });

  it('release status -w piped: one line per change, and one JSON object per line with -o json', async () => {
    await cli('release', 'start', 'web', '--version', 'v3', '--name', 'watched');
    const watch = (extra: string[]) => {
      const proc = spawn(process.execPath, [bin, 'release', 'status', 'watched', '-w', ...extra], {
        env: { ...process.env, DROVER_SERVER: server.url, DROVER_TOKEN: server.adminToken, DROVER_CONFIG: join(tmpdir(), 'drover-test-no-config.yaml') },
        cwd: repoRoot,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      proc.stdout.on('data', (c: Buffer) => (out += c.toString()));
      const code = new Promise<number | null>((res) => proc.once('close', res));
      return { out: () => out, code };
    };
    const text = watch([]);
    const json = watch(['-o', 'json']);
    await waitFor('the first status lines', () => text.out().includes('phase=') && json.out().includes('\n'));
    const r = (await store.get('Release', 'watched'))!;
    await store.updateStatus<Release>({ ...r, status: { conditions: [], phase: 'Progressing', fromVersion: 'v1', currentWave: 0, waves: [{ index: 0, riskClass: 'test', prods: ['tokyo-2'], replacements: [], users: 10, state: 'Baking' }], decisions: [] } });
    await waitFor('the Progressing lines', () => text.out().includes('phase=Progressing') && json.out().includes('"phase":"Progressing"'));
    const r2 = (await store.get('Release', 'watched'))!;
    await store.updateStatus<Release>({ ...r2, status: { ...r2.status!, phase: 'Succeeded', waves: [{ ...r2.status!.waves[0]!, state: 'Passed' }], decisions: [{ time: new Date().toISOString(), action: 'Completed', reason: 'all waves passed' }] } });
    assert.equal(await text.code, 0);
    assert.equal(await json.code, 0);
    const textLines = lines(text.out());
    assert.ok(textLines.length >= 3, text.out());
    for (const l of textLines) assert.match(l, /^\d{4}-\d\d-\d\dT\S+ release\/watched phase=\w+ waves=\d+\/\d+ current=\S+/);
    assert.match(textLines.at(-1)!, /phase=Succeeded waves=1\/1 .*last=Completed: all waves passed$/);
    assert.doesNotMatch(text.out(), /WAVE\s+RISK/);
    const events = lines(json.out()).map((l) => JSON.parse(l) as Release);
    assert.ok(events.length >= 3, json.out());
    assert.equal(events.at(-1)?.status?.phase, 'Succeeded');
  });

  it('plan --fail-cluster', async () => {
    const json = JSON.parse(await cli('plan', '--fail-cluster', 'tokyo', '-o', 'json')) as { kind: string; items: { fleet: string; cluster: string }[] };
    assert.equal(json.kind, 'List');
    assert.deepEqual(json.items.map((p) => [p.fleet, p.cluster]), [['web', 'tokyo']]);
    assert.equal((parse(await cli('plan', '--fail-cluster', 'tokyo', '-o', 'yaml')) as { items: unknown[] }).items.length, 1);
    const names = lines(await cli('plan', '--fail-cluster', 'tokyo', '-o', 'name')).sort();
    assert.deepEqual(names, ['tenant/blog', 'tenant/shop']);
  });

  it('explain tenant', async () => {
    const e = JSON.parse(await cli('explain', 'tenant', 'shop', '-o', 'json')) as { tenant: string; chosen: { prod: string }[] };
    assert.equal(e.tenant, 'shop');
    assert.equal(e.chosen.length, 2);
    assert.equal((parse(await cli('explain', 'tenant', 'shop', '-o', 'yaml')) as { tenant: string }).tenant, 'shop');
    assert.deepEqual(lines(await cli('explain', 'tenant', 'shop', '-o', 'name')).sort(), e.chosen.map((c) => `prod/${c.prod}`).sort());
  });

  it('cluster cordon, drain and replace', async () => {
    const cordoned = JSON.parse(await cli('cluster', 'cordon', 'spare', '-o', 'json')) as { spec: { cordoned: boolean } };
    assert.equal(cordoned.spec.cordoned, true);
    assert.equal(await cli('cluster', 'uncordon', 'spare', '-o', 'name'), 'cluster/spare\n');
    // Drained without waiting: the report as one document, no progress lines.
    const drain = JSON.parse(await cli('cluster', 'drain', 'osaka', '--no-wait', '-o', 'json')) as { cluster: string; remaining: string[]; done: boolean };
    assert.equal(drain.cluster, 'osaka');
    assert.deepEqual(drain.remaining, ['shop']);
    assert.equal(drain.done, false);
    assert.equal(await cli('cluster', 'drain', 'osaka', '--no-wait', '-o', 'name'), 'tenant/shop\n');
    // A cluster without Prods is replaced at once.
    const rep = parse(await cli('cluster', 'replace', 'spare', '--with', 'tokyo', '-o', 'yaml')) as { ok: boolean; moved: unknown[]; message: string };
    assert.equal(rep.ok, true);
    assert.deepEqual(rep.moved, []);
  });

  it('get, describe, apply, delete and version', async () => {
    assert.equal(await cli('describe', 'cluster', 'tokyo', '-o', 'name'), 'cluster/tokyo\n');
    const d = JSON.parse(await cli('describe', 'cluster', 'tokyo', '-o', 'json')) as { object: { metadata: { name: string } }; events: unknown[] };
    assert.equal(d.object.metadata.name, 'tokyo');
    assert.ok(Array.isArray(d.events));
    const v = JSON.parse(await cli('version', '-o', 'json')) as { clientVersion: { drover: string } };
    assert.match(v.clientVersion.drover, /^\d+\.\d+\.\d+/);
    const doc = 'apiVersion: drover.dev/v1alpha1\nkind: Fleet\nmetadata: { name: api }\nspec: { prods: 0, version: v1, app: { command: node } }\n';
    const applied = await runCli(['apply', '-f', '-', '-o', 'json'], { server, input: doc });
    assert.equal(applied.code, 0, applied.stderr);
    assert.deepEqual((JSON.parse(applied.stdout) as { items: { metadata: { name: string } }[] }).items.map((o) => o.metadata.name), ['api']);
    assert.equal((await runCli(['apply', '-f', '-', '-o', 'name'], { server, input: doc })).stdout, 'fleet/api\n');
    assert.equal(await cli('delete', 'fleet', 'api', '-o', 'name'), 'fleet/api\n');
  });
});
