// Drivers render a Prod from its own template snapshot, never from the live Fleet: a Fleet change reaches a
// Prod only through a successor. A Prod stored before snapshots renders as before, and stamping it with the
// Fleet's app at its version changes nothing it runs (no restart on upgrade).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Fleet } from '../../../src/api/kinds/fleet.js';
import type { Prod } from '../../../src/api/kinds/prod.js';
import { prodTemplate } from '../../../src/api/template.js';
import { renderProd } from '../../../src/drivers/kubernetes/render.js';
import { workloadSpec } from '../../../src/drivers/local/local-driver.js';
import { cluster, fleet, prod } from '../../helpers/fixtures.js';

/** The Kubernetes cluster the rendered objects are for. */
const k1 = () => cluster('k1', { provider: 'kubernetes', kubernetes: { context: 'test' } });

function withApp(f: Fleet, app: Partial<Fleet['spec']['app']>): Fleet {
  return { ...f, spec: { ...f.spec, app: { ...f.spec.app, ...app } } };
}

const pinned = (p: Prod, f: Fleet): Prod => ({ ...p, spec: { ...p.spec, template: prodTemplate(f.spec.app, p.spec.version) } });

describe('rendering from the template snapshot', () => {
  const f = fleet('web', { app: { command: 'node', args: ['app.js'], image: 'registry.example/web:${version}', env: { A: '1' } } });
  const changed = withApp(f, { args: ['other.js'], env: { A: '2' }, image: 'registry.example/other:${version}' });

  it('local driver: runs the snapshot, whatever the Fleet says now', () => {
    const p = pinned(prod('web-1', { fleet: 'web', cluster: 'k1' }), f);
    const before = workloadSpec(p, f);
    const after = workloadSpec(p, changed);
    assert.deepEqual(after.args, ['app.js']);
    assert.equal(after.env.A, '1');
    assert.equal(after.specHash, before.specHash, 'a Fleet change does not restart a running Prod');
  });

  it('local driver: stamping a Prod stored without a snapshot keeps its workload as it is', () => {
    const legacy = prod('web-1', { fleet: 'web', cluster: 'k1' });
    assert.equal(legacy.spec.template, undefined);
    assert.equal(workloadSpec(pinned(legacy, f), f).specHash, workloadSpec(legacy, f).specHash);
  });

  it('kubernetes driver: the Deployment comes from the snapshot', () => {
    const p = pinned(prod('web-1', { fleet: 'web', cluster: 'k1' }), f);
    const objs = renderProd(p, changed, k1());
    const dep = objs.find((o) => o.kind === 'Deployment') as { spec: { template: { spec: { containers: { image: string; args?: string[]; env: { name: string; value: string }[] }[] } } } };
    const c = dep.spec.template.spec.containers[0]!;
    assert.equal(c.image, 'registry.example/web:v1');
    assert.deepEqual(c.args, ['app.js']);
    assert.equal(c.env.find((e) => e.name === 'A')?.value, '1');
    assert.deepEqual(renderProd(p, changed, k1()), renderProd(p, f, k1()));
  });
});
