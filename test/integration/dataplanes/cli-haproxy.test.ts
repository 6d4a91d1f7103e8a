/**
 * `drover edge --data-plane haproxy` as a real process: HAProxy executes the plans from a plan file,
 * follows a plan change by hitless reload, and leaves no haproxy process behind on SIGTERM.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { findHaproxy } from '../../../src/dataplanes/haproxy/index.js';
import { endpoint, plan } from '../../conformance/edge/harness.js';
import { waitFor } from '../../helpers/wait-for.js';
import { startUpstream, type UpstreamServer } from '../../conformance/edge/upstream.js';
import { repoRoot, requireBuild, tempDir } from '../server/harness.js';
import { freePort } from '../../../src/drivers/local/net.js';

const haproxy = findHaproxy();


/** A request on its own connection, so it always meets the newest HAProxy worker. */
function freshGet(base: string): Promise<{ status: number; upstream: string | undefined; prod: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = http.get(base + '/', { agent: false, headers: { connection: 'close' } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, upstream: res.headers['x-upstream'] as string | undefined, prod: res.headers['x-drover-prod'] as string | undefined }));
    });
    req.on('error', reject);
  });
}

function planDoc(spec: ReturnType<typeof plan>): string {
  return stringify({ apiVersion: 'drover.dev/v1alpha1', kind: 'TrafficPlan', metadata: { name: spec.fleet }, spec });
}

describe('drover edge --data-plane haproxy (process)', { skip: haproxy ? false : 'haproxy is not installed (apt-get install haproxy; npm test installs it when run as root)' }, () => {
  let u1: UpstreamServer;
  let u2: UpstreamServer;
  before(async () => {
    u1 = await startUpstream('web-1');
    u2 = await startUpstream('web-2');
  });
  after(async () => {
    await u1.close();
    await u2.close();
  });

  it('serves the plan file through HAProxy, follows a change, and stops cleanly', async () => {
    requireBuild();
    const file = join(tempDir(), 'plan.yaml');
    const one = (prod: string, url: string, revision: number) =>
      plan({ revision, endpoints: [endpoint(prod, url, 'tokyo')], groups: [{ domain: 'tokyo', trafficDial: 100, endpoints: [{ prod, weight: 1 }] }] });
    writeFileSync(file, planDoc(one('web-1', u1.url, 1)));
    const port = await freePort();
    const proc = spawn(process.execPath, [join(repoRoot, 'bin', 'drover.js'), 'edge', '--data-plane', 'haproxy', '--plan-file', file, '--listen', `127.0.0.1:${port}`], {
      env: { ...process.env, DROVER_CONFIG: join(tempDir(), 'none.yaml') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    proc.stdout.on('data', (c: Buffer) => (out += c.toString()));
    proc.stderr.on('data', (c: Buffer) => (out += c.toString()));
    try {
      await waitFor(`the edge says it listens:\n${out}`, () => /listening on http/.test(out), { timeoutMs: 20_000 });
      assert.match(out, /data plane: haproxy, pid (\d+)/, 'names the data plane and the haproxy pid');
      const pid = Number(/pid (\d+)/.exec(out)![1]);
      const a = await freshGet(`http://127.0.0.1:${port}`);
      assert.equal(a.status, 200, `answered through HAProxy: ${out}`);
      assert.equal(a.upstream, 'web-1', 'the plan routes to web-1');
      assert.equal(a.prod, 'web-1', 'x-drover-prod names the Prod');

      writeFileSync(file, planDoc(one('web-2', u2.url, 2)));
      await waitFor(`requests follow the new plan:\n${out}`, async () => (await freshGet(`http://127.0.0.1:${port}`)).upstream === 'web-2', { timeoutMs: 15_000 });
      await waitFor(`logs the applied revision:\n${out}`, () => /applied 1 plan\(s\): web@2/.test(out), { timeoutMs: 10_000 });

      const exited = once(proc, 'exit');
      proc.kill('SIGTERM');
      const [code] = (await exited) as [number | null];
      assert.equal(code, 0, `clean exit:\n${out}`);
      const left = spawnSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' }).stdout.trim();
      let masterAlive = true;
      try {
        process.kill(pid, 0);
      } catch {
        masterAlive = false;
      }
      assert.equal(masterAlive, false, 'the haproxy master is gone');
      assert.equal(left, '', 'no haproxy worker left');
    } finally {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    }
  });

  it('refuses an unknown --data-plane with the fix', () => {
    requireBuild();
    const r = spawnSync(process.execPath, [join(repoRoot, 'bin', 'drover.js'), 'edge', '--data-plane', 'envoy', '--plan-file', '/nonexistent.yaml'], { encoding: 'utf8', env: { ...process.env, DROVER_CONFIG: join(tempDir(), 'none.yaml') } });
    assert.notEqual(r.status, 0, 'non-zero exit');
    assert.match(r.stderr, /--data-plane: "envoy" is not a data plane/, 'names the flag and the value');
    assert.match(r.stderr, /--data-plane haproxy/, 'says what is accepted');
  });
});
