/**
 * Slow-loris against the edge: N connections each trickle a request body at 1 byte/s to one Prod (a
 * child process), while a probe sends one GET every 50 ms to the same Prod with a 2 s deadline. Reports
 * the probes' p50/p99 and the share that missed the deadline, and how the slow clients were answered.
 *
 *   npx tsx bench/edge-slow-clients.ts [--slow 600] [--seconds 15] [--body 1000]
 *
 * The edge runs in this process with its defaults (512 connections per Prod), as `drover edge` would.
 */
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { request, Agent } from 'undici';
import { numberArg as arg } from './lib/args.js';
import { startOneProdEdge } from './lib/one-prod-edge.js';

const slowCount = arg('slow', 600);
const seconds = arg('seconds', 15);
const bodyBytes = arg('body', 1000);

const edge = await startOneProdEdge();
const { url } = edge;
const port = Number(new URL(url).port);

const slowAnswers = new Map<string, number>();
const sockets: net.Socket[] = [];
for (let i = 0; i < slowCount; i++) {
  const s = net.connect(port, '127.0.0.1');
  s.setEncoding('latin1');
  let got = '';
  s.on('data', (d: string) => {
    if (got === '') {
      const status = /^HTTP\/1\.1 (\d{3})/.exec(d)?.[1] ?? '?';
      slowAnswers.set(status, (slowAnswers.get(status) ?? 0) + 1);
    }
    got += d;
  });
  s.on('error', () => {});
  // Written at once (queued until connected), so the trickle always comes after the head.
  s.write(`POST / HTTP/1.1\r\nHost: shop.test\r\nContent-Length: ${bodyBytes}\r\n\r\n`);
  sockets.push(s);
}
const trickle = setInterval(() => {
  for (const s of sockets) if (s.writable) s.write('x');
}, 1000);

// Let the slow clients settle in before probing.
await new Promise((r) => setTimeout(r, 2000));
const agent = new Agent({ connections: 8 });
const lat: number[] = [];
let missed = 0;
let failed = 0;
const probes: Promise<void>[] = [];
const end = Date.now() + seconds * 1000;
while (Date.now() < end) {
  const t = performance.now();
  probes.push(
    request(url + '/', { dispatcher: agent, signal: AbortSignal.timeout(2000) })
      .then(async (r) => {
        await r.body.text();
        if (r.statusCode !== 200) failed++;
        lat.push(performance.now() - t);
      })
      .catch(() => {
        missed++;
      }),
  );
  await new Promise((r) => setTimeout(r, 50));
}
await Promise.all(probes);
clearInterval(trickle);
lat.sort((a, b) => a - b);
const q = (p: number) => (lat.length ? lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]!.toFixed(1) : '-');
const total = lat.length + missed;
console.log(`slow clients: ${slowCount} × ${bodyBytes}-byte bodies at 1 byte/s; probes: ${total} GETs, one per 50 ms, 2 s deadline, over ${seconds} s`);
console.log(`probe latency ms: p50 ${q(0.5)}, p99 ${q(0.99)}; missed the deadline: ${missed} (${((100 * missed) / Math.max(1, total)).toFixed(1)} %); non-200: ${failed}`);
console.log(`slow clients answered so far: ${JSON.stringify(Object.fromEntries(slowAnswers))}`);
for (const s of sockets) s.destroy();
await agent.close();
await edge.stop();
