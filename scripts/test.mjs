#!/usr/bin/env node
// The one test command (README, .ci/run): installs what is missing, builds, typechecks, lints, runs
// every test file with Node's test runner. Usage: node scripts/test.mjs [--only unit|integration|e2e] [files...]
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ensureSystemDeps } from './system-deps.mjs';

const args = process.argv.slice(2);
const onlyIdx = args.indexOf('--only');
const only = onlyIdx >= 0 ? args.splice(onlyIdx, 2)[1] : undefined;
const files = args.length ? args : collect('test').filter((f) => !only || f.startsWith(join('test', only)));

function collect(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...collect(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

function step(title, cmd, cmdArgs) {
  console.log(`\n== ${title}`);
  execFileSync(cmd, cmdArgs, { stdio: 'inherit' });
}

ensureSystemDeps();
step('build', 'npx', ['tsc', '-p', 'tsconfig.build.json']);
if (!args.length) {
  step('typecheck', 'npx', ['tsc', '-p', 'tsconfig.json', '--noEmit']);
  step('lint', 'npx', ['eslint', '.']);
}

// The Kubernetes driver's real-cluster suites run against a real API server: the test kit beside the
// checkout (../shared/kubernetes), unless DROVER_TEST_KUBECONFIG already names a cluster (kind, EKS).
const kit = startKubeKit();
console.log(`\n== tests (${files.length} files)`);
// One file at a time: integration suites start real processes and this machine has 2 cores.
let status = 1;
try {
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-timeout=600000', '--test-reporter=spec', ...files],
    { stdio: 'inherit', env: { ...process.env, DROVER_TEST: '1', ...kit.env } },
  );
  status = r.status ?? 1;
} finally {
  kit.stop();
}
process.exit(status);

function startKubeKit() {
  const none = { env: {}, stop: () => {} };
  if (process.env.DROVER_TEST_KUBECONFIG) return none;
  const needsKube = files.some((f) => f.includes('kubernetes') || f.includes(join('e2e', 'kubernetes')));
  const kitRoot = resolve('..', 'shared', 'kubernetes');
  if (!needsKube) return none;
  if (!existsSync(join(kitRoot, 'start.sh'))) {
    console.warn(`\n!!! ${kitRoot}/start.sh not found: the real-API-server suites of the Kubernetes driver will SKIP\n`);
    return none;
  }
  const dir = mkdtempSync(join(tmpdir(), 'drover-kube-kit-'));
  console.log(`\n== kubernetes test kit (${kitRoot}) in ${dir}`);
  const r = spawnSync('bash', [join(kitRoot, 'start.sh'), dir], { stdio: 'inherit' });
  const stop = () => {
    spawnSync('bash', [join(kitRoot, 'stop.sh'), dir], { stdio: 'inherit' });
    rmSync(dir, { recursive: true, force: true });
  };
  if (r.status !== 0) {
    spawnSync('bash', [join(kitRoot, 'stop.sh'), dir], { stdio: 'inherit' });
    console.warn(`\n!!! the Kubernetes test kit did not start (exit ${r.status}; logs in ${dir}/logs): the real-API-server suites will SKIP\n`);
    return none;
  }
  return { env: { DROVER_TEST_KUBECONFIG: join(dir, 'kubeconfig'), DROVER_TEST_KUBE_KIT: dir }, stop };
}
