import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { defaultUpFilePath, loadUpFile } from '../../../src/up/up-file.js';
import { tenantCurlLines } from '../../../src/up/tenant-hints.js';
import type { Tenant } from '../../../src/api/kinds/tenant.js';

const dir = mkdtempSync(join(tmpdir(), 'drover-upfile-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('drover up clusters file', () => {
  it('the shipped example declares three local clusters in three domains, a fleet of 6 and its tenants', () => {
    const f = loadUpFile(defaultUpFilePath());
    assert.deepEqual(f.localClusters.map((c) => c.metadata.name), ['tokyo', 'osaka', 'onprem']);
    assert.equal(new Set(f.localClusters.map((c) => c.spec.domain)).size, 3);
    assert.equal(f.dir, dirname(defaultUpFilePath()));
    const kinds = f.documents.map((d) => (d as { kind: string }).kind);
    assert.equal(kinds.filter((k) => k === 'Tenant').length, 6);
    assert.ok(kinds.includes('Fleet') && kinds.includes('TrafficPolicy'));
  });

  it('makes the example app path absolute (relative to the file), so an agent started anywhere finds it', () => {
    const f = loadUpFile(defaultUpFilePath());
    const fleet = f.documents.find((d) => (d as { kind: string }).kind === 'Fleet') as { spec: { app: { args: string[] } } };
    const app = fleet.spec.app.args[0] ?? '';
    assert.equal(app, join(dirname(defaultUpFilePath()), 'app', 'server.mjs'));
    assert.ok(existsSync(app));
  });

  it('names the document and the field of an invalid one', () => {
    const p = join(dir, 'bad.yaml');
    writeFileSync(p, 'apiVersion: drover.dev/v1alpha1\nkind: Cluster\nmetadata: { name: a }\nspec: {}\n---\napiVersion: drover.dev/v1alpha1\nkind: Fleet\nmetadata: { name: Web }\nspec: { version: v1, app: { command: x } }\n');
    assert.throws(() => loadUpFile(p), (e: Error & { field?: string }) => /document 2/.test(e.message) && e.field === 'metadata.name');
  });

  it('prints one curl line per tenant, by host or header', () => {
    const t = (name: string, match: Tenant['spec']['match']): Tenant =>
      ({ apiVersion: 'drover.dev/v1alpha1', kind: 'Tenant', metadata: { name, labels: {}, annotations: {}, finalizers: [], ownerReferences: [] }, spec: { fleet: 'web', users: 1, redundancy: 1, test: false, pin: [], match } });
    const lines = tenantCurlLines([t('a', { hosts: ['*.a.test', 'a.test'] }), t('b', { hosts: [], header: { name: 'x-t', value: 'b' } })], 'http://e');
    assert.match(lines[0] ?? '', /^curl -H 'Host: a\.test' http:\/\/e\//);
    assert.match(lines[1] ?? '', /^curl -H 'x-t: b' http:\/\/e\//);
  });
});
