import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { LocalDriver } from '../../../src/drivers/local/local-driver.js';
import { groupMembers, isAlive } from '../../../src/drivers/local/process-table.js';
import { readState } from '../../../src/drivers/local/state-file.js';
import { exampleAppPath, fleet, prod } from '../../helpers/fixtures.js';
import { waitFor } from '../../helpers/wait-for.js';

const dirs: string[] = [];
const drivers: LocalDriver[] = [];
/** Every pid a test saw; `after` kills any that survived so a failing test leaves nothing behind. */
const seenPids = new Set<number>();

function stateDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'drover-local-'));
  dirs.push(d);
  return d;
}

async function open(dir: string, grace = 2000): Promise<LocalDriver> {
  const d = await LocalDriver.open({ stateDir: dir, stopGraceMs: grace, healthIntervalMs: 50, backoff: { baseMs: 50, capMs: 400, resetAfterMs: 10_000 } });
  drivers.push(d);
  return d;
}

function pidOf(dir: string, prod: string): number | undefined {
  const pid = readState(dir).find((r) => r.prod === prod)?.pid;
  if (pid !== undefined) seenPids.add(pid);
  return pid;
}

const app = fleet('web', { app: { command: process.execPath, args: [exampleAppPath], env: { GREETING: 'hi' } }, prods: 1, warmup: { requests: 2 } });

