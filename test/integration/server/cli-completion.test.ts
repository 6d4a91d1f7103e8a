/**
 * `drover completion bash|zsh|fish` and the hidden `drover __complete` behind them (issue 19 item 4):
 * the bash script parses, and completes commands, flags, kinds and object names read from a real server,
 * the last also through bash itself with the script sourced and `drover` on the PATH.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { bin, runCli, startServer, tempDir, type ServerProcess } from './harness.js';

const docs = `apiVersion: drover.dev/v1alpha1
kind: Fleet
metadata: { name: web }
spec: { prods: 0, version: v1, app: { command: node } }
---
apiVersion: drover.dev/v1alpha1
kind: Cluster
metadata: { name: tokyo }
spec: { provider: local, region: jp }
---
apiVersion: drover.dev/v1alpha1
kind: Cluster
metadata: { name: osaka }
spec: { provider: local, region: jp-west }
`;

describe('shell completion', () => {
  let server: ServerProcess;
  const dir = tempDir();
  before(async () => {
    server = await startServer({ dataDir: join(dir, 'data'), args: ['--no-controllers'] });
    const r = await runCli(['apply', '-f', '-'], { server, input: docs });
    assert.equal(r.code, 0, r.stderr);
  });
  after(async () => {
    await server?.stop('SIGKILL');
  });

  const complete = async (...words: string[]) => {
    const r = await runCli(['__complete', ...words], { server });
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.split('\n').filter(Boolean);
  };

  it('prints a bash script that bash accepts, and zsh and fish scripts', async () => {
    const bash = await runCli(['completion', 'bash']);
    assert.equal(bash.code, 0, bash.stderr);
    const file = join(dir, 'drover.bash');
    writeFileSync(file, bash.stdout);
    const check = spawnSync('bash', ['-n', file], { encoding: 'utf8' });
    assert.equal(check.status, 0, check.stderr);
    assert.match((await runCli(['completion', 'zsh'])).stdout, /^#compdef drover/);
    assert.match((await runCli(['completion', 'fish'])).stdout, /complete -c drover/);
    const bad = await runCli(['completion', 'tcsh']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /Allowed choices are bash, zsh, fish/);
  });

  it('__complete lists commands, subcommands, flags, kinds, object names and -o formats', async () => {
    assert.ok((await complete('')).includes('get'));
    assert.deepEqual(await complete('rel'), ['release']);
    assert.ok(!(await complete('')).includes('__complete'));
    assert.deepEqual((await complete('release', '')).sort(), ['abort', 'pause', 'plan', 'promote', 'resume', 'rollback', 'start', 'status']);
    assert.ok((await complete('get', '--')).includes('--selector'));
    assert.ok((await complete('get', '')).includes('clusters'));
    assert.deepEqual(await complete('get', 'fl'), ['fleets']);
    assert.deepEqual((await complete('get', 'clusters', '')).sort(), ['osaka', 'tokyo']);
    assert.deepEqual(await complete('describe', 'cluster', 't'), ['tokyo']);
    assert.deepEqual((await complete('cluster', 'drain', '')).sort(), ['osaka', 'tokyo']);
    assert.deepEqual(await complete('release', 'plan', ''), ['web']);
    assert.deepEqual((await complete('plan', '--fail-cluster', '')).sort(), ['osaka', 'tokyo']);
    assert.deepEqual(await complete('get', 'fleets', '-o', ''), ['wide', 'json', 'yaml', 'name']);
    assert.deepEqual(await complete('release', 'status', 'x', '-o', ''), ['json', 'yaml', 'name']);
  });

  it('bash completes object names through the sourced script', async () => {
    const path = join(dir, 'path');
    mkdirSync(path, { recursive: true });
    symlinkSync(bin, join(path, 'drover'));
    const script = (await runCli(['completion', 'bash'])).stdout;
    const r = spawnSync('bash', ['-c', `${script}\nCOMP_WORDS=(drover get clusters t); COMP_CWORD=3; _drover_complete; printf '%s\\n' "\${COMPREPLY[@]}"`], {
      encoding: 'utf8',
      env: { ...process.env, PATH: `${path}:${process.env.PATH ?? ''}`, DROVER_SERVER: server.url, DROVER_TOKEN: server.adminToken, DROVER_CONFIG: join(tmpdir(), 'drover-test-no-config.yaml') },
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'tokyo\n');
  });
});
