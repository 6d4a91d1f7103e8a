import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { validateResource } from '../../../src/api/validate.js';
import { waitFor } from '../../helpers/wait-for.js';
import { repoRoot, runCli, serverForSuite, spawnDrover, type ServerProcess } from './harness.js';

const example = join(repoRoot, 'examples', 'basic.yaml');

describe('drover CLI against a real server', () => {
  let server: ServerProcess;
  // The API and CLI alone: controllers would add Prods, events and finalizers these assertions do not expect.
  const dir = serverForSuite((s) => (server = s), { args: ['--no-controllers'] });

  it('applies the example and `get -o yaml` round-trips it', async () => {
    const r = await runCli(['apply', '-f', example], { server });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), ['fleet/web created', 'tenant/acme created', 'trafficpolicy/web created']);

    const got = await runCli(['get', 'fleets', '-o', 'yaml'], { server });
    assert.equal(got.code, 0, got.stderr);
    const list = parse(got.stdout) as { kind: string; items: { metadata: { name: string; labels: Record<string, string> }; spec: unknown }[] };
    assert.equal(list.kind, 'List');
    const sent = validateResource(parseAllDocuments(readFileSync(example, 'utf8'))[0]!.toJS()).resource;
    assert.equal(list.items.length, 1);
    assert.deepEqual(list.items[0]!.spec, sent.spec);
    assert.deepEqual(list.items[0]!.metadata.labels, { app: 'web' });

    // What `get` printed applies back as unchanged.
    const back = join(dir, 'roundtrip.yaml');
    writeFileSync(back, got.stdout);
    // The first time, the printed document becomes the last-applied configuration (it names every
    // defaulted field); the object itself does not change, and a second apply changes nothing at all.
    const again = await runCli(['apply', '-f', back], { server });
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout.trim(), 'fleet/web configured');
    const got2 = parse((await runCli(['get', 'fleet', 'web', '-o', 'yaml'], { server })).stdout) as { spec: unknown };
    assert.deepEqual(got2.spec, list.items[0]!.spec);
    const third = await runCli(['apply', '-f', back], { server });
    assert.equal(third.stdout.trim(), 'fleet/web unchanged');
  });

  it('reports each bad document with file, index, field and fix, stores nothing of the file, and exits non-zero', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(
      bad,
      [
        'apiVersion: drover.dev/v1alpha1\nkind: Fleet\nmetadata: {name: good}\nspec: {version: v1, app: {command: x}}',
        'apiVersion: drover.dev/v1alpha1\nkind: Fleet\nmetadata: {name: typo}\nspec: {prodz: 3, version: v1, app: {command: x}}',
        'apiVersion: drover.dev/v1alpha1\nkind: Flet\nmetadata: {name: kindless}\nspec: {}',
        'apiVersion: drover.dev/v1alpha1\nkind: Fleet\nmetadata: {name: wrongtype}\nspec: {prods: three, version: v1, app: {command: x}}',
        'apiVersion: drover.dev/v1alpha1\nkind: Fleet\nmetadata: {name: Bad_Name}\nspec: {version: v1, app: {command: x}}',
        'a: [b',
      ].join('\n---\n'),
    );
    const r = await runCli(['apply', '-f', bad], { server });
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    const err = r.stderr;
    assert.match(err, /bad\.yaml document 2 \(Fleet\/typo\): unknown field "spec\.prodz"\n {2}field: spec\.prodz\n {2}fix: did you mean "spec\.prods"\?/);
    assert.match(err, /document 3 \(Flet\/kindless\): unknown kind "Flet"\n {2}field: kind\n {2}fix: did you mean "Fleet"\?/);
    assert.match(err, /document 4 \(Fleet\/wrongtype\): spec\.prods: expected number, got string\n {2}field: spec\.prods\n {2}fix: /);
    assert.match(err, /document 5 \(Fleet\/Bad_Name\): .*\(DNS-1123\)\n {2}field: metadata\.name\n {2}fix: use a DNS-1123 name such as "bad-name"/);
    assert.match(err, /document 6: invalid YAML at line \d+/);
    assert.match(err, /5 of 6 document\(s\) invalid; nothing was applied/);
    assert.equal((await runCli(['get', 'fleet', 'good'], { server })).code, 1);
    // The valid document alone applies.
    assert.equal((await runCli(['apply', '-f', '-'], { server, input: readFileSync(bad, 'utf8').split('\n---\n')[0]! })).code, 0);

    const names = await runCli(['get', 'fl', '-o', 'name'], { server });
    assert.deepEqual(names.stdout.trim().split('\n').sort(), ['fleet/good', 'fleet/web']);
  });

  it('rejects applying a system-owned kind with a fix', async () => {
    const doc = 'apiVersion: drover.dev/v1alpha1\nkind: Event\nmetadata: {name: e1}\nspec: {involvedObject: {kind: Fleet, name: web}, type: Normal, reason: X, message: m, firstTimestamp: "2026-01-01T00:00:00Z", lastTimestamp: "2026-01-01T00:00:00Z"}\n';
    const r = await runCli(['apply', '-f', '-'], { server, input: doc });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /<stdin> document 1 \(Event\/e1\): Event objects are written by Drover's controllers/);
  });

  it('prints tables, wide tables, json lists, label-selected lists and describe', async () => {
    const table = await runCli(['get', 'fleets'], { server });
    assert.match(table.stdout, /^NAME\s+PRODS\s+READY\s+VERSION\s+AGE\n/);
    assert.match(table.stdout, /\nweb\s+2\s+0\/2\s+v1\s+\d+s\n/);
    const wide = await runCli(['get', 'tenant', '-o', 'wide'], { server });
    assert.match(wide.stdout, /^NAME\s+USERS\s+REDUNDANCY\s+PRODS\s+DOMAINS\s+FLEET\s+HOSTS/);
    assert.match(wide.stdout, /acme\s+120\s+2\s+/);
    const json = await runCli(['get', 'fleets', '-l', 'app=web', '-o', 'json'], { server });
    const list = JSON.parse(json.stdout) as { kind: string; items: { metadata: { name: string } }[] };
    assert.equal(list.kind, 'List');
    assert.deepEqual(list.items.map((i) => i.metadata.name), ['web']);
    const desc = await runCli(['describe', 'fleet', 'web'], { server });
    assert.equal(desc.code, 0, desc.stderr);
    assert.match(desc.stdout, /^Name:\s+web\nKind:\s+Fleet\n/);
    assert.match(desc.stdout, /\nSpec:\n {2}prods: 2\n/);
    assert.match(desc.stdout, /\nEvents:\n {2}<none>/);
  });

  it('`get -w` prints the table, then a row per change', async () => {
    const { proc, stdout } = spawnDrover(['get', 'tenants', '-w'], { DROVER_SERVER: server.url, DROVER_TOKEN: server.adminToken });
    try {
      await waitFor('the first table', () => /^NAME\s+USERS.*\nacme\s+120\s/s.test(stdout()), { timeoutMs: 15_000 });
      const doc = 'apiVersion: drover.dev/v1alpha1\nkind: Tenant\nmetadata: {name: beta}\nspec: {fleet: web, users: 7}\n';
      assert.equal((await runCli(['apply', '-f', '-'], { server, input: doc })).code, 0);
      await waitFor('a row for the new tenant', () => /\nbeta\s+7\s+1\s/.test(stdout()), { timeoutMs: 15_000 });
      assert.equal((await runCli(['delete', 'tenant', 'beta'], { server })).code, 0);
      await waitFor('a row for the delete', () => stdout().split('\n').filter((l) => l.startsWith('beta')).length === 2, { timeoutMs: 15_000 });
    } finally {
      proc.kill('SIGKILL');
    }
  });

  it('explains an unknown kind and a missing object', async () => {
    const r = await runCli(['get', 'flets'], { server });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error: unknown kind "flets"\n {2}field: kind\n {2}fix: use one of: clusters, fleets/);
    const nf = await runCli(['get', 'fleet', 'nope'], { server });
    assert.equal(nf.code, 1);
    assert.match(nf.stderr, /error: Fleet "nope" not found\n {2}fix: /);
  });

  it('deletes by name and by file', async () => {
    const r = await runCli(['delete', 'fleet', 'good'], { server });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'fleet/good deleted');
    const f = await runCli(['delete', '-f', example], { server });
    assert.equal(f.code, 0, f.stderr);
    assert.deepEqual(f.stdout.trim().split('\n'), ['fleet/web deleted', 'tenant/acme deleted', 'trafficpolicy/web deleted']);
    const left = await runCli(['get', 'fleets', '-o', 'json'], { server });
    assert.deepEqual((JSON.parse(left.stdout) as { items: unknown[] }).items, []);
  });

  it('says how to reach a server when none answers, and has version and help', async () => {
    const r = await runCli(['get', 'fleets', '--server', 'http://127.0.0.1:9', '--token', 'x'.repeat(10)]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot reach the Drover API server at http:\/\/127\.0\.0\.1:9/);
    assert.match(r.stderr, /fix: start it with `drover server`/);
    const v = await runCli(['version']);
    assert.match(v.stdout, /^drover \d+\.\d+\.\d+/);
    const h = await runCli(['get', '--help']);
    assert.equal(h.code, 0);
    assert.match(h.stdout, /-o, --output <format>/);
  });
});

describe('drover describe with the controllers running', () => {
  let server: ServerProcess;
  serverForSuite((s) => (server = s));

  it('shows the conditions and events the controllers wrote', async () => {
    assert.equal((await runCli(['apply', '-f', example], { server })).code, 0);
    const out = await waitFor(
      'an event in describe',
      async () => {
        const r = await runCli(['describe', 'fleet', 'web'], { server });
        return /\nEvents:\n {2}TYPE\s+REASON\s+AGE\s+FROM\s+MESSAGE\n {2}(Normal|Warning)\s+\S+/.test(r.stdout) ? r.stdout : undefined;
      },
      { timeoutMs: 20_000 },
    );
    assert.match(out, /\nConditions:\n {2}TYPE\s+STATUS\s+REASON\s+AGE\s+MESSAGE\n {2}\S+\s+(True|False|Unknown)\s/);
    const events = await runCli(['get', 'events'], { server });
    assert.match(events.stdout, /^LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+MESSAGE\n.*fleet\/web/s);
  });
});