after(async () => {
  for (const d of drivers) for (const name of await d.list()) await d.retire(name);
  for (const pid of seenPids) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      /* gone, as it should be */
    }
  }
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('LocalDriver', () => {
  it('starts a workload with its environment, health-checks it, and retires it leaving no process', async () => {
    const dir = stateDir();
    const d = await open(dir);
    await d.apply(prod('web-a', { fleet: 'web', cluster: 'c1', version: 'v7' }), app);
    const obs = await waitFor('Running', async () => {
      const o = await d.observe('web-a');
      return o.state === 'Running' && o;
    });
    assert.match(obs.endpoint ?? '', /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(obs.version, 'v7');
    const body = (await (await fetch(`${obs.endpoint}/`, { headers: { 'x-drover-tenant': 'shop' } })).json()) as Record<string, string>;
    assert.deepEqual(body, { prod: 'web-a', fleet: 'web', version: 'v7', tenant: 'shop' });
    assert.deepEqual(await d.list(), ['web-a']);

    const pid = pidOf(dir, 'web-a');
    assert.ok(pid !== undefined && isAlive(pid));
    await d.retire('web-a');
    assert.equal(isAlive(pid), false);
    assert.deepEqual(groupMembers(pid), []);
    assert.deepEqual(await d.list(), []);
    assert.equal((await d.observe('web-a')).state, 'Absent');
    assert.deepEqual(readState(dir), []);
  });

  it('reports a missing command as Failed with the spawn error, and keeps retrying with backoff', async () => {
    const d = await open(stateDir());
    await d.apply(prod('bad-a', { fleet: 'bad', cluster: 'c1' }), fleet('bad', { app: { command: 'drover-no-such-command' }, prods: 1, warmup: { requests: 2 } }));
    const obs = await waitFor('two restarts', async () => {
      const o = await d.observe('bad-a');
      return o.restarts >= 2 && o;
    });
    assert.equal(obs.state, 'Failed');
    assert.match(obs.message ?? '', /^spawn drover-no-such-command ENOENT \(restart \d+ in \d+ms\)$/);
    await d.retire('bad-a');
  });

  it('explains a command that exits at once with its exit code and last stderr line; delays grow to the cap', async () => {
    const d = await open(stateDir());
    const started = Date.now();
    await d.apply(prod('crash-a', { fleet: 'crash', cluster: 'c1' }), fleet('crash', { app: { command: process.execPath, args: ['-e', 'console.error("config missing: DB_URL"); process.exit(3)'] }, prods: 1, warmup: { requests: 2 } }));
    const obs = await waitFor('four restarts', async () => {
      const o = await d.observe('crash-a');
      return o.restarts >= 4 && o.state === 'Failed' && o;
    });
    assert.equal(obs.state, 'Failed');
    assert.match(obs.message ?? '', /^exited with code 3 after \d+ms: config missing: DB_URL \(restart \d+ in (400|200)ms\)$/);
    // Backoff 50, 100, 200, 400: four restarts cannot happen sooner than 350 ms after the first start.
    assert.ok(Date.now() - started >= 350, 'restarts are spaced by the backoff');
    await d.retire('crash-a');
  });

  it('restarts a workload that dies, counting the restart', async () => {
    const dir = stateDir();
    const d = await open(dir);
    await d.apply(prod('web-b', { fleet: 'web', cluster: 'c1' }), app);
    await waitFor('Running', async () => (await d.observe('web-b')).state === 'Running');
    const pid = pidOf(dir, 'web-b')!;
    process.kill(pid, 'SIGKILL');
    const obs = await waitFor('running again', async () => {
      const o = await d.observe('web-b');
      return o.state === 'Running' && o.restarts === 1 && pidOf(dir, 'web-b') !== pid && o;
    });
    assert.equal(obs.restarts, 1);
    assert.equal((await fetch(`${obs.endpoint}/healthz`)).status, 200);
    await d.retire('web-b');
  });

  it('SIGKILLs a workload that ignores SIGTERM once the grace period is over, with its child processes', async () => {
    const dir = stateDir();
    const d = await open(dir, 300);
    // A shell leader with the app as its child: both must go, the leader ignoring SIGTERM.
    const stubborn = fleet('stubborn', { app: { command: 'sh', args: ['-c', `trap '' TERM; "${process.execPath}" "${exampleAppPath}" & while :; do sleep 0.1; done`] }, prods: 1, warmup: { requests: 2 } });
    await d.apply(prod('stub-a', { fleet: 'stubborn', cluster: 'c1' }), stubborn);
    await waitFor('Running', async () => (await d.observe('stub-a')).state === 'Running');
    const pid = pidOf(dir, 'stub-a')!;
    assert.ok(groupMembers(pid).length >= 2, 'shell and app share the workload group');
    const t0 = Date.now();
    await d.retire('stub-a');
    assert.ok(Date.now() - t0 >= 300, 'waited for the grace period');
    assert.deepEqual(groupMembers(pid), []);
  });

  it('re-adopts live workloads after a driver restart instead of starting duplicates', async () => {
    const dir = stateDir();
    const first = await open(dir);
    await first.apply(prod('web-c', { fleet: 'web', cluster: 'c1' }), app);
    const before = await waitFor('Running', async () => {
      const o = await first.observe('web-c');
      return o.state === 'Running' && o;
    });
    const pid = pidOf(dir, 'web-c')!;
    await first.close();
    assert.ok(isAlive(pid), 'close() leaves the workload running');

    const second = await open(dir);
    assert.deepEqual(await second.list(), ['web-c']);
    const after = await waitFor('adopted and healthy', async () => {
      const o = await second.observe('web-c');
      return o.state === 'Running' && o;
    });
    assert.equal(after.endpoint, before.endpoint);
    await second.apply(prod('web-c', { fleet: 'web', cluster: 'c1' }), app);
    assert.equal(pidOf(dir, 'web-c'), pid, 'same process, no duplicate');
    assert.deepEqual(groupMembers(pid), [pid]);

    // An adopted workload that dies is noticed by polling and restarted.
    process.kill(pid, 'SIGKILL');
    const again = await waitFor('restarted', async () => {
      const o = await second.observe('web-c');
      return o.state === 'Running' && o.restarts === 1 && o;
    });
    assert.match(again.endpoint ?? '', /^http:/);
    await second.retire('web-c');
    assert.deepEqual(readState(dir), []);
  });

  it('replaces a workload whose spec changed', async () => {
    const dir = stateDir();
    const d = await open(dir);
    await d.apply(prod('web-d', { fleet: 'web', cluster: 'c1' }), app);
    await waitFor('Running', async () => (await d.observe('web-d')).state === 'Running');
    const pid = pidOf(dir, 'web-d')!;
    await d.apply(prod('web-d', { fleet: 'web', cluster: 'c1', env: { FLAG: 'on' } }), app);
    await waitFor('Running again', async () => (await d.observe('web-d')).state === 'Running' && pidOf(dir, 'web-d') !== pid);
    assert.equal(isAlive(pid), false, 'the old process is gone');
    await d.retire('web-d');
  });
});
