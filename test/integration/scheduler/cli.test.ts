import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../../helpers/wait-for.js';
import { repoRoot, runCli, startServer, tempDir, type ServerProcess } from '../server/harness.js';

const clusters = `
apiVersion: drover.dev/v1alpha1
kind: Cluster
metadata: {name: tokyo}
spec: {region: jp}
---
apiVersion: drover.dev/v1alpha1
kind: Cluster
metadata: {name: osaka}
spec: {region: jp-west}
`;

describe('drover explain / plan against a real server', () => {
  let server: ServerProcess;
  const dir = tempDir();
  before(async () => {
    server = await startServer({ dataDir: join(dir, 'data'), args: ['--backend', 'memory'] });
    const file = join(dir, 'clusters.yaml');
    writeFileSync(file, clusters);
    for (const f of [file, join(repoRoot, 'examples', 'basic.yaml')]) {
      const r = await runCli(['apply', '-f', f], { server });
      assert.equal(r.code, 0, r.stderr);
    }
  });
  after(async () => {
    await server?.stop('SIGKILL');
  });

  it('the scheduler controller explains in status why a tenant has no Prod yet', async () => {
    // No agent heartbeats these clusters, so no Prod can serve.
    const status = await waitFor('tenant status written by the scheduler', async () => {
      const r = await runCli(['get', 'tenant', 'acme', '-o', 'json'], { server });
      const t = JSON.parse(r.stdout) as { status?: { reason?: string; prods: string[] } };
      return t.status?.reason ? t.status : undefined;
    });
    assert.deepEqual(status.prods, []);
    assert.match(status.reason ?? '', /^NoServingProd/);
    const table = await runCli(['get', 'tenants'], { server });
    assert.match(table.stdout.split('\n')[0] ?? '', /^NAME\s+USERS\s+REDUNDANCY\s+PRODS\s+DOMAINS$/);
  });

  it('explain tenant prints the decision, as text and JSON', async () => {
    const text = await runCli(['explain', 'tenant', 'acme'], { server });
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^Tenant acme: 120 users, redundancy 2/);
    const json = await runCli(['explain', 'tenant', 'acme', '-o', 'json'], { server });
    const e = JSON.parse(json.stdout) as { reasons: { code: string }[] };
    assert.deepEqual(e.reasons.map((r) => r.code), ['NoServingProd']);
    const missing = await runCli(['explain', 'tenant', 'nope'], { server });
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /Tenant "nope" not found/);
  });

  it('plan --fail-cluster answers per fleet', async () => {
    const r = await runCli(['plan', '--fail-cluster', 'osaka', '-o', 'json'], { server });
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as { kind: string; items: { fleet: string; cluster: string; mustMove: number }[] };
    assert.equal(doc.kind, 'List');
    assert.deepEqual(doc.items.map((p) => [p.fleet, p.cluster, p.mustMove]), [['web', 'osaka', 0]]);
    const bad = await runCli(['plan', '--fail-cluster', 'mars'], { server });
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /Cluster "mars" not found/);
  });
});
