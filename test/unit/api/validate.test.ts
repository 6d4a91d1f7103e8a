import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateResource } from '../../../src/api/validate.js';
import { isDroverError } from '../../../src/errors.js';

const fleet = (spec: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'drover.dev/v1alpha1',
  kind: 'Fleet',
  metadata: { name: 'web' },
  spec: { version: 'v1', app: { command: 'node', args: ['app.js'] }, ...spec },
  ...extra,
});

function rejects(doc: unknown): { message: string; field?: string; fix?: string } {
  try {
    validateResource(doc);
  } catch (e) {
    assert.ok(isDroverError(e), `expected a DroverError, got ${String(e)}`);
    return { message: e.message, field: e.field, fix: e.fix };
  }
  assert.fail('document was accepted');
}

describe('validateResource', () => {
  it('fills defaults', () => {
    const { info, resource } = validateResource(fleet({}));
    assert.equal(info.plural, 'fleets');
    const spec = resource.spec as { prods: number; app: { healthPath: string }; placement: { spreadBy: string } };
    assert.equal(spec.prods, 3);
    assert.equal(spec.app.healthPath, '/healthz');
    assert.equal(spec.placement.spreadBy, 'domain');
  });

  it('names an unknown field and suggests the near one', () => {
    const e = rejects(fleet({ prodz: 3 }));
    assert.equal(e.field, 'spec.prodz');
    assert.match(e.fix ?? '', /did you mean "spec.prods"/);
  });

  it('names a nested unknown field', () => {
    const e = rejects(fleet({ app: { command: 'x', helthPath: '/h' } }));
    assert.equal(e.field, 'spec.app.helthPath');
    assert.match(e.fix ?? '', /spec.app.healthPath/);
  });

  it('names a wrong type with the path', () => {
    const e = rejects(fleet({ prods: 'three' }));
    assert.equal(e.field, 'spec.prods');
    assert.match(e.message, /expected number, got string/);
  });

  it('rejects a bad name with the DNS-1123 rule', () => {
    const e = rejects({ ...fleet({}), metadata: { name: 'Web_1' } });
    assert.equal(e.field, 'metadata.name');
    assert.match(e.message, /DNS-1123/);
  });

  it('suggests a kind for a misspelt one', () => {
    const e = rejects({ ...fleet({}), kind: 'Flet' });
    assert.equal(e.field, 'kind');
    assert.match(e.fix ?? '', /Fleet/);
  });

  it('rejects a wrong apiVersion with the fix', () => {
    const e = rejects({ ...fleet({}), apiVersion: 'v1' });
    assert.equal(e.field, 'apiVersion');
    assert.match(e.fix ?? '', /drover.dev\/v1alpha1/);
  });

  it('requires image or command', () => {
    const e = rejects(fleet({ app: { args: [] } }));
    assert.equal(e.field, 'spec.app');
    assert.match(e.message, /image.*command/);
  });
});
