/**
 * PromQL gate against a REAL Prometheus (Debian package `prometheus`) on a loopback port, scraping a
 * prom-client endpoint served by this test. Skips loudly when the binary is missing.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Gauge, Registry } from 'prom-client';
import { evaluatePromQL } from '../../../src/release/gates/promql.js';
import { freePort } from '../../../src/drivers/local/net.js';
import { waitFor, type WaitOptions } from '../../helpers/wait-for.js';

const PROMETHEUS = ['/usr/bin/prometheus', 'prometheus'].find((b) => spawnSync(b, ['--version'], { stdio: 'ignore' }).status === 0);
const skip = PROMETHEUS ? false : 'SKIPPED: the `prometheus` binary is missing — install the Debian package "prometheus" (scripts/test.mjs does it as root)';
if (skip) console.warn(`\n!!! promql-gate.test.ts ${skip}\n`);


/** A real Prometheus takes its time to scrape. */
const slow: WaitOptions = { timeoutMs: 20_000, intervalMs: 100 };

describe('PromQL gate against a real Prometheus', { skip }, () => {
  let metrics: Server;
  let prom: ChildProcess | undefined;
  let dir = '';
  let promUrl = '';

  before(async () => {
    const registry = new Registry();
    const ratio = new Gauge({ name: 'drover_test_error_ratio', help: 'share of 5xx per Prod', labelNames: ['prod'], registers: [registry] });
    ratio.set({ prod: 'c-2-v2' }, 0.4);
    ratio.set({ prod: 'c-1-v2' }, 0);
    metrics = createServer((_req, res) => {
      void registry.metrics().then((body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body));
    });
    await new Promise<void>((r) => metrics.listen(0, '127.0.0.1', r));
    const target = `127.0.0.1:${(metrics.address() as AddressInfo).port}`;

    dir = mkdtempSync(join(tmpdir(), 'drover-prom-'));
    writeFileSync(
      join(dir, 'prometheus.yml'),
      `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: app\n    static_configs:\n      - targets: ['${target}']\n`,
    );
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    prom = spawn(PROMETHEUS!, [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], {
      stdio: 'ignore',
    });
    await waitFor('Prometheus to scrape the metrics endpoint', async () => {
      const r = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent('count(drover_test_error_ratio)')}`);
      const j = (await r.json()) as { data?: { result?: { value: [number, string] }[] } };
      return j.data?.result?.[0]?.value[1] === '2' ? true : undefined;
    }, slow);
  });

  after(async () => {
    if (prom && prom.exitCode === null) {
      const exited = new Promise((r) => prom!.once('exit', r));
      prom.kill('SIGTERM');
      await exited;
    }
    await new Promise<void>((r) => metrics.close(() => r()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const gate = { type: 'promql' as const, query: 'max(drover_test_error_ratio{prod=~"$prods"})', max: 0.1 };

  it('fails the wave whose Prods report too many errors', async () => {
    const r = await evaluatePromQL(gate, promUrl, ['c-2-v2']);
    assert.equal(r.outcome, 'fail', r.reason);
    assert.match(r.reason, /= 0\.4 > 0\.1/);
  });

  it('passes a healthy wave', async () => {
    const r = await evaluatePromQL(gate, promUrl, ['c-1-v2']);
    assert.equal(r.outcome, 'pass', r.reason);
  });

  it('is inconclusive with no data, a bad query, or Prometheus unreachable', async () => {
    assert.equal((await evaluatePromQL(gate, promUrl, ['nope'])).outcome, 'inconclusive');
    const bad = await evaluatePromQL({ ...gate, query: 'max(' }, promUrl, ['c-1-v2']);
    assert.equal(bad.outcome, 'inconclusive');
    assert.match(bad.reason, /Prometheus error/);
    const down = await evaluatePromQL(gate, 'http://127.0.0.1:1', ['c-1-v2']);
    assert.equal(down.outcome, 'inconclusive');
    assert.match(down.reason, /unreachable/);
  });
});
