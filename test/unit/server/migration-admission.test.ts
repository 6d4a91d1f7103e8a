/**
 * Bad Migrations are refused with the field and the fix, and nothing is stored: schema errors (no legacy
 * endpoint, steps not increasing / over 100 / not ending at 100, an ARN that is not an ARN, an alb target
 * without its target groups) and admission's checks against other objects (unknown fleet, a tenant
 * another active migration moves, a Release on a fleet whose users a migration moves and the reverse).
 * The commented Migration of the example file validates once uncommented.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { Migration } from '../../../src/api/kinds/migration.js';
import { Release } from '../../../src/api/kinds/release.js';
import { validateResource } from '../../../src/api/validate.js';
import { DroverError } from '../../../src/errors.js';
import { Admission } from '../../../src/server/admission.js';
import { MemoryStore } from '../../../src/store/memory/memory-store.js';
import { fleet, tenant } from '../../helpers/fixtures.js';

const doc = (spec: Record<string, unknown>, name = 'mig') => ({
  apiVersion: 'drover.dev/v1alpha1',
  kind: 'Migration',
  metadata: { name },
  spec: { fleet: 'web', legacy: { endpoints: [{ url: 'http://10.0.0.5:8080' }] }, ...spec },
});

function refused(fn: () => unknown, field: string, message: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof DroverError, String(e));
    assert.equal(e.field, field);
    assert.match(e.message, message);
    assert.ok(e.fix, 'says how to fix it');
    return true;
  });
}

describe('Migration validation', () => {
  it('names the field of each mistake', () => {
    refused(() => validateResource(doc({ legacy: { endpoints: [] } })), 'spec.legacy.endpoints', /at least one legacy endpoint/);
    refused(() => validateResource(doc({ steps: [10, 5, 100] })), 'spec.steps[1]', /steps must increase: 5 after 10/);
    refused(() => validateResource(doc({ steps: [10, 150] })), 'spec.steps[1]', /at most 100/);
    refused(() => validateResource(doc({ steps: [10, 50] })), 'spec.steps[1]', /last step must be 100/);
    refused(() => validateResource(doc({ legacy: { endpoints: [{ url: 'not a url' }] } })), 'spec.legacy.endpoints[0].url', /must be a URL/);
    refused(() => validateResource(doc({ target: { type: 'alb', listenerArn: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/lb/1/2', legacyTargetGroupArn: 'my-target-group', fleetTargetGroupArn: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/f/1' } })), 'spec.target.legacyTargetGroupArn', /must be an ELBv2 target group ARN/);
    refused(() => validateResource(doc({ target: { type: 'alb', listenerArn: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/lb/1/2' } })), 'spec.target.legacyTargetGroupArn', /needs legacyTargetGroupArn/);
    refused(() => validateResource(doc({ tenants: { names: ['a'], selector: { matchLabels: { x: 'y' } } } })), 'spec.tenants', /exactly one of names or selector/);
    const ok = validateResource(doc({})).resource as Migration;
    assert.deepEqual(ok.spec.steps, [1, 10, 30, 50, 100]);
    assert.equal(ok.spec.target.type, 'edge');
  });

  it('the commented Migration of examples/drover-up.yaml is valid', () => {
    const text = readFileSync(new URL('../../../examples/drover-up.yaml', import.meta.url), 'utf8');
    const at = text.indexOf('# kind: Migration');
    assert.ok(at > 0);
    const block = text.slice(text.lastIndexOf('# apiVersion:', at)).split('\n').filter((l) => l.startsWith('# ') || l === '#').map((l) => l.slice(2)).join('\n');
    const [d] = parseAllDocuments(block).map((x) => x.toJS() as unknown);
    const m = validateResource(d).resource as Migration;
    assert.equal(m.spec.legacy.endpoints[0]?.url, 'http://127.0.0.1:8090');
  });
});

describe('Migration admission', () => {
  async function setup() {
    const store = new MemoryStore();
    await store.create(fleet('web'));
    for (const t of ['a', 'b', 'c']) await store.create(tenant(t));
    const admission = new Admission(store);
    const create = (o: Migration | Release) => admission.admit(o, () => store.create(o));
    return { store, admission, create };
  }
  const rejects = async (p: Promise<unknown>, code: string, field: string, message: RegExp) => {
    await assert.rejects(p, (e: unknown) => {
      assert.ok(e instanceof DroverError, String(e));
      assert.equal(e.code, code);
      assert.equal(e.field, field);
      assert.match(e.message, message);
      assert.ok(e.fix);
      return true;
    });
  };
  const release = (name: string) => Release.parse({ apiVersion: 'drover.dev/v1alpha1', kind: 'Release', metadata: { name }, spec: { fleet: 'web', version: 'v2' } });

  it('refuses an unknown fleet and a tenant another active migration moves; nothing is stored', async () => {
    const { store, admission, create } = await setup();
    try {
      await rejects(create(Migration.parse(doc({ fleet: 'nope' }))), 'DROVER_E_INVALID', 'spec.fleet', /fleet "nope" does not exist/);
      await create(Migration.parse(doc({ tenants: { names: ['a', 'b'] } }, 'm1')));
      await rejects(create(Migration.parse(doc({ tenants: { names: ['b', 'c'] } }, 'm2'))), 'DROVER_E_MIGRATION_CONFLICT', 'spec.tenants', /migration "m1" is already moving tenant\(s\) b/);
      await rejects(create(Migration.parse(doc({}, 'm3'))), 'DROVER_E_MIGRATION_CONFLICT', 'spec.tenants', /every tenant/);
      assert.deepEqual((await store.list('Migration')).items.map((m) => m.metadata.name), ['m1'], 'nothing stored on bad input');
      await create(Migration.parse(doc({ tenants: { names: ['c'] } }, 'm4')));
      // A change of an existing migration (pause) is not checked against the others.
      const m1 = (await store.get('Migration', 'm1'))!;
      await admission.admit({ ...m1, spec: { ...m1.spec, paused: true } }, () => store.update({ ...m1, spec: { ...m1.spec, paused: true } }));
      // A finished migration holds its tenants until it is deleted: an Aborted one keeps their users on
      // legacy, a Succeeded one on the fleet; a second split on them would fight it or move users back.
      const m4 = (await store.get('Migration', 'm4'))!;
      await store.updateStatus({ ...m4, status: { ...(m4.status ?? Migration.shape.status.unwrap().parse({})), phase: 'Aborted' } });
      await rejects(create(Migration.parse(doc({ tenants: { names: ['c'] } }, 'm5'))), 'DROVER_E_MIGRATION_CONFLICT', 'spec.tenants', /"m4" \(Aborted\) still holds tenant\(s\) c, whose users it keeps on legacy/);
      const m1now = (await store.get('Migration', 'm1'))!;
      await store.updateStatus({ ...m1now, status: { ...(m1now.status ?? Migration.shape.status.unwrap().parse({})), phase: 'Succeeded' } });
      await rejects(create(Migration.parse(doc({ tenants: { names: ['a'] } }, 'm6'))), 'DROVER_E_MIGRATION_CONFLICT', 'spec.tenants', /"m1" \(Succeeded\) still holds tenant\(s\) a, whose users it keeps on the fleet/);
      await store.delete('Migration', 'm4');
      await create(Migration.parse(doc({ tenants: { names: ['c'] } }, 'm5')));
    } finally {
      await admission.stop();
    }
  });

  it('a Release and a Migration do not move one fleet at once (either order), each says which to finish', async () => {
    const { admission, create, store } = await setup();
    try {
      await create(Migration.parse(doc({ tenants: { names: ['a'] } }, 'm1')));
      await rejects(create(release('web-v2')), 'DROVER_E_MIGRATION_CONFLICT', 'spec.fleet', /migration "m1" is moving the users of fleet "web"/);
      assert.equal((await store.list('Release')).items.length, 0);
      const m1 = (await store.get('Migration', 'm1'))!;
      await store.updateStatus({ ...m1, status: { ...Migration.shape.status.unwrap().parse({}), phase: 'Succeeded' } });
      await create(release('web-v2'));
      await rejects(create(Migration.parse(doc({ tenants: { names: ['b'] } }, 'm2'))), 'DROVER_E_MIGRATION_CONFLICT', 'spec.fleet', /release "web-v2" is moving fleet "web"/);
    } finally {
      await admission.stop();
    }
  });
});
