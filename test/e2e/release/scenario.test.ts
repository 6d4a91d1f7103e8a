/**
 * The talk's release scenario end to end, with real processes (`drover up`: control plane, three local
 * clusters as agent processes running the example app, the edge), real HTTP traffic through the edge,
 * and a real Prometheus scraping the edge for the PromQL gate.
 *
 * 1. bad v2 (FAIL_RATE_v2=0.5): the first wave (the test Prod) fails its gate, the release rolls back,
 *    and tenants outside the gate's budget (every tenant but the test tenant) see no error at all.
 *    Measured: time from the failed gate to every affected tenant served by a v1 Prod again.
 * 2. good v2: waves in risk order, the whole fleet ends on v2, zero failed requests.
 *    Measured: release time beyond the sum of bake times; failed requests.
 * 3. PromQL gate: a v3 release whose gate queries Prometheus for the wave's 5xx rate passes.
 *
 * Skips loudly when the `prometheus` binary is missing. Interface (documented CLI): `drover up FILE --data DIR --port 0
 * --edge-port 0 [--prometheus-url URL]` prints the API URL, the edge URL and the edge admin URL on
 * stdout (`API:  URL`, `edge: URL`, `edge admin: URL`) and writes the CLI config under $HOME;
 * `drover release start|status`, `drover get … -o json`.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Agent, request } from 'undici';
import type { Prod } from '../../../src/api/kinds/prod.js';
import type { Release } from '../../../src/api/kinds/release.js';
import { freePort } from '../../../src/drivers/local/net.js';
import { waitFor, type WaitOptions } from '../../helpers/wait-for.js';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../../..');
const BAKE_S = 4;
// Requests come from several loopback source addresses (to 127.0.0.1 only): the edge's default affinity
// hashes the client IP, so a single source would pin each redundant tenant to one of its two Prods and the
// other Prod's wave would see no traffic (inconclusive gate → pause, as designed).
const SOURCES = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4'].map((localAddress) => new Agent({ localAddress }));

const PROMETHEUS = ['prometheus', '/usr/bin/prometheus'].find((b) => spawnSync(b, ['--version'], { stdio: 'ignore' }).status === 0);
const skip = PROMETHEUS ? false : 'SKIPPED: the `prometheus` binary is missing — install the Debian package "prometheus"';
if (skip) console.warn(`\n!!! test/e2e/release/scenario.test.ts ${skip}\n`);


/** Thrown inside a `waitFor` check to stop waiting at once (a terminal state that will not change). */
class Stop extends Error {}

/** This journey runs real processes: waits are long, poll gently, and a `Stop` ends them at once. */
const patient: WaitOptions = { timeoutMs: 60_000, intervalMs: 200, retryIf: (e) => !(e instanceof Stop) };

interface Sample {
  at: number;
  tenant: string;
  status: number;
  version: string;
  prod: string;
}

