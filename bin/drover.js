#!/usr/bin/env node
// Entry point: the CLI runs from the compiled output so that every process Drover starts
// (server, agents, edge, Prod workloads' supervisors) starts fast and without a TS loader.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
if (!existsSync(main)) {
  console.error('drover: dist/ is missing; run `npm install` (or `npm run build`) in the drover checkout first');
  process.exit(1);
}
const { run } = await import(main);
process.exitCode = await run(process.argv);
