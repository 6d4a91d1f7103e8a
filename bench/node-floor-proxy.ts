/**
 * The floor for a Node.js proxy, as a reference beside the edge in `edge-vs-peers`: node:http server,
 * undici `Pool` per upstream, round robin, answers relayed as they come. No tenants, dials, health,
 * retries, metrics or X-Forwarded-*: what is left is what any proxy on Node pays per request, so
 * the edge's own features cost (edge − floor).
 *
 *   node --import tsx bench/node-floor-proxy.ts PORT UPSTREAM_URL...
 */
import http from 'node:http';
import { Pool, type Dispatcher } from 'undici';

const [portArg, ...upstreams] = process.argv.slice(2);
const pools = upstreams.map((u) => new Pool(u, { connections: 512, pipelining: 1, headersTimeout: 0, bodyTimeout: 0 }));
let next = 0;

const server = http.createServer({ keepAlive: true, keepAliveTimeout: 65_000, requestTimeout: 0 }, (req, res) => {
  const pool = pools[next++ % pools.length]!;
  let resumeUpstream: () => void = () => {};
  const handler: Dispatcher.DispatchHandler = {
    onConnect() {},
    onHeaders(status, raw, resume, statusText) {
      const headers: string[] = [];
      for (let i = 0; i + 1 < raw.length; i += 2) {
        const name = raw[i]!.toString('latin1');
        const lower = name.toLowerCase();
        if (lower !== 'connection' && lower !== 'keep-alive' && lower !== 'transfer-encoding') headers.push(name, raw[i + 1]!.toString('latin1'));
      }
      res.writeHead(status, statusText, headers);
      resumeUpstream = resume;
      return true;
    },
    onData(chunk) {
      if (res.write(chunk)) return true;
      res.once('drain', resumeUpstream);
      return false;
    },
    onComplete() {
      res.end();
    },
    onError() {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    },
  };
  pool.dispatch({ method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers as Record<string, string>, body: req.method === 'GET' || req.method === 'HEAD' ? null : req }, handler);
});
server.listen(Number(portArg), '127.0.0.1');
