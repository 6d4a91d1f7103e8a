#!/usr/bin/env node
// `npm run bench`: lists the benchmarks in bench/ (one line each, from their header comment);
// `npm run bench -- NAME [args…]` runs bench/NAME.ts with those arguments; `npm run bench -- --all` runs
// every one in turn with its defaults (long: minutes each; heavy ones start real processes). A benchmark
// that spawns the compiled CLI (its header names tsconfig.build.json or it reads dist/) gets a build first.
// Helpers that another benchmark starts (named inside another bench file) are listed apart, never run alone.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const dir = join(root, 'bench');
const files = readdirSync(dir).filter((f) => f.endsWith('.ts')).sort();
const sources = new Map(files.map((f) => [f, readFileSync(join(dir, f), 'utf8')]));

/** The first sentence of the file's leading doc comment, on one line. */
function summary(src) {
  const m = /^\s*\/\*\*([\s\S]*?)\*\//.exec(src);
  if (!m) return '';
  const para = m[1].split('\n').map((l) => l.replace(/^\s*\*\s?/, '').trim());
  const first = para.slice(para.findIndex((l) => l !== '')).join('\n').split('\n\n')[0].replace(/\s+/g, ' ');
  const sentence = /^(.*?\.)(\s|$)/.exec(first)?.[1] ?? first;
  return sentence.length > 110 ? `${sentence.slice(0, 107)}…` : sentence;
}
const isHelper = (f) => [...sources].some(([other, src]) => other !== f && (src.includes(`'${f}'`) || src.includes(`"${f}"`)));
const needsBuild = (src) => src.includes('tsconfig.build.json') || /['"]dist['"]/.test(src);
const benches = files.filter((f) => !isHelper(f));

function list() {
  console.log('Benchmarks (bench/README.md has the setup and the figures of every run):\n');
  for (const f of benches) console.log(`  ${basename(f, '.ts').padEnd(20)} ${summary(sources.get(f))}`);
  const helpers = files.filter(isHelper);
  if (helpers.length) console.log(`\nHelpers started by other benchmarks: ${helpers.map((f) => basename(f, '.ts')).join(', ')}`);
  console.log('\nRun one: npm run bench -- NAME [args…]    all, with defaults: npm run bench -- --all');
}

let built = false;
function run(file, args) {
  const src = sources.get(file);
  if (needsBuild(src) && !built) {
    console.log('== build (npx tsc -p tsconfig.build.json)');
    const b = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
    if (b.status !== 0) return b.status ?? 1;
    built = true;
  }
  console.log(`== bench/${file} ${args.join(' ')}`);
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', join('bench', file), ...args], { cwd: root, stdio: 'inherit' });
  return r.status ?? 1;
}

const [name, ...rest] = process.argv.slice(2);
if (name === undefined || name === '--list' || name === '-h' || name === '--help') {
  list();
} else if (name === '--all') {
  const failed = benches.filter((f) => run(f, rest) !== 0);
  if (failed.length) {
    console.error(`\nfailed: ${failed.join(', ')}`);
    process.exitCode = 1;
  }
} else {
  const file = files.find((f) => f === name || f === `${name}.ts` || basename(f, '.ts') === basename(name, '.ts'));
  if (!file) {
    console.error(`no benchmark "${name}" in bench/ (known: ${benches.map((f) => basename(f, '.ts')).join(', ')})`);
    process.exitCode = 2;
  } else {
    process.exitCode = run(file, rest);
  }
}
