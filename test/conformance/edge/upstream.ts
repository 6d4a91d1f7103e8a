/**
 * A Prod stand-in for the conformance suite and benchmarks: answers every request with its own name
 * (`x-upstream` header and JSON body), `/healthz` with 200 (or 503 when told), `?delay=MS` waits,
 * `?status=N` answers N, and it echoes what it received (method, body size, forwarded headers; every
 * header with `?echo=headers`). `?hop=1` answers with a header its `Connection` names (`X-Hop`).
 * WebSocket-style upgrades are echoed back byte for byte.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface UpstreamServer {
  readonly name: string;
  readonly url: string;
  readonly server: http.Server;
  /** Requests answered (health checks excluded). */
  count: number;
  /** Health checks answered. */
  readonly checks: number;
  /** Requests whose connection closed before their body had arrived (the proxy aborted them). */
  readonly aborted: number;
  healthy: boolean;
  close(): Promise<void>;
}

export function upstreamHandler(name: string, state: { count: number; checks?: number; aborted?: number; healthy: boolean }) {
  return (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const url = req.url ?? '/';
    if (url === '/healthz') {
      state.checks = (state.checks ?? 0) + 1;
      res.writeHead(state.healthy ? 200 : 503, { 'content-type': 'text/plain' });
      res.end(state.healthy ? 'ok' : 'unhealthy');
      return;
    }
    state.count++;
    const q = new URL(url, 'http://x').searchParams;
    const delay = Number(q.get('delay') ?? 0);
    const status = Number(q.get('status') ?? 200);
    let bytes = 0;
    req.on('data', (c: Buffer) => (bytes += c.length));
    req.on('close', () => {
      if (!req.complete) state.aborted = (state.aborted ?? 0) + 1;
    });
    req.on('end', () => {
      const answer = () => {
        const body = JSON.stringify({
          upstream: name,
          method: req.method,
          bytes,
          xff: req.headers['x-forwarded-for'] ?? null,
          xfproto: req.headers['x-forwarded-proto'] ?? null,
          xfhost: req.headers['x-forwarded-host'] ?? null,
          host: req.headers.host ?? null,
          ...(q.get('echo') === 'headers' ? { headers: req.rawHeaders } : {}),
        });
        const hop = q.get('hop') === '1' ? { connection: 'keep-alive, X-Hop', 'x-hop': 'for the proxy only' } : {};
        res.writeHead(status, { 'content-type': 'application/json', 'x-upstream': name, 'content-length': Buffer.byteLength(body), ...hop });
        res.end(body);
      };
      if (delay > 0) setTimeout(answer, delay);
      else answer();
    });
  };
}

export async function startUpstream(name: string): Promise<UpstreamServer> {
  const state = { count: 0, checks: 0, aborted: 0, healthy: true };
  const server = http.createServer({ keepAliveTimeout: 60_000 }, upstreamHandler(name, state));
  server.on('upgrade', (req: http.IncomingMessage, socket, head: Buffer) => {
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: ${req.headers.upgrade ?? 'websocket'}\r\nConnection: Upgrade\r\nx-upstream: ${name}\r\n\r\n`);
    if (head.length > 0) socket.write(head);
    socket.pipe(socket);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const up: UpstreamServer = {
    name,
    url: `http://127.0.0.1:${port}`,
    server,
    get count() {
      return state.count;
    },
    set count(v: number) {
      state.count = v;
    },
    get checks() {
      return state.checks;
    },
    get aborted() {
      return state.aborted;
    },
    get healthy() {
      return state.healthy;
    },
    set healthy(v: boolean) {
      state.healthy = v;
    },
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
  return up;
}
