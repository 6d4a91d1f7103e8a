#!/usr/bin/env node
// The example app every local Prod runs: plain Node, no dependencies, starts in a few milliseconds.
//
//   GET  /         → {"prod","fleet","version","tenant"}  (tenant: x-drover-tenant header, else Host)
//   GET  /healthz  → 200 "ok"
//   POST /echo     → the request body streamed back
//   GET  /ws       → WebSocket echo (RFC 6455: handshake, text/binary echo, ping → pong, close)
//
// Env: PORT (required), PROD_NAME, FLEET, VERSION; FAIL_RATE (0–1) answers that share of requests other
// than /healthz with 500; FAIL_RATE_<VERSION with non-alphanumerics as _> overrides it for one version,
// so that a bad release ("v2 fails 50%") can be simulated: FAIL_RATE_v2=0.5.
import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';

const port = Number(process.env.PORT ?? 0);
const prod = process.env.PROD_NAME ?? 'unknown';
const fleet = process.env.FLEET ?? 'unknown';
const version = process.env.VERSION ?? process.env.DROVER_VERSION ?? 'unknown';
const failRate = Number(process.env[`FAIL_RATE_${version.replace(/[^A-Za-z0-9]/g, '_')}`] ?? process.env.FAIL_RATE ?? 0);

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  if (url.pathname === '/healthz') {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    return;
  }
  if (failRate > 0 && Math.random() < failRate) {
    res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'injected failure', prod, version }) + '\n');
    return;
  }
  if (url.pathname === '/echo' && req.method === 'POST') {
    res.writeHead(200, { 'content-type': req.headers['content-type'] ?? 'application/octet-stream', 'x-prod': prod });
    req.pipe(res);
    return;
  }
  const tenant = req.headers['x-drover-tenant'] ?? req.headers.host ?? '';
  res.writeHead(200, { 'content-type': 'application/json', 'x-prod': prod }).end(JSON.stringify({ prod, fleet, version, tenant }) + '\n');
});

server.on('upgrade', (req, socket) => {
  const key = req.headers['sec-websocket-key'];
  if (new URL(req.url ?? '/', 'http://x').pathname !== '/ws' || typeof key !== 'string') {
    socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\n\r\n');
    return;
  }
  const accept = createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-accept: ${accept}\r\nx-prod: ${prod}\r\n\r\n`);
  let buf = Buffer.alloc(0);
  socket.on('data', (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    for (;;) {
      const frame = readFrame(buf);
      if (!frame) return;
      buf = buf.subarray(frame.length);
      if (frame.opcode === 0x8) {
        socket.end(writeFrame(0x8, frame.payload));
        return;
      }
      if (frame.opcode === 0x9) socket.write(writeFrame(0xa, frame.payload));
      else if (frame.opcode === 0x1 || frame.opcode === 0x2) socket.write(writeFrame(frame.opcode, frame.payload));
    }
  });
  socket.on('error', () => socket.destroy());
});

/** One complete (unfragmented) client frame from the front of `b`, or undefined until it has arrived. */
function readFrame(b) {
  if (b.length < 2) return undefined;
  const opcode = b[0] & 0x0f;
  const masked = (b[1] & 0x80) !== 0;
  let len = b[1] & 0x7f;
  let off = 2;
  if (len === 126) {
    if (b.length < 4) return undefined;
    len = b.readUInt16BE(2);
    off = 4;
  } else if (len === 127) {
    if (b.length < 10) return undefined;
    len = Number(b.readBigUInt64BE(2));
    off = 10;
  }
  const maskOff = off;
  if (masked) off += 4;
  if (b.length < off + len) return undefined;
  const payload = Buffer.from(b.subarray(off, off + len));
  if (masked) for (let i = 0; i < payload.length; i++) payload[i] ^= b[maskOff + (i % 4)];
  return { opcode, payload, length: off + len };
}

function writeFrame(opcode, payload) {
  const len = payload.length;
  const head = len < 126 ? Buffer.from([0x80 | opcode, len]) : len < 65536 ? Buffer.alloc(4) : Buffer.alloc(10);
  if (len >= 126 && len < 65536) {
    head[0] = 0x80 | opcode;
    head[1] = 126;
    head.writeUInt16BE(len, 2);
  } else if (len >= 65536) {
    head[0] = 0x80 | opcode;
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(len), 2);
  }
  return Buffer.concat([head, payload]);
}

server.listen(port, '127.0.0.1', () => {
  console.log(`${prod} (${fleet} ${version}) listening on 127.0.0.1:${server.address().port}`);
});

// Graceful stop: finish in-flight requests, then exit (the agent sends SIGTERM, SIGKILL after its grace).
const stop = () => {
  server.close(() => process.exit(0));
  server.closeIdleConnections?.();
  setTimeout(() => process.exit(0), 3000).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
