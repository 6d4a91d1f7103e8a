/**
 * `HaproxyProcess` against a real haproxy: start/stop leave no process behind, a refused config is a clear
 * error, a reload under steady load drops no request and keeps what HAProxy knows about the Prods' health.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { TrafficPlanSpec } from '../../../src/api/kinds/traffic-plan.js';
import { findHaproxy, HaproxyProcess, renderHaproxyConfig } from '../../../src/dataplanes/haproxy/index.js';
import { DroverError } from '../../../src/errors.js';
import { client, endpoint, get, plan } from '../../conformance/edge/harness.js';
import { waitFor } from '../../helpers/wait-for.js';
import { startUpstream, type UpstreamServer } from '../../conformance/edge/upstream.js';
import { freePort } from '../../../src/drivers/local/net.js';


const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** A request on a new connection (Connection: close), so each one goes through the listener. */
function freshGet(base: string): Promise<{ status: number; upstream: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = http.get(base + '/', { agent: false, headers: { connection: 'close' } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, upstream: res.headers['x-upstream'] as string | undefined }));
    });
    req.on('error', reject);
  });
}

it('a missing haproxy binary is a clear error that says how to install it', () => {
  assert.throws(
    () => new HaproxyProcess({ binary: '/nonexistent/haproxy' }),
    (e: unknown) => e instanceof DroverError && e.code === 'DROVER_E_UNAVAILABLE' && /haproxy binary not found/.test(e.message) && /apt-get install haproxy/.test(e.fix ?? ''),
    'DROVER_E_UNAVAILABLE with an install hint',
  );
});

