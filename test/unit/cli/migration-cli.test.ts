/**
 * `drover migration`'s library parts: flags → a validated spec (errors name the spec field), the actions
 * act or say why not, and the status view draws a bar per step.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Migration } from '../../../src/api/kinds/migration.js';
import { formatMigrationStatus, migrationStatusLine } from '../../../src/cli/format/migration.js';
import { migrationRefusal, migrationSpecFromFlags } from '../../../src/cli/migration-operations.js';
import { DroverError } from '../../../src/errors.js';

const m = (status: Record<string, unknown> | undefined, spec: Record<string, unknown> = {}) =>
  Migration.parse({ apiVersion: 'drover.dev/v1alpha1', kind: 'Migration', metadata: { name: 'mig' }, spec: { fleet: 'web', legacy: { endpoints: [{ url: 'http://10.0.0.5:80' }] }, ...spec }, ...(status ? { status } : {}) });

describe('drover migration (library)', () => {
  it('builds the spec from flags and names the spec field of a mistake', () => {
    const spec = migrationSpecFromFlags('web', { legacy: ['http://a:1', 'http://b:1'], steps: '5,50%,100', mode: 'tenants', tenants: 'x,y', bake: '10s' });
    assert.deepEqual(spec.steps, [5, 50, 100]);
    assert.deepEqual(spec.legacy.endpoints.map((e) => e.url), ['http://a:1', 'http://b:1']);
    assert.deepEqual(spec.tenants?.names, ['x', 'y']);
    assert.throws(() => migrationSpecFromFlags('web', { legacy: ['http://a:1'], steps: '50,10,100' }), (e: unknown) => e instanceof DroverError && e.field === 'spec.steps[1]');
    assert.throws(() => migrationSpecFromFlags('web', { legacy: ['http://a:1'], target: 'alb', listenerArn: 'nope' }), (e: unknown) => e instanceof DroverError && e.field === 'spec.target.listenerArn');
    assert.equal(migrationSpecFromFlags('web', { legacy: ['http://a:1'], selector: 'tier=free' }).tenants?.selector?.matchLabels.tier, 'free');
  });

  it('actions act or say why not', () => {
    assert.ok(migrationRefusal(m({ phase: 'RolledBack' }), 'promote') && 'error' in migrationRefusal(m({ phase: 'RolledBack' }), 'promote')!);
    assert.ok('already' in migrationRefusal(m({ phase: 'Succeeded' }), 'pause')!);
    assert.ok('error' in migrationRefusal(m(undefined), 'promote')!, 'nothing to promote before the first step');
    assert.equal(migrationRefusal(m({ phase: 'Paused' }), 'resume'), undefined, 'a hold (not spec.paused) can be resumed');
    assert.ok('already' in migrationRefusal(m({ phase: 'Progressing' }), 'resume')!);
    assert.equal(migrationRefusal(m({ phase: 'Progressing' }, { action: 'promote' }), 'abort'), undefined, 'abort always goes through');
  });

  it('status shows a bar per step and the weight', () => {
    const text = formatMigrationStatus(m({ phase: 'Progressing', step: 1, weight: 10, bakeStartedAt: new Date().toISOString(), decisions: [{ time: new Date().toISOString(), action: 'StepStarted', reason: 'step 2/5: 10 %' }] }));
    assert.match(text, /Weight: \[██░{18}\] 10 % on the fleet/);
    assert.match(text, /▶2\s+\[█░{9}\]\s+10 %\s+Baking/);
    assert.match(text, / 1\s+\[░{10}\]\s+1 %\s+Passed/);
    assert.match(text, /StepStarted/);
    assert.match(migrationStatusLine(m({ phase: 'RolledBack', weight: 0 })), /phase=RolledBack steps=0\/5 weight=0/);
  });
});
