// `drover get prods -o wide` shows the template revision each Prod runs; `get fleets -o wide` the one the
// fleet asks for and how many Prods are on it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { columnsFor, tableRows } from '../../../src/cli/format/columns.js';
import { prodTemplate } from '../../../src/api/template.js';
import { cluster, fleet } from '../../helpers/fixtures.js';
import type { Prod } from '../../../src/api/kinds/prod.js';

describe('REVISION columns', () => {
  const web = fleet('web');
  const t = prodTemplate(web.spec.app, 'v1');
  const prod: Prod = {
    apiVersion: 'drover.dev/v1alpha1',
    kind: 'Prod',
    metadata: { name: 'web-1', labels: {}, annotations: {}, finalizers: [], ownerReferences: [] },
    spec: { fleet: 'web', cluster: cluster('a').metadata.name, version: 'v1', template: t, role: 'normal', retire: false, env: {}, takeover: false },
  };

  it('shows a Prod revision in wide output only', () => {
    const wide = columnsFor('Prod', true);
    const i = wide.findIndex((c) => c.header === 'REVISION');
    assert.ok(i >= 0);
    assert.equal(tableRows([prod], wide)[0]?.[i], t.hash);
    assert.ok(!columnsFor('Prod', false).some((c) => c.header === 'REVISION'));
  });

  it('shows the fleet revision and its up-to-date count', () => {
    const f = { ...web, status: { prods: 2, readyProds: 2, versions: {}, conditions: [], templateHash: t.hash, updatedProds: 1 } };
    const cols = columnsFor('Fleet', true);
    const row = tableRows([f], cols)[0]!;
    assert.equal(row[cols.findIndex((c) => c.header === 'REVISION')], t.hash);
    assert.equal(row[cols.findIndex((c) => c.header === 'UP-TO-DATE')], '1');
  });
});