describe('release scenario (real processes)', { skip, timeout: 600_000 }, () => {
  let up: ChildProcess | undefined;
  let prom: ChildProcess | undefined;
  let dir = '';
  let edgeUrl = '';
  let adminUrl = '';
  let upOut = '';
  const env: NodeJS.ProcessEnv = { ...process.env };
  const samples: Sample[] = [];
  let loadOn = true;
  const loops: Promise<void>[] = [];
  // Rates (requests/s) high enough that every wave's new Prods see the gate's minimum of 20 requests
// within one bake, even a Prod that serves half of one redundant tenant.
  const tenants = { qa: 20, tiny: 12, r1: 20, r2: 20, n1: 12, n2: 12, n3: 12 } as const;

  const drover = async (...args: string[]) => (await run(process.execPath, [join(root, 'bin/drover.js'), ...args], { env, cwd: dir })).stdout;
  const getJson = async <T>(...args: string[]) => JSON.parse(await drover('get', ...args, '-o', 'json')) as T;
  const release = (name: string) => getJson<Release>('release', name);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'drover-release-e2e-'));
    env.HOME = dir;
    const promPort = await freePort();
    up = spawn(process.execPath, [join(root, 'bin/drover.js'), 'up', join(here, 'scenario.yaml'), '--data', join(dir, 'data'), '--port', '0', '--edge-port', '0', '--prometheus-url', `http://127.0.0.1:${promPort}`], {
      env,
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    up.stdout?.on('data', (b: Buffer) => (upOut += b.toString()));
    up.stderr?.on('data', (b: Buffer) => (upOut += b.toString()));
    const url = (label: RegExp) => label.exec(upOut)?.[1];
    const api = await waitFor('`drover up` to print its URLs', async () => url(/api[^\n]*?(http:\/\/127\.0\.0\.1:\d+)/i), { ...patient, timeoutMs: 60_000 });
    edgeUrl = await waitFor('the edge URL', async () => url(/^edge:[^\n]*?(http:\/\/127\.0\.0\.1:\d+)/im), patient);
    adminUrl = await waitFor('the edge admin URL', async () => url(/edge admin[^\n]*?(http:\/\/127\.0\.0\.1:\d+)/i), patient);
    env.DROVER_SERVER = api;

    writeFileSync(
      join(dir, 'prometheus.yml'),
      `global: { scrape_interval: 1s, evaluation_interval: 1s }\nscrape_configs:\n  - job_name: edge\n    static_configs: [{ targets: ['${new URL(adminUrl).host}'] }]\n`,
    );
    prom = spawn(PROMETHEUS!, [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'prom')}`, `--web.listen-address=127.0.0.1:${promPort}`], { stdio: 'ignore' });

    await waitFor(
      'six Ready Prods on v1 and every tenant assigned',
      async () => {
        const prods = (await getJson<{ items: Prod[] }>('prods')).items.filter((p) => !p.spec.retire);
        const ts = (await getJson<{ items: { status?: { prods?: string[] } }[] }>('tenants')).items;
        return prods.length === 6 && prods.every((p) => p.status?.phase === 'Ready') && ts.every((t) => (t.status?.prods?.length ?? 0) > 0) ? true : undefined;
      },
      { ...patient, timeoutMs: 120_000 },
    );

    // Steady traffic per tenant through the edge (pacing, not synchronisation).
    for (const [tenant, rps] of Object.entries(tenants)) {
      loops.push(
        (async () => {
          for (let i = 0; loadOn; i++) {
            const at = Date.now();
            try {
              // undici's request, not fetch: fetch does not let a caller set the Host header.
              const res = await request(`${edgeUrl}/`, { dispatcher: SOURCES[i % SOURCES.length], headers: { host: `${tenant}.shop.test` }, headersTimeout: 5000, bodyTimeout: 5000 });
              const body = (await res.body.json().catch(() => ({}))) as { version?: string; prod?: string };
              samples.push({ at, tenant, status: res.statusCode, version: body.version ?? '', prod: body.prod ?? '' });
            } catch {
              samples.push({ at, tenant, status: 0, version: '', prod: '' });
            }
            await new Promise((r) => setTimeout(r, Math.max(0, 1000 / rps - (Date.now() - at))));
          }
        })(),
      );
    }
    await waitFor('traffic on every tenant', async () => (Object.keys(tenants).every((t) => samples.some((s) => s.tenant === t && s.status === 200)) ? true : undefined), patient);
  });

  after(async () => {
    loadOn = false;
    await Promise.all(loops);
    for (const p of [prom, up]) {
      if (p && p.exitCode === null && p.signalCode === null) {
        const exited = new Promise((r) => p.once('exit', r));
        p.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
        if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
      }
    }
    await Promise.all(SOURCES.map((a) => a.close()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('bad v2: the first gate fails, one-step rollback, no error outside the gate budget', async () => {
    const t0 = Date.now();
    await drover('release', 'start', 'shop', '--version', 'v2', '--name', 'bad', '--bake', `${BAKE_S}s`, '--max-parallel', '2', '--env', 'FAIL_RATE_v2=0.5');
    const r = await waitFor('the bad release to roll back', async () => {
      const x = await release('bad');
      if (x.status?.phase === 'Paused' || x.status?.phase === 'Succeeded' || x.status?.phase === 'Failed') throw new Stop(`bad release ${x.status.phase}: ${JSON.stringify(x.status.decisions.slice(-3))}`);
      return x.status?.phase === 'RolledBack' ? x : undefined;
    }, { ...patient, timeoutMs: 120_000 });
    const waves = r.status?.waves ?? [];
    assert.equal(waves[0]?.riskClass, 'test');
    assert.equal(waves[0]?.state, 'RolledBack');
    assert.ok(waves.slice(1).every((w) => w.state === 'Pending'), 'no later wave started');
    const order = waves.map((w) => ['test', 'fewUsers', 'redundant', 'nonRedundant'].indexOf(w.riskClass));
    assert.deepEqual(order, [...order].sort((a, b) => a - b), 'waves in risk order');
    const failedAt = Date.parse(r.status?.decisions.find((d) => d.action === 'GatesFailed')?.time ?? '');

    // Affected tenants: those that got v2 answers; rolled back = every later answer from v1.
    const affected = [...new Set(samples.filter((s) => s.at >= t0 && s.version === 'v2').map((s) => s.tenant))];
    assert.deepEqual(affected, ['qa'], 'only the test tenant ever reached v2');
    await waitFor('a v1 answer for every affected tenant after the rollback', async () =>
      affected.every((t) => samples.some((s) => s.tenant === t && s.at > failedAt && s.version === 'v1')) ? true : undefined,
      patient,
    );
    const servedAt = Math.max(
      ...affected.map((t) => {
        const later = samples.filter((s) => s.tenant === t && s.at >= failedAt);
        const lastBad = later.filter((s) => s.version !== 'v1').at(-1)?.at ?? failedAt;
        return lastBad;
      }),
    );
    const rollbackMs = Math.max(0, servedAt - failedAt);
    console.log(`[release-e2e] failed gate → affected tenants on v1: ${rollbackMs} ms (target < 1000)`);
    assert.ok(rollbackMs < 1000, `rollback took ${rollbackMs} ms`);

    const outside = samples.filter((s) => s.at >= t0 && s.tenant !== 'qa' && s.status !== 200);
    assert.equal(outside.length, 0, `errors outside the gate budget: ${JSON.stringify(outside.slice(0, 5))}`);
  });

  it('good v2: waves in risk order, the whole fleet on v2, zero failed requests', async () => {
    const t0 = Date.now();
    const from = samples.length;
    await drover('release', 'start', 'shop', '--version', 'v2', '--name', 'good', '--bake', `${BAKE_S}s`, '--max-parallel', '2');
    const r = await waitFor('the good release to succeed', async () => {
      const x = await release('good');
      if (x.status?.phase === 'RolledBack' || x.status?.phase === 'Failed' || x.status?.phase === 'Paused') throw new Stop(`good release ${x.status.phase}: ${JSON.stringify(x.status.decisions.slice(-3))}`);
      return x.status?.phase === 'Succeeded' ? x : undefined;
    }, { ...patient, timeoutMs: 300_000 });
    const elapsed = Date.now() - t0;
    const waves = r.status?.waves ?? [];
    assert.ok(waves.every((w) => w.state === 'Passed'));
    // A wave whose Prods shared a cluster with one free slot built a successor in another domain; the fleet
    // controller then spreads the fleet back (one more successor, with takeover), so wait for it to settle.
    let all: Prod[] = [];
    await waitFor('the fleet to settle on six Prods on v2', async () => {
      all = (await getJson<{ items: Prod[] }>('prods')).items;
      return all.length === 6 && all.every((p) => !p.spec.retire && p.spec.version === 'v2' && p.status?.version === 'v2' && p.status.phase === 'Ready');
    }, patient).catch((e: Error) => {
      const show = all.map((p) => ({ name: p.metadata.name, cluster: p.spec.cluster, version: p.spec.version, replaces: p.spec.replaces, retire: p.spec.retire, phase: p.status?.phase }));
      throw new Error(`${e.message}\nProds: ${JSON.stringify(show)}`);
    });
    const failed = samples.slice(from).filter((s) => s.status !== 200);
    const overhead = elapsed - waves.length * BAKE_S * 1000;
    console.log(`[release-e2e] good release: ${waves.length} waves in ${elapsed} ms, ${overhead} ms beyond ${waves.length}×${BAKE_S}s bake; failed requests ${failed.length}/${samples.length - from}`);
    assert.equal(failed.length, 0, `failed requests during a good release: ${JSON.stringify(failed.slice(0, 5))}`);
  });

  it('PromQL gate against Prometheus scraping the edge', async () => {
    await drover(
      'release', 'start', 'shop', '--version', 'v3', '--name', 'promql', '--bake', `${BAKE_S}s`, '--max-parallel', '3',
      '--promql', 'sum(rate(drover_edge_requests_total{prod=~"$prods",code=~"5.."}[30s])) or vector(0)', '--promql-max', '0',
    );
    // On timeout the error carries the release's last status: phase, waves and decisions say where it stood.
    let seen: Release['status'];
    const r = await waitFor('the PromQL-gated release to end', async () => {
      const x = await release('promql');
      seen = x.status;
      return ['Succeeded', 'RolledBack', 'Failed', 'Paused'].includes(x.status?.phase ?? '') ? x : undefined;
    }, { ...patient, timeoutMs: 300_000 }).catch((e: Error) => {
      throw new Error(`${e.message}\nlast status: ${JSON.stringify({ phase: seen?.phase, waves: seen?.waves, decisions: seen?.decisions.slice(-6) })}\ndrover up printed (tail): ${upOut.slice(-3000)}`);
    });
    assert.equal(r.status?.phase, 'Succeeded', JSON.stringify(r.status?.decisions.slice(-3)));
    assert.ok(r.status?.decisions.some((d) => d.action === 'GatesPassed' && /promql: "sum\(rate/.test(d.reason)), JSON.stringify(r.status?.decisions));
  });
});
