/**
 * Admission of Tenant host claims under concurrent writes: claims of different hosts are written
 * concurrently (they share the store's group commit), yet two tenants never both hold one host, whatever
 * order the writes complete in (fast-check's scheduler picks it); a write that fails gives its claim back.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { Tenant } from '../../../src/api/kinds/tenant.js';
import type { AnyResource } from '../../../src/api/resource.js';
import { isDroverError } from '../../../src/errors.js';
import { Admission } from '../../../src/server/admission.js';
import { MemoryStore } from '../../../src/store/memory/memory-store.js';
import { tenant } from '../../helpers/fixtures.js';

const HOSTS = ['a.example.com', 'b.example.com', 'c.example.com'];

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('Admission of Tenant hosts', () => {
  it('runs the store writes of tenants claiming different hosts concurrently', async () => {
    const store = new MemoryStore();
    const admission = new Admission(store);
    const gate = deferred();
    const started: string[] = [];
    const write = (t: Tenant) => async () => {
      started.push(t.metadata.name);
      await gate.promise;
      return store.create(t);
    };
    const t1 = tenant('t1', { hosts: ['one.example.com'] });
    const t2 = tenant('t2', { hosts: ['two.example.com'] });
    const both = Promise.all([admission.admit(t1, write(t1)), admission.admit(t2, write(t2))]);
    for (let i = 0; i < 50 && started.length < 2; i++) await new Promise((r) => setImmediate(r));
    // Serialised admission would hold t2's write until t1's was stored (one commit and fsync each).
    assert.deepEqual(started, ['t1', 't2'], 'the second write started while the first was in flight');
    gate.resolve();
    await both;
    await admission.stop();
  });

  it('refuses a host another tenant is claiming in a write still in flight, and frees it when that write fails', async () => {
    const store = new MemoryStore();
    const admission = new Admission(store);
    const gate = deferred();
    const first = tenant('first', { hosts: ['shop.example.com'] });
    const failing = admission.admit(first, async () => {
      await gate.promise;
      throw new Error('disk full');
    });
    await new Promise((r) => setImmediate(r));
    const second = tenant('second', { hosts: ['shop.example.com'] });
    await assert.rejects(admission.admit(second, () => store.create(second as AnyResource)), (e: unknown) => {
      assert.ok(isDroverError(e, 'DROVER_E_HOST_CLAIMED'), String(e));
      assert.match(e.message, /claimed by tenant "first"/);
      return true;
    });
    gate.resolve();
    await assert.rejects(failing, /disk full/);
    // The failed write's claim is gone: the host is free again.
    await admission.admit(second, () => store.create(second as AnyResource));
    assert.ok(await store.get('Tenant', 'second'));
    await admission.stop();
  });

  it('never lets two stored tenants hold one host, whatever order concurrent creates, updates and deletes complete in', async () => {
    const op = fc.record({
      kind: fc.constantFrom('create', 'update', 'delete'),
      tenant: fc.integer({ min: 0, max: 3 }),
      hosts: fc.subarray(HOSTS, { minLength: 1 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.array(op, { minLength: 1, maxLength: 10 }), async (s, ops) => {
        const store = new MemoryStore();
        const admission = new Admission(store);
        // Each store write completes when the scheduler says so.
        const create = s.scheduleFunction(async (t: Tenant) => store.create(t as AnyResource));
        const update = s.scheduleFunction(async (t: AnyResource) => store.update(t));
        const runs = ops.map(async ({ kind, tenant: i, hosts }) => {
          const name = `t${i}`;
          try {
            if (kind === 'create') await admission.admit(tenant(name, { hosts }), () => create(tenant(name, { hosts })));
            else if (kind === 'update') {
              const cur = await store.get('Tenant', name);
              if (!cur) return;
              const next = { ...cur, spec: { ...(cur.spec as object), match: { hosts } } } as AnyResource;
              await admission.admit(next, () => update(next));
            } else {
              const gone = await store.delete('Tenant', name).catch(() => undefined);
              if (gone) admission.deleted(gone);
            }
          } catch (e) {
            if (!isDroverError(e, 'DROVER_E_HOST_CLAIMED') && !isDroverError(e, 'DROVER_E_ALREADY_EXISTS') && !isDroverError(e, 'DROVER_E_CONFLICT') && !isDroverError(e, 'DROVER_E_NOT_FOUND')) throw e;
          }
        });
        await s.waitFor(Promise.all(runs));
        const owners = new Map<string, string>();
        for (const t of (await store.list('Tenant')).items) {
          for (const h of t.spec.match.hosts) {
            const other = owners.get(h);
            assert.equal(other, undefined, `${h} held by ${other} and ${t.metadata.name}; ${s.report().map((r) => r.label).join(' ')}`);
            owners.set(h, t.metadata.name);
          }
        }
        await admission.stop();
      }),
      { numRuns: 300 },
    );
  });
});
