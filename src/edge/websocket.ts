/**
 * WebSocket (and other) upgrades: matched and picked like any request, then tunnelled byte for byte to
 * the Prod over a connection of its own (not the pool's), held until either side closes. Not retried:
 * an upgrade is not idempotent once the Prod has seen it.
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import { affinityOf } from './affinity.js';
import type { EdgeHooks } from './forward.js';
import { clientResponseHeaders, headerString, hostOnly, upstreamRequestHeaders } from './headers.js';
import { CONNECT_CODES } from './upstream.js';

/** The `upgrade` listener of the edge's server. */
export function upgradeHandler(hooks: EdgeHooks): (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void {
  return (req, socket, head) => {
    const table = hooks.table();
    const tenant = table.matchTenant({ host: hostOnly(req.headers.host), header: (n) => headerString(req.headers[n]) });
    const fleet = tenant?.fleet ?? table.defaultFleet;
    const extra: string[] = [];
    const affinity = fleet && tenant && tenant.assigned.length > 1 ? affinityOf(req, fleet.plan, extra) : undefined;
    const p = fleet ? table.pick(tenant, affinity, Math.random()) : undefined;
    socket.on('error', () => socket.destroy());
    if (!p || !fleet) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n' + JSON.stringify({ code: 'DROVER_E_UNAVAILABLE', message: 'no healthy Prod can take this connection' }));
      return;
    }
    const upgradeHeaders = upstreamRequestHeaders(req.rawHeaders, { clientIp: req.socket.remoteAddress ?? '', proto: 'http' }, true);
    if (!Array.isArray(upgradeHeaders)) {
      hooks.clientError('bad_request');
      const body = JSON.stringify({ code: 'DROVER_E_BAD_REQUEST', message: upgradeHeaders.clientError });
      socket.end(`HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
      return;
    }
    const up = p.endpoint;
    const start = performance.now();
    up.inflight++;
    const upReq = http.request({
      host: up.host,
      port: up.port,
      method: req.method,
      path: up.basePath + (req.url ?? '/'),
      headers: upgradeHeaders,
      setHost: false,
    });
    upReq.end();
    let released = false;
    const release = () => {
      if (!released) {
        released = true;
        up.release();
      }
    };
    upReq.on('upgrade', (upRes, upSocket, upHead) => {
      if (fleet.plan.addProdHeader) extra.push('x-drover-prod', up.name);
      let head1 = `HTTP/1.1 101 ${upRes.statusMessage ?? 'Switching Protocols'}\r\n`;
      const raw = upRes.rawHeaders;
      for (let i = 0; i + 1 < raw.length; i += 2) head1 += `${raw[i]}: ${raw[i + 1]}\r\n`;
      for (let i = 0; i + 1 < extra.length; i += 2) head1 += `${extra[i]}: ${extra[i + 1]}\r\n`;
      socket.write(head1 + '\r\n');
      if (upHead.length > 0) socket.write(upHead);
      if (head.length > 0) upSocket.write(head);
      upSocket.on('error', () => socket.destroy());
      socket.on('close', () => {
        upSocket.destroy();
        release();
      });
      upSocket.on('close', () => socket.destroy());
      upSocket.pipe(socket);
      socket.pipe(upSocket);
      hooks.record(up, 101, start, false);
    });
    upReq.on('response', (upRes) => {
      // The upstream refused the upgrade: relay its answer.
      let text = `HTTP/1.1 ${upRes.statusCode ?? 502} ${upRes.statusMessage ?? ''}\r\n`;
      const hdrs = clientResponseHeaders(upRes.rawHeaders, []);
      for (let i = 0; i + 1 < hdrs.length; i += 2) text += `${hdrs[i]}: ${hdrs[i + 1]}\r\n`;
      socket.write(text + 'Connection: close\r\n\r\n');
      upRes.pipe(socket);
      upRes.on('end', release);
    });
    upReq.on('error', (err: NodeJS.ErrnoException) => {
      release();
      if (CONNECT_CODES.has(err.code ?? '')) up.health.connectError();
      hooks.record(up, 502, start, true);
      socket.end('HTTP/1.1 502 Bad Gateway\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n' + JSON.stringify({ code: 'DROVER_E_BAD_GATEWAY', message: `Prod ${up.name} failed before answering the upgrade` }));
    });
    socket.on('close', () => upReq.destroy());
  };
}
