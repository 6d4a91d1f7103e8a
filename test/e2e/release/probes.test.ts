/**
 * Releases decide with no user traffic at all (the README's bad-release demo): real processes (`drover up`
 * from dist: control plane, three local clusters running the example app, the edge), not one user request.
 * The fleet's env has FAIL_RATE_v2=0.5, so v2 answers half its requests with 500; the release controller's
 * synthetic probes are the only requests the new Prods get, and they fail the gate: the release rolls back
 * and every Prod left is on v1. A good version with no traffic then succeeds on the probes alone.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RemoteStore } from '../../../src/client/remote-store.js';
import { clustersFile, UpRun } from '../../helpers/drover-up.js';
import { waitFor } from '../../helpers/wait-for.js';

const file = `${clustersFile(3).replace('healthPath: /healthz }', 'healthPath: /healthz, env: { FAIL_RATE_v2: "0.5" } }')}---
apiVersion: drover.dev/v1alpha1
kind: Tenant
metadata: { name: shop }
spec: { fleet: web, users: 10, match: { hosts: [shop.web.localhost] } }
`;

describe('release probes decide with no user traffic (real processes)', { timeout: 300_000 }, () => {
  const up = new UpRun(file);
  let store: RemoteStore;
  const release = async (name: string) => (await store.get('Release', name))!;
  const ended = (name: string) =>
    waitFor(`release ${name} to end`, async () => {
      const r = await release(name);
      if (r.status?.phase === 'Paused') throw new Error(`paused: ${r.status.message ?? ''}`);
      return ['Succeeded', 'RolledBack', 'Failed', 'Aborted'].includes(r.status?.phase ?? '') ? r : undefined;
    }, { timeoutMs: 120_000, intervalMs: 200 });

  before(async () => {
    store = await up.running();
    assert.ok(file.includes('FAIL_RATE_v2'), 'the fleet env carries the bad version');
  });
  after(async () => {
    await up.stop();
    up.cleanup();
  });

  it('FAIL_RATE_v2=0.5 in the fleet env: `release start web --version v2 --bake 3s` rolls back, tenants on v1', async () => {
    const start = await up.drover('release', 'start', 'web', '--version', 'v2', '--bake', '3s');
    assert.match(start.stdout, /release\.drover\.dev\/web-v2 created/);
    const r = await ended('web-v2');
    assert.equal(r.status?.phase, 'RolledBack', JSON.stringify(r.status?.decisions.slice(-3)));
    assert.match(r.status?.decisions.find((d) => d.action === 'GatesFailed')?.reason ?? '', /probes: error rate/);
    const live = await waitFor('every live Prod on v1 and the plan routing only to them', async () => {
      const ps = (await store.list('Prod')).items.filter((p) => p.spec.fleet === 'web' && !p.spec.retire);
      // What the edge executes for each tenant: its TrafficRoute (the fleet's TrafficPlan holds no tenants).
      const routes = (await store.list('TrafficRoute')).items.filter((r) => r.spec.fleet === 'web');
      const routed = routes.flatMap((r) => r.spec.prods);
      const v1 = new Set(ps.filter((p) => p.spec.version === 'v1').map((p) => p.metadata.name));
      return ps.length === 3 && v1.size === 3 && routed.length > 0 && routed.every((n) => v1.has(n)) ? ps : undefined;
    }, { timeoutMs: 30_000, intervalMs: 200 });
    assert.equal(live.length, 3);
    const status = await up.drover('release', 'status', 'web-v2');
    assert.match(status.stdout, /Phase: RolledBack/);
  });

  it('a good version with no traffic succeeds on the probes alone', async () => {
    await up.drover('release', 'start', 'web', '--version', 'v3', '--bake', '3s', '--max-parallel', '3');
    const r = await ended('web-v3');
    assert.equal(r.status?.phase, 'Succeeded', JSON.stringify(r.status?.decisions.slice(-3)));
    assert.ok(r.status?.decisions.filter((d) => d.action === 'GatesPassed').every((d) => /probes: error rate 0\.00%/.test(d.reason)));
  });

  it('abort and rollback of the finished releases refuse with a non-zero exit and say what to do', async () => {
    const rb = await up.drover('release', 'rollback', 'web-v3').then(
      () => assert.fail('rollback of a Succeeded release exited 0'),
      (e: { code: number; stderr: string }) => e,
    );
    assert.notEqual(rb.code, 0);
    assert.match(rb.stderr, /drover release start web --version v1/);
    const ab = await up.drover('release', 'abort', 'web-v2').then(
      () => assert.fail('abort of a finished release exited 0'),
      (e: { code: number; stderr: string }) => e,
    );
    assert.match(ab.stderr, /already ended \(RolledBack\)/);
  });
});
