/**
 * The edge's CPU time per proxied request, alone: the edge runs in this process (from src/, so two
 * checkouts can be compared), one upstream and the load generator (autocannon's CLI) are child
 * processes, and only this process's CPU time (`process.cpuUsage`) is counted. A light stand-in for
 * `edge-vs-peers.ts` when the machine is too busy to run that one; CPU per request hardly depends on load.
 *
 *   npx tsx bench/edge-cpu.ts [--seconds 10] [--connections 16] [--rounds 3] [--post 0|1]
 *
 * `--post 1` sends a 1 KiB POST body instead of GET (the buffered-body path).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join, resolve } from 'node:path';
import { numberArg as arg } from './lib/args.js';
import { startOneProdEdge } from './lib/one-prod-edge.js';

const seconds = arg('seconds', 10);
const connections = arg('connections', 16);
const rounds = arg('rounds', 3);
const post = arg('post', 0) === 1;
const root = resolve(import.meta.dirname, '..');

const edge = await startOneProdEdge();
const { url } = edge;

async function load(duration: number): Promise<number> {
  const extra = post ? ['-m', 'POST', '-b', 'x'.repeat(1024), '-H', 'content-type=text/plain'] : [];
  const child = spawn(join(root, 'node_modules', '.bin', 'autocannon'), ['-c', String(connections), '-d', String(duration), '-j', ...extra, url + '/'], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await once(child, 'exit');
  const r = JSON.parse(out) as { requests: { total: number }; non2xx: number; errors: number };
  if (r.non2xx + r.errors > 0) console.error(`warning: ${r.non2xx} non-2xx, ${r.errors} errors`);
  return r.requests.total;
}

await load(2); // warm-up: pool filled, JIT warm
const perReq: number[] = [];
for (let i = 0; i < rounds; i++) {
  const c0 = process.cpuUsage();
  const n = await load(seconds);
  const c = process.cpuUsage(c0);
  const us = (c.user + c.system) / n;
  perReq.push(us);
  console.log(`round ${i + 1}: ${n} requests, edge CPU ${us.toFixed(1)} µs/request`);
}
perReq.sort((a, b) => a - b);
// On a starved machine a round may get few requests, and the edge's fixed costs (timers, checks, GC)
// then inflate its share: the least of the rounds is the cleanest figure, the median is shown beside it.
console.log(`edge CPU per request (${post ? 'POST 1 KiB' : 'GET'}): min ${perReq[0]!.toFixed(1)} µs, median ${perReq[Math.floor(perReq.length / 2)]!.toFixed(1)} µs`);
await edge.stop();
