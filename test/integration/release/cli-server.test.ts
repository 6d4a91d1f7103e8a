/**
 * `drover release …` and `drover cluster …` through a real `drover server` process (compiled dist/,
 * RemoteStore over HTTP), and the SUPPORT column of `drover get clusters`.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli, startServer, tempDir, type ServerProcess } from '../server/harness.js';

const docs = `apiVersion: drover.dev/v1alpha1
kind: Fleet
metadata: { name: web }
spec: { prods: 0, version: v1, app: { command: node } }
---
apiVersion: drover.dev/v1alpha1
kind: Cluster
metadata: { name: old-eks }
spec: { provider: eks, region: ap-northeast-1, version: "1.28" }
`;

describe('release and cluster commands against a real server', () => {
  let server: ServerProcess;
  const dir = tempDir();
  before(async () => {
    server = await startServer({ dataDir: join(dir, 'data') });
    writeFileSync(join(dir, 'docs.yaml'), docs);
    const r = await runCli(['apply', '-f', join(dir, 'docs.yaml')], { server });
    assert.equal(r.code, 0, r.stderr);
  });
  after(async () => {
    await server?.stop('SIGKILL');
  });

  it('start (with --version after the fleet), status, pause, abort', async () => {
    const plan = await runCli(['release', 'plan', 'web', '--version', 'v2'], { server });
    assert.equal(plan.code, 0, plan.stderr);
    assert.match(plan.stdout, /0 waves/);
    const start = await runCli(['release', 'start', 'web', '--version', 'v2', '--bake', '5s', '--max-parallel', '2'], { server });
    assert.equal(start.code, 0, start.stderr);
    assert.match(start.stdout, /release\.drover\.dev\/web-v2 created/);
    const pause = await runCli(['release', 'pause', 'web-v2'], { server });
    assert.equal(pause.code, 0, pause.stderr);
    const status = await runCli(['release', 'status', 'web-v2'], { server });
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /Release web-v2: fleet web/);
    const bad = await runCli(['release', 'abort', 'nope'], { server });
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /Release "nope" not found/);
  });

  it('cordon and uncordon; get clusters shows EKS support', async () => {
    const c = await runCli(['cluster', 'cordon', 'old-eks'], { server });
    assert.equal(c.code, 0, c.stderr);
    const got = await runCli(['get', 'clusters'], { server });
    assert.equal(got.code, 0, got.stderr);
    assert.match(got.stdout, /SUPPORT/);
    assert.match(got.stdout, /old-eks .*Cordoned.*ERROR unsupported/);
    const u = await runCli(['cluster', 'uncordon', 'old-eks'], { server });
    assert.equal(u.code, 0, u.stderr);
    assert.doesNotMatch((await runCli(['get', 'clusters'], { server })).stdout, /Cordoned/);
  });
});
