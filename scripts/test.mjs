#!/usr/bin/env node
// The one test command (README, .ci/run): installs what is missing, builds, typechecks, lints, runs
// every test file with Node's test runner. Usage: node scripts/test.mjs [--only unit|integration|e2e] [files...]
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
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
console.log(`\n== tests (${files.length} files)`);
// One file at a time: integration suites start real processes and this machine has 2 cores.
const r = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-timeout=600000', '--test-reporter=spec', ...files],
  { stdio: 'inherit', env: { ...process.env, DROVER_TEST: '1' } },
);
process.exit(r.status ?? 1);
