/**
 * What a user meets at the CLI (issue 11 items 9 and 10, issue 19 item 5), each through `bin/drover.js`
 * against a real server: apply keeps operator state, validates every document before writing, refuses
 * contradictions and warns about references not there yet; bad flag values, a non-Drover --server and a
 * read-only chaos attempt get an error naming the flag or field and the fix.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { waitFor } from '../../helpers/wait-for.js';
import { repoRoot, requireBuild, runCli, serverForSuite, spawnDrover, tempDir, type ServerProcess } from './harness.js';

interface Obj {
  metadata: { name: string; annotations: Record<string, string> };
  spec: Record<string, unknown> & { app?: { args?: string[] } };
}

describe('drover apply keeps operator state and checks documents against each other', () => {
  let server: ServerProcess;
  const dir = serverForSuite((s) => (server = s), { args: ['--no-controllers'] });
  const get = async (kind: string, name: string): Promise<Obj> => {
    const r = await runCli(['get', kind, name, '-o', 'json'], { server });
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as Obj;
  };

  it('re-applying examples/drover-up.yaml leaves a cordoned cluster cordoned; the example app path is stored absolute', async () => {
    const first = await runCli(['apply', '-f', 'examples/drover-up.yaml'], { server });
    assert.equal(first.code, 0, first.stderr);
    assert.doesNotMatch(first.stderr, /warning/);
    const cordon = await runCli(['cluster', 'cordon', 'tokyo'], { server });
    assert.equal(cordon.code, 0, cordon.stderr);

    const again = await runCli(['apply', '-f', 'examples/drover-up.yaml'], { server });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^cluster\/tokyo unchanged$/m);
    assert.equal((await get('cluster', 'tokyo')).spec.cordoned, true);

    // Relative to the file that declared it, whatever directory the agent later runs in.
    assert.deepEqual((await get('fleet', 'web')).spec.app?.args, [join(repoRoot, 'examples', 'app', 'server.mjs')]);
  });

  it('a field removed from the file is removed from the object; one the operator set is kept', async () => {
    const f = join(dir, 'cluster.yaml');
    writeFileSync(f, 'apiVersion: drover.dev/v1alpha1\nkind: Cluster\nmetadata: {name: edge1, labels: {site: a, rack: r1}}\nspec: {provider: kubernetes, region: eu, domain: eu-a, capacity: {prods: 3}}\n');
    assert.equal((await runCli(['apply', '-f', f], { server })).code, 0);
    assert.equal((await runCli(['cluster', 'cordon', 'edge1'], { server })).code, 0);
    writeFileSync(f, 'apiVersion: drover.dev/v1alpha1\nkind: Cluster\nmetadata: {name: edge1, labels: {site: a}}\nspec: {provider: kubernetes, region: eu, capacity: {prods: 3}}\n');
    const r = await runCli(['apply', '-f', f], { server });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'cluster/edge1 configured');
    const c = (await runCli(['get', 'cluster', 'edge1', '-o', 'json'], { server })).stdout;
    const o = JSON.parse(c) as Obj & { metadata: { labels: Record<string, string> } };
    assert.equal(o.spec.domain, undefined);
    assert.deepEqual(o.metadata.labels, { site: 'a' });
    assert.equal(o.spec.cordoned, true);
    assert.ok(o.metadata.annotations['drover.dev/last-applied-configuration']);
  });

  it('a multi-document file with one bad document stores nothing', async () => {
    const f = join(dir, 'half-bad.yaml');
    writeFileSync(
      f,
      [
        'apiVersion: drover.dev/v1alpha1\nkind: Fleet\nmetadata: {name: first-ok}\nspec: {version: v1, app: {command: x}}',
        'apiVersion: drover.dev/v1alpha1\nkind: Fleet\nmetadata: {name: second-bad}\nspec: {prods: three, version: v1, app: {command: x}}',
      ].join('\n---\n'),
    );
    const r = await runCli(['apply', '-f', f], { server });
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /document 2 \(Fleet\/second-bad\): spec\.prods: expected number, got string\n {2}field: spec\.prods\n {2}fix: /);
    assert.match(r.stderr, /1 of 2 document\(s\) invalid; nothing was applied/);
    assert.equal((await runCli(['get', 'fleet', 'first-ok'], { server })).code, 1);
  });

  it('refuses a second tenant claiming a host, and a second policy for a fleet (400, field and fix)', async () => {
    const thief = 'apiVersion: drover.dev/v1alpha1\nkind: Tenant\nmetadata: {name: thief}\nspec: {fleet: web, match: {hosts: [other.example, bigmart.web.localhost]}}\n';
    const r = await runCli(['apply', '-f', '-'], { server, input: thief });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /host "bigmart\.web\.localhost" is already claimed by tenant "bigmart"\n {2}field: spec\.match\.hosts\[1\]\n {2}fix: a host belongs to one tenant/);
    assert.equal((await runCli(['get', 'tenant', 'thief'], { server })).code, 1);
    // The owner itself re-applies fine.
    assert.equal((await runCli(['apply', '-f', 'examples/drover-up.yaml'], { server })).code, 0);

    const policy = 'apiVersion: drover.dev/v1alpha1\nkind: TrafficPolicy\nmetadata: {name: web-2}\nspec: {fleet: web}\n';
    const p = await runCli(['apply', '-f', '-'], { server, input: policy });
    assert.equal(p.code, 1);
    assert.match(p.stderr, /fleet "web" already has TrafficPolicy "web"\n {2}field: spec\.fleet\n {2}fix: a fleet has one traffic policy/);

    // Deleting the owner frees the host at once.
    assert.equal((await runCli(['delete', 'tenant', 'bigmart'], { server })).code, 0);
    assert.equal((await runCli(['apply', '-f', '-'], { server, input: thief })).code, 0);
  });

  it('accepts with a warning what can become valid later: a tenant before its fleet, a policy before its domains', async () => {
    const t = await runCli(['apply', '-f', '-'], { server, input: 'apiVersion: drover.dev/v1alpha1\nkind: Tenant\nmetadata: {name: early}\nspec: {fleet: shop}\n' });
    assert.equal(t.code, 0, t.stderr);
    assert.equal(t.stdout.trim(), 'tenant/early created');
    assert.match(t.stderr, /^warning: tenant\/early: spec\.fleet: Fleet "shop" does not exist yet; the tenant gets no Prod until it is applied/m);
    const p = await runCli(['apply', '-f', '-'], {
      server,
      input: 'apiVersion: drover.dev/v1alpha1\nkind: TrafficPolicy\nmetadata: {name: shop}\nspec: {fleet: shop, endpointGroups: [{domain: tokyo}, {domain: mars}]}\n',
    });
    assert.equal(p.code, 0, p.stderr);
    assert.match(p.stderr, /warning: trafficpolicy\/shop: spec\.endpointGroups\[1\]\.domain "mars" has no cluster yet/);
    assert.doesNotMatch(p.stderr, /\[0\]\.domain/);
  });

  it('chaos kill-cluster with a read-only token is refused before anything is signalled', async () => {
    assert.ok(server.readonlyToken, 'the server generated a readonly token');
    const r = await runCli(['chaos', 'kill-cluster', 'osaka'], { server, token: server.readonlyToken });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /chaos kill-cluster needs an admin token/);
    assert.match(r.stderr, /fix: use the admin token/);
    assert.equal((await get('cluster', 'osaka')).metadata.annotations['drover.dev/chaos-killed-at'], undefined);
  });
});

describe('errors a user meets before any object is written', () => {
  let html: Server;
  let htmlUrl = '';
  before(async () => {
    html = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end('<!doctype html><title>hello</title>');
    });
    await new Promise<void>((r) => html.listen(0, '127.0.0.1', r));
    htmlUrl = `http://127.0.0.1:${(html.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => html.close(() => r())));

  it('--server pointed at a web page says it is not a Drover API server', async () => {
    const r = await runCli(['get', 'fleets', '--server', htmlUrl, '--token', 'x'.repeat(20)]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`error: ${htmlUrl} is not a Drover API server \\(got HTTP 200 text/html from ${htmlUrl}/api/v1/fleets\\)`));
    assert.match(r.stderr, /field: --server\n {2}fix: point --server/);
    assert.doesNotMatch(r.stderr, /TypeError|SyntaxError/);
  });

  it('a bad flag value names the flag and the fix, for every kind of value', async () => {
    const cases: [string[], RegExp][] = [
      [['release', 'start', 'web', '--version', 'v2', '--bake', '10parsecs'], /option '--bake <duration>' argument '10parsecs' is invalid\. "10parsecs" is not a duration; use e\.g\. 30s, 5m, 1h or 500ms/],
      [['release', 'start', 'web', '--version', 'v2', '--max-parallel', 'two'], /option '--max-parallel <n>' argument 'two' is invalid\. .*use e\.g\. 2/],
      [['chaos', 'restore', 'osaka', '--timeout', 'soon'], /option '--timeout <ms>' argument 'soon' is invalid\. .*use e\.g\. 20000 or 20s/],
      [['cluster', 'drain', 'osaka', '--timeout', 'long'], /option '--timeout <seconds>' argument 'long' is invalid\. .*use e\.g\. 120 or 2m/],
      [['server', '--listen', 'localhost'], /option '--listen <host:port>' argument 'localhost' is invalid\. .*use e\.g\. 127\.0\.0\.1:7400/],
      [['up', '--port', 'http'], /option '--port <port>' argument 'http' is invalid\. .*use 0-65535/],
      [['agent', '--cluster', 'a', '--capacity', 'lots'], /option '--capacity <n>' argument 'lots' is invalid\. .*use e\.g\. 4/],
    ];
    for (const [args, re] of cases) {
      const r = await runCli(args);
      assert.equal(r.code, 1, args.join(' '));
      assert.match(r.stderr, re, args.join(' '));
      assert.doesNotMatch(r.stderr, /"code":|ZodError/, args.join(' '));
    }
  });
});

describe('drover up', () => {
  it('prints where the tokens are, never a token', async () => {
    requireBuild();
    const dir = tempDir();
    const file = join(dir, 'up.yaml');
    // No local cluster: the control plane and the edge only, so that this stays light.
    writeFileSync(file, 'apiVersion: drover.dev/v1alpha1\nkind: Cluster\nmetadata: {name: remote}\nspec: {provider: kubernetes, region: eu}\n');
    const data = join(dir, 'data');
    const { proc, output, exited } = spawnDrover(['up', file, '--data', data, '--port', '0', '--edge-port', '0', '--no-write-config', '--ready-timeout', '0'], {
      DROVER_CONFIG: join(dir, 'cli.yaml'),
      DROVER_TOKEN: '',
    });
    try {
      // What up printed goes with a failure (it once did not start within 60 s in a loaded CI run, and said nothing).
      await waitFor('drover up to start', () => {
        if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`drover up exited (${proc.exitCode ?? proc.signalCode}):\n${output()}`);
        return output().includes('drover up is running');
      }, { timeoutMs: 120_000, retryIf: (e) => !(e instanceof Error && e.message.startsWith('drover up exited')) }).catch((e: Error) => {
        throw new Error(`${e.message}\ndrover up printed:\n${output()}`);
      });
      const tokensFile = join(data, 'tokens.yaml');
      assert.match(output(), new RegExp(`tokens: generated admin and readonly tokens in ${tokensFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
      const tokens = parse(readFileSync(tokensFile, 'utf8')) as { admin: string; readonly: string };
      assert.ok(!output().includes(tokens.admin) && !output().includes(tokens.readonly), 'no token is printed');
    } finally {
      proc.kill('SIGTERM');
      await exited;
    }
  });
});
