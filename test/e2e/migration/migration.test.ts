/**
 * Migrations end to end on real processes: `drover up` (control plane, three local clusters, the edge,
 * the example legacy backend as a real server), `drover migration …` through the CLI, users through the
 * edge.
 * - percent mode, a good fleet: at each step the measured share of new users on the fleet is within ±3 %
 *   over 5,000 requests; users with a cookie stay on their side; zero failed requests from start to
 *   Succeeded;
 * - tenants mode: whole tenants move in risk order and the migration succeeds;
 * - a bad fleet version (the example app's FAIL_RATE_<v>): the first step's gate fails, the migration is
 *   RolledBack with weight 0, and every user of the tenant is back on legacy.
 * Heavy: run under `flock /tmp/drover-heavy.lock`, after `npx tsc -p tsconfig.build.json`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Migration } from '../../../src/api/kinds/migration.js';
import { exampleAppPath } from '../../helpers/fixtures.js';
import { clustersFile, UpRun } from '../../helpers/drover-up.js';
import { waitFor } from '../../helpers/wait-for.js';
import { client, get } from '../../conformance/edge/harness.js';

const SAMPLE = 5_000;

const tenantDoc = (name: string, fleet: string, users: number) => `---
apiVersion: drover.dev/v1alpha1
kind: Tenant
metadata: { name: ${name} }
spec: { fleet: ${fleet}, users: ${users}, match: { hosts: [${name}.localhost] } }
`;

const badFleet = `---
apiVersion: drover.dev/v1alpha1
kind: Fleet
metadata: { name: bad }
spec:
  prods: 1
  version: v1
  app: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(exampleAppPath)}], healthPath: /healthz, env: { FAIL_RATE_v1: "0.5" } }
  warmup: { requests: 1 }
`;

const file =
  clustersFile(3) +
  badFleet +
  tenantDoc('shop-a', 'web', 100) +
  tenantDoc('shop-b', 'web', 200) +
  tenantDoc('t-small', 'web', 10) +
  tenantDoc('t-mid', 'web', 50) +
  tenantDoc('t-big', 'web', 500) +
  tenantDoc('bad-a', 'bad', 100);

describe('migrations on drover up (e2e)', { timeout: 600_000 }, () => {
  let up: UpRun;
  let edge = '';
  let legacyUrl = '';
  const agent = client({ connections: 48 });

  /** One request of a user on `host`: which side answered, the cookie, the status. */
  async function hit(host: string, cookie?: string): Promise<{ side: 'fleet' | 'legacy' | 'error'; status: number; cookie: string | undefined }> {
    const a = await get(agent, edge, '/', cookie ? { host, cookie } : { host });
    const set = a.headers['set-cookie'];
    const c = cookie ?? (typeof set === 'string' ? set : set?.[0])?.split(';')[0];
    const side = a.status !== 200 ? 'error' : a.headers['x-legacy'] === '1' ? 'legacy' : a.headers['x-prod'] !== undefined ? 'fleet' : 'error';
    return { side, status: a.status, cookie: c };
  }

  /** `n` new users (no cookie), 48 at a time: the share that landed on the fleet. */
  async function newUsers(host: string, n: number): Promise<{ fleet: number; errors: number }> {
    let next = 0;
    let fleet = 0;
    let errors = 0;
    await Promise.all(
      Array.from({ length: 48 }, async () => {
        while (next < n) {
          next++;
          const r = await hit(host);
          if (r.side === 'fleet') fleet++;
          else if (r.side === 'error') errors++;
        }
      }),
    );
    return { fleet: fleet / n, errors };
  }

  const migration = async (name: string): Promise<Migration> => (await up.store!.get('Migration', name))!;

  before(async () => {
    up = new UpRun(file, { args: ['--legacy-port', '0'] });
    await up.running(180_000);
    edge = /^edge: (http:\/\/127\.0\.0\.1:\d+)$/m.exec(up.output)?.[1] ?? '';
    legacyUrl = /^legacy: (http:\/\/127\.0\.0\.1:\d+) /m.exec(up.output)?.[1] ?? '';
    assert.ok(edge && legacyUrl, `drover up printed the edge and legacy URLs:\n${up.output}`);
  });
  after(async () => {
    await agent.close();
    if (up) {
      await up.stop();
      up.cleanup();
    }
  });

  it('percent mode, a good fleet: shares within ±3 % at each step, users stay on their side, zero failed requests', async () => {
    const hosts = ['shop-a.localhost', 'shop-b.localhost'];
    // Before: the hosts are served by the fleet; the migration starts by putting them on legacy.
    const start = await up.drover('migration', 'start', 'web', '--legacy', legacyUrl, '--tenants', 'shop-a,shop-b', '--steps', '10,50,100', '--bake', '4s', '--name', 'web-mig');
    assert.match(start.stdout, /migration\.drover\.dev\/web-mig created/);

    // Users with a cookie, cycling for the whole migration: nobody fails, nobody goes back to legacy.
    const users: { host: string; cookie: string | undefined; fleetSince: boolean }[] = Array.from({ length: 40 }, (_v, i) => ({ host: hosts[i % 2]!, cookie: undefined, fleetSince: false }));
    let failed = 0;
    let backToLegacy = 0;
    let requests = 0;
    let stop = false;
    const loop = (async () => {
      while (!stop) {
        await Promise.all(
          users.map(async (u) => {
            const r = await hit(u.host, u.cookie);
            requests++;
            u.cookie ??= r.cookie;
            if (r.side === 'error') failed++;
            if (r.side === 'fleet') u.fleetSince = true;
            else if (r.side === 'legacy' && u.fleetSince) backToLegacy++;
          }),
        );
      }
    })();

    try {
      for (const [step, weight] of [[0, 10], [1, 50]] as const) {
        await waitFor(`step ${step + 1} (${weight} %) baking`, async () => {
          const m = await migration('web-mig');
          return (m.status?.step === step && m.status.bakeStartedAt !== undefined) || undefined;
        }, { timeoutMs: 60_000, intervalMs: 100 });
        // Hold the weight while measuring, so the step cannot pass mid-sample.
        const paused = await up.drover('migration', 'pause', 'web-mig');
        assert.match(paused.stdout, /Paused/);
        const m = await migration('web-mig');
        assert.equal(m.status?.weight, weight);
        for (const host of hosts) {
          const s = await newUsers(host, SAMPLE);
          assert.equal(s.errors, 0);
          assert.ok(Math.abs(s.fleet - weight / 100) <= 0.03, `step ${step + 1} on ${host}: ${(s.fleet * 100).toFixed(1)} % of ${SAMPLE} new users on the fleet (want ${weight} ± 3)`);
        }
        await up.drover('migration', 'resume', 'web-mig');
      }
      const done = await waitFor('the migration succeeds', async () => {
        const m = await migration('web-mig');
        if (m.status?.phase === 'RolledBack' || m.status?.phase === 'Aborted') throw new Error(`migration ended ${m.status.phase}: ${m.status.message}`);
        return m.status?.phase === 'Succeeded' ? m : undefined;
      }, { timeoutMs: 90_000, intervalMs: 200 });
      assert.equal(done.status?.weight, 100);
    } finally {
      stop = true;
      await loop;
    }
    assert.ok(requests > 200, `users kept coming (${requests} requests)`);
    assert.equal(failed, 0, 'zero failed requests in a good migration');
    assert.equal(backToLegacy, 0, 'no user went from the fleet back to legacy');
    const after = await newUsers('shop-a.localhost', 200);
    assert.equal(after.fleet, 1, 'after success every user is on the fleet');
    const status = await up.drover('migration', 'status', 'web-mig');
    assert.match(status.stdout, /Phase: Succeeded/);
    const list = await up.drover('get', 'migrations');
    assert.match(list.stdout, /web-mig\s+web\s+percent\s+Succeeded\s+3\/3\s+100%/);
  });

  it('tenants mode: whole tenants move in risk order, then the migration succeeds', async () => {
    const plan = await up.drover('migration', 'plan', 'web', '--mode', 'tenants', '--tenants', 't-small,t-mid,t-big', '--steps', '10,100');
    assert.match(plan.stdout, /1\s+10 %\s+t-small\s+10\n/, plan.stdout);
    assert.match(plan.stdout, /2\s+100 %\s+t-mid,t-big\s+560/);
    await up.drover('migration', 'start', 'web', '--legacy', legacyUrl, '--mode', 'tenants', '--tenants', 't-small,t-mid,t-big', '--steps', '10,100', '--bake', '3s', '--name', 'web-tenants');
    await waitFor('step 1 baking', async () => {
      const m = await migration('web-tenants');
      return (m.status?.step === 0 && m.status.bakeStartedAt !== undefined) || undefined;
    }, { timeoutMs: 60_000, intervalMs: 100 });
    await up.drover('migration', 'pause', 'web-tenants');
    const [small, mid, big] = await Promise.all(['t-small', 't-mid', 't-big'].map((t) => newUsers(`${t}.localhost`, 300)));
    assert.equal(small!.fleet, 1, 't-small (fewest users) moved at step 1');
    assert.equal(mid!.fleet, 0, 't-mid waits: with it 60 of 560 users (10.7 %) would be more than the step\'s 10 %');
    assert.equal(big!.fleet, 0, 't-big still on legacy');
    await up.drover('migration', 'resume', 'web-tenants');
    // The gates need requests on the moved tenants' Prods (no news is not good news: they would pause).
    let stop = false;
    const traffic = (async () => {
      while (!stop) await Promise.all(['t-small', 't-mid', 't-big'].map((t) => newUsers(`${t}.localhost`, 30)));
    })();
    try {
      await waitFor('the tenants migration succeeds', async () => {
        const st = (await migration('web-tenants')).status;
        if (st?.phase === 'Paused' || st?.phase === 'RolledBack') throw new Error(`${st.phase}: ${st.message}`);
        return st?.phase === 'Succeeded' || undefined;
      }, { timeoutMs: 60_000, intervalMs: 200 });
    } finally {
      stop = true;
      await traffic;
    }
    assert.equal((await newUsers('t-big.localhost', 100)).fleet, 1);
  });

  it('a bad fleet version trips the gate: RolledBack, weight 0, every user back on legacy', async () => {
    await up.drover('migration', 'start', 'bad', '--legacy', legacyUrl, '--tenants', 'bad-a', '--steps', '50,100', '--bake', '3s', '--max-error-rate', '0.05', '--name', 'bad-mig');
    let stop = false;
    const traffic = (async () => {
      while (!stop) await newUsers('bad-a.localhost', 200);
    })();
    try {
      const m = await waitFor('the gate fails and the migration rolls back', async () => {
        const x = await migration('bad-mig');
        if (x.status?.phase === 'Succeeded') throw new Error('a bad fleet must not pass');
        return x.status?.phase === 'RolledBack' ? x : undefined;
      }, { timeoutMs: 90_000, intervalMs: 200 });
      assert.equal(m.status?.weight, 0);
      assert.match(m.status?.decisions.at(-1)?.reason ?? '', /error rate .* > 5\.00%/);
    } finally {
      stop = true;
      await traffic;
    }
    const after = await waitFor('every user on legacy', async () => {
      const s = await newUsers('bad-a.localhost', 300);
      return s.fleet === 0 ? s : undefined;
    }, { timeoutMs: 10_000, intervalMs: 100 });
    assert.equal(after.errors, 0, 'legacy serves them all');
    const events = await up.drover('describe', 'migration', 'bad-mig');
    assert.match(events.stdout, /GateFailed/);
  });
});
