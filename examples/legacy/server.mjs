#!/usr/bin/env node
// The example legacy backend `drover up` starts next to the fleet: what users are on before a Migration
// moves them onto the fleet (docs: README "Things to try", examples/drover-up.yaml). Plain Node.
//
//   GET  /         → {"backend":"legacy","tenant"}  and header `x-legacy: 1`
//   GET  /healthz  → 200 "ok"
//
// Env: PORT (required); FAIL_RATE (0–1) answers that share of requests other than /healthz with 500;
// LATENCY_MS adds a delay to each answer (to try the latency gate's ratio to the legacy side).
import { createServer } from 'node:http';

const port = Number(process.env.PORT ?? 0);
const failRate = Number(process.env.FAIL_RATE ?? 0);
const latencyMs = Number(process.env.LATENCY_MS ?? 0);

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  if (url.pathname === '/healthz') {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    return;
  }
  const answer = () => {
    if (failRate > 0 && Math.random() < failRate) {
      res.writeHead(500, { 'content-type': 'application/json', 'x-legacy': '1' }).end(JSON.stringify({ error: 'injected failure', backend: 'legacy' }) + '\n');
      return;
    }
    const tenant = req.headers['x-drover-tenant'] ?? req.headers.host ?? '';
    res.writeHead(200, { 'content-type': 'application/json', 'x-legacy': '1' }).end(JSON.stringify({ backend: 'legacy', tenant }) + '\n');
  };
  if (latencyMs > 0) setTimeout(answer, latencyMs);
  else answer();
});

server.listen(port, '127.0.0.1', () => {
  const addr = server.address();
  process.stdout.write(`legacy backend listening on http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : port}\n`);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => server.close(() => process.exit(0)));
