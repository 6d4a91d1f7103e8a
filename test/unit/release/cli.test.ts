import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Command } from 'commander';
import { API_VERSION } from '../../../src/api/meta.js';
import type { Fleet } from '../../../src/api/kinds/fleet.js';
import type { Release } from '../../../src/api/kinds/release.js';
import { register as registerCluster } from '../../../src/cli/commands/cluster-lifecycle.js';
import { register as registerRelease } from '../../../src/cli/commands/release.js';
import { describeDrain } from '../../../src/cli/format/cluster.js';
import { formatPlan } from '../../../src/cli/format/release.js';
import { watchStatus } from '../../../src/cli/release-status.js';
import { actOnRelease, planRelease, startRelease } from '../../../src/release/operations.js';
import { MemoryStore } from '../../../src/store/memory/memory-store.js';
import { talkFleet } from '../../helpers/fixtures.js';

async function talkStore(): Promise<MemoryStore> {
  const store = new MemoryStore();
  const fleet: Fleet = {
    apiVersion: API_VERSION,
    kind: 'Fleet',
    metadata: { name: 'shop', labels: {}, annotations: {}, finalizers: [], ownerReferences: [] },
    spec: { prods: 6, testProds: 1, version: 'v1', app: { command: 'node', args: [], env: {}, port: 8080, healthPath: '/healthz', replicas: 1 }, placement: { spreadBy: 'domain', avoidProviders: [] }, warmup: { requests: 3 } },
  };
  await store.create(fleet);
  const { prods, tenants } = talkFleet();
  for (const p of prods) await store.create(p);
  for (const t of tenants) await store.updateStatus({ ...(await store.create(t)), status: t.status });
  return store;
}

describe('release CLI (library side of the thin commands)', () => {
  it('plan prints the waves as a table', async () => {
    const text = formatPlan(await planRelease(await talkStore(), 'shop', 'v2', 2), 'shop', 'v2');
    const lines = text.trim().split('\n');
    assert.match(lines[0] ?? '', /4 waves, 1180 users \(few users: ≤ 118\)/);
    assert.match(lines[1] ?? '', /^WAVE\s+RISK\s+PRODS\s+TENANTS\s+USERS$/);
    assert.match(lines[2] ?? '', /^0\s+test\s+c-2\s+1\s+5$/);
    assert.match(lines[4] ?? '', /^2\s+redundant\s+b-1,a-2\s+2\s+700$/);
  });

  it('start creates a Release (a second one of the same version gets a new name), actions set spec', async () => {
    const store = await talkStore();
    const a = await startRelease(store, 'shop', { version: 'v2', maxParallel: 2, bake: '5s', autoRollback: true, env: ['FAIL_RATE_v2=0.5'], promql: 'x{prod=~"$prods"}', promqlMax: '0' });
    assert.equal(a.metadata.name, 'shop-v2');
    assert.deepEqual(a.spec.env, { FAIL_RATE_v2: '0.5' });
    assert.deepEqual(a.spec.gates.map((g) => g.type), ['errorRate', 'promql']);
    assert.equal((await startRelease(store, 'shop', { version: 'v2', autoRollback: true, env: [] })).metadata.name, 'shop-v2-2');
    await assert.rejects(startRelease(store, 'nope', { version: 'v2', autoRollback: true, env: [] }), /Fleet "nope" not found/);
    await assert.rejects(startRelease(store, 'shop', { version: 'v3', autoRollback: true, env: ['bad'] }), /not KEY=VALUE/);
    assert.equal((await actOnRelease(store, 'shop-v2', 'pause')).spec.paused, true);
    assert.equal((await actOnRelease(store, 'shop-v2', 'rollback')).spec.action, 'rollback');
  });

  it('status shows waves, the current one and the last decisions; -w ends when the release does', async () => {
    const store = await talkStore();
    const r = await startRelease(store, 'shop', { version: 'v2', autoRollback: true, env: [] });
    const t = new Date().toISOString();
    await store.updateStatus<Release>({
      ...r,
      status: {
        conditions: [],
        phase: 'RolledBack',
        fromVersion: 'v1',
        currentWave: 0,
        waves: [{ index: 0, riskClass: 'test', prods: ['c-2'], replacements: ['c-2-v2-abcd'], users: 5, state: 'RolledBack', reason: 'errorRate: 50%' }],
        decisions: [{ time: t, action: 'GatesFailed', reason: 'wave 0: errorRate 50%' }],
      },
    });
    const printed: string[] = [];
    assert.equal(await watchStatus(store, r.metadata.name, true, (s) => printed.push(s), 10), 1);
    const text = printed.join('');
    assert.match(text, /Phase: RolledBack\s+Waves: 0\/1 passed/);
    assert.match(text, /0\s+test\s+c-2\s+c-2-v2-abcd\s+5\s+RolledBack\s+errorRate: 50%/);
    assert.match(text, /GatesFailed\s+wave 0: errorRate 50%/);
  });

  it('registers release and cluster subcommands into shared groups', () => {
    const program = new Command('drover');
    registerRelease(program);
    registerCluster(program);
    const names = (g: string) => program.commands.find((c) => c.name() === g)?.commands.map((c) => c.name()).sort();
    assert.deepEqual(names('release'), ['abort', 'pause', 'plan', 'promote', 'resume', 'rollback', 'start', 'status']);
    assert.deepEqual(names('cluster'), ['cordon', 'drain', 'replace', 'uncordon']);
    assert.match(describeDrain({ cluster: 'a', remaining: [], degraded: [{ tenant: 'r1', prods: ['b-2'], domains: ['b'], reason: 'no capacity' }], done: true }), /redundancy not kept for tenant r1/);
  });
});