const haproxy = findHaproxy();
describe('HaproxyProcess', { skip: haproxy === undefined ? 'haproxy binary missing: apt-get install haproxy (scripts/test.mjs installs it when run as root, as in CI)' : false }, () => {
  const ups: UpstreamServer[] = [];
  let u1: UpstreamServer;
  let u2: UpstreamServer;
  const procs: HaproxyProcess[] = [];
  before(async () => {
    u1 = await startUpstream('u1');
    u2 = await startUpstream('u2');
    ups.push(u1, u2);
  });
  after(async () => {
    for (const p of procs) await p.stop();
    for (const u of ups) await u.close();
  });

  /** u1 only (dial 100, u2 in a dial-0 group), or the other way round. */
  const planOn = (which: 'u1' | 'u2', revision: number): TrafficPlanSpec =>
    plan({
      revision,
      endpoints: [endpoint('u1', u1.url, 'tokyo'), endpoint('u2', u2.url, 'osaka')],
      groups: [
        { domain: 'tokyo', trafficDial: which === 'u1' ? 100 : 0, endpoints: [{ prod: 'u1', weight: 1 }] },
        { domain: 'osaka', trafficDial: which === 'u2' ? 100 : 0, endpoints: [{ prod: 'u2', weight: 1 }] },
      ],
    });

  const started = async (p: TrafficPlanSpec) => {
    const proc = new HaproxyProcess();
    procs.push(proc);
    const port = await freePort();
    const render = (x: TrafficPlanSpec) => renderHaproxyConfig(x, { listen: { host: '127.0.0.1', port }, stateFile: proc.stateFile });
    await proc.start(render(p));
    return { proc, base: `http://127.0.0.1:${port}`, render };
  };

  it('starts, serves, and stops without leaving a process or its temp dir behind', async () => {
    const { proc, base } = await started(planOn('u1', 1));
    assert.equal((await freshGet(base)).upstream, 'u1');
    const pids = (await proc.procs()).map((p) => p.pid);
    assert.equal(pids.length, 2, 'one master, one worker');
    await proc.stop();
    assert.deepEqual(pids.filter(alive), [], 'master and worker are gone');
    assert.equal(existsSync(proc.dir), false, 'temp dir removed');
  });

  it('a config HAProxy refuses is DROVER_E_INVALID with its alert, at start and at reload (the running one keeps serving)', async () => {
    const bad = new HaproxyProcess();
    procs.push(bad);
    await assert.rejects(
      bad.start('global\n  no-such-keyword 1\n'),
      (e: unknown) => e instanceof DroverError && e.code === 'DROVER_E_INVALID' && /unknown keyword 'no-such-keyword'/.test(e.message),
      'start refuses the config',
    );
    assert.equal(bad.pid, undefined, 'nothing was started');
    const { proc, base, render } = await started(planOn('u1', 1));
    await assert.rejects(proc.reload(render(planOn('u2', 2)).replace('balance roundrobin', 'balance no-such-algorithm')), (e: unknown) => e instanceof DroverError && e.code === 'DROVER_E_INVALID', 'reload refuses it');
    assert.equal((await freshGet(base)).upstream, 'u1', 'the old config still serves');
    await proc.stop();
  });

  it('a reload under steady load (~200 req/s, keep-alive and new connections) drops no request', async () => {
    const { proc, base, render } = await started(planOn('u1', 1));
    const agent = client({ connections: 8 });
    const seen = new Map<string, number>();
    const errors: string[] = [];
    let total = 0;
    const t0 = Date.now();
    const durationMs = 6000;
    const rate = 200;
    const worker = async (w: number, workers: number) => {
      for (let i = 0; ; i++) {
        const due = t0 + ((i * workers + w) * 1000) / rate;
        if (due - t0 >= durationMs) return;
        const wait = due - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        try {
          // One in four on a new connection: the listener must be there through every reload.
          const a = i % 4 === 0 ? await freshGet(base) : await get(agent, base, '/');
          total++;
          if (a.status !== 200) errors.push(`status ${a.status}`);
          else seen.set(a.upstream ?? '?', (seen.get(a.upstream ?? '?') ?? 0) + 1);
        } catch (e) {
          total++;
          errors.push(String(e));
        }
      }
    };
    const reloads: number[] = [];
    const reloader = (async () => {
      for (let r = 1; r <= 5; r++) {
        await new Promise((res) => setTimeout(res, 1000));
        const s = Date.now();
        await proc.reload(render(planOn(r % 2 === 1 ? 'u2' : 'u1', r + 1)));
        reloads.push(Date.now() - s);
      }
    })();
    await Promise.all([...Array.from({ length: 10 }, (_, w) => worker(w, 10)), reloader]);
    console.log(`# reload under load: ${total} requests, ${errors.length} errors, reloads took ${reloads.join(', ')} ms; answers ${JSON.stringify([...seen])}`);
    assert.deepEqual(errors.slice(0, 5), [], `no request dropped (${errors.length} of ${total})`);
    assert.ok(total >= 1000, `steady load (${total} requests)`);
    assert.ok((seen.get('u1') ?? 0) > 100 && (seen.get('u2') ?? 0) > 100, `both plans served: ${JSON.stringify([...seen])}`);
    assert.equal(reloads.length, 5, 'five reloads');
    // The last plan (u2) is what new connections get; old workers leave once their clients are gone.
    for (let i = 0; i < 20; i++) assert.equal((await freshGet(base)).upstream, 'u2', 'new connections follow the last plan');
    await agent.close();
    await waitFor('old workers to exit', async () => (await proc.procs()).every((p) => !p.old), { timeoutMs: 10_000 });
    await proc.stop();
  });

  it('a reload keeps what HAProxy knows about health: a down Prod stays down in the new worker', async () => {
    const p = plan({
      endpoints: [endpoint('u1', u1.url, 'tokyo'), endpoint('u2', u2.url, 'osaka')],
      groups: [{ domain: 'tokyo', trafficDial: 100, endpoints: [{ prod: 'u1', weight: 1 }, { prod: 'u2', weight: 1 }] }],
      healthCheck: { path: '/healthz', intervalMs: 100, timeoutMs: 200, unhealthyThreshold: 1, healthyThreshold: 3 },
    });
    const { proc, base, render } = await started(p);
    const state = async (s: string) => (await proc.serverStates()).find((x) => x.server === s);
    try {
      u2.healthy = false;
      await waitFor('u2 down at HAProxy', async () => (await state('u2'))?.up === false, { timeoutMs: 5000 });
      await proc.reload(render({ ...p, revision: 2 }));
      assert.equal((await state('u2'))?.up, false, 'still down right after the reload, not optimistically up');
      for (let i = 0; i < 20; i++) assert.equal((await freshGet(base)).upstream, 'u1', 'the reloaded worker sends nothing to the down Prod');
    } finally {
      u2.healthy = true;
    }
    await waitFor('u2 back up after healthyThreshold checks', async () => (await state('u2'))?.up === true, { timeoutMs: 5000 });
    await proc.stop();
  });
});
