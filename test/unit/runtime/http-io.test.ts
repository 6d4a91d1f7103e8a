/** The HTTP plumbing the API server and the edge share: listen addresses, listening, closing. */
import assert from 'node:assert/strict';
import http from 'node:http';
import { describe, it } from 'node:test';
import { isDroverError } from '../../../src/errors.js';
import { closeServer, listenOn, parseHostPort, sendDroverError } from '../../../src/runtime/http-io.js';
import { DroverError } from '../../../src/errors.js';

describe('parseHostPort', () => {
  const ok: [string, string, number][] = [
    [':8080', '127.0.0.1', 8080],
    ['8080', '127.0.0.1', 8080],
    ['127.0.0.1:0', '127.0.0.1', 0],
    ['[::1]:80', '::1', 80],
    ['0.0.0.0:65535', '0.0.0.0', 65535],
    ['localhost:7400', 'localhost', 7400],
    [' 127.0.0.1:80 ', '127.0.0.1', 80],
  ];
  for (const [text, host, port] of ok) {
    it(`reads ${JSON.stringify(text)} as ${host} port ${port}`, () => {
      assert.deepEqual(parseHostPort(text, '--listen'), { host, port });
    });
  }

  const bad: [string, RegExp][] = [
    ['host', /no port/],
    ['localhost:', /not HOST:PORT/],
    ['127.0.0.1:65536', /port 65536 is above 65535/],
    ['127.0.0.1:-1', /not HOST:PORT/],
    ['127.0.0.1:80x', /not HOST:PORT/],
    ['::1:80', /not HOST:PORT/],
    ['', /not HOST:PORT/],
    ['my host:80', /not HOST:PORT/],
    ['99999', /port 99999 is above 65535/],
  ];
  for (const [text, why] of bad) {
    it(`refuses ${JSON.stringify(text)} with a catalogued error naming the flag and the fix`, () => {
      assert.throws(
        () => parseHostPort(text, '--admin-listen', '127.0.0.1:0'),
        (e: unknown) => {
          assert.ok(isDroverError(e, 'DROVER_E_INVALID'));
          assert.equal(e.field, '--admin-listen');
          assert.ok(e.message.startsWith(`--admin-listen: "${text}" is not a listen address`), e.message);
          assert.match(e.message, why);
          assert.equal(e.fix, 'use HOST:PORT, [IPV6]:PORT, :PORT or PORT, e.g. 127.0.0.1:0 (port 0 picks a free one)');
          return true;
        },
      );
    });
  }
});

describe('listenOn', () => {
  it('answers a taken port with DROVER_E_PORT_IN_USE naming the flag and the fix, and listens once it is free', async () => {
    const holder = http.createServer();
    const url = await listenOn(holder, { host: '127.0.0.1', port: 0 }, '--listen');
    const port = Number(new URL(url).port);
    assert.ok(port > 0);
    const second = http.createServer();
    await assert.rejects(listenOn(second, { host: '127.0.0.1', port }, '--listen'), (e: unknown) => {
      assert.ok(isDroverError(e, 'DROVER_E_PORT_IN_USE'));
      assert.equal(e.field, '--listen');
      assert.equal(e.message, `cannot listen on 127.0.0.1:${port} (--listen): address already in use`);
      assert.equal(e.fix, `stop the process that holds port ${port}, or pick another --listen (port 0 picks a free one)`);
      assert.equal((e.cause as NodeJS.ErrnoException).code, 'EADDRINUSE');
      return true;
    });
    await closeServer(holder);
    // The failed attempt left no listener behind that would turn a later error into an unhandled one.
    assert.equal(second.listenerCount('error'), 0);
    assert.equal(await listenOn(second, { host: '127.0.0.1', port }, '--listen'), `http://127.0.0.1:${port}`);
    await closeServer(second);
  });

  it('answers an address not on this machine with DROVER_E_UNAVAILABLE', async () => {
    const s = http.createServer();
    // TEST-NET-1 (RFC 5737): never assigned to a local interface.
    await assert.rejects(listenOn(s, { host: '192.0.2.1', port: 0 }, '--admin-listen'), (e: unknown) => {
      assert.ok(isDroverError(e, 'DROVER_E_UNAVAILABLE'));
      assert.equal(e.field, '--admin-listen');
      assert.match(e.message, /^cannot listen on 192\.0\.2\.1:0 \(--admin-listen\): /);
      return true;
    });
  });

  it('gives an IPv6 listener its URL in brackets', async (t) => {
    const s = http.createServer();
    let url: string;
    try {
      url = await listenOn(s, { host: '::1', port: 0 }, '--listen');
    } catch (e) {
      t.skip(`no IPv6 loopback here: ${(e as Error).message}`);
      return;
    }
    assert.match(url, /^http:\/\/\[::1\]:\d+$/);
    await closeServer(s);
  });
});

describe('sendDroverError', () => {
  it('answers the catalogue status and body, with extra headers; cuts the connection once the head is out', async () => {
    const s = http.createServer((req, res) => {
      if (req.url === '/late') {
        res.writeHead(200);
        res.write('partial');
      }
      sendDroverError(res, new DroverError('DROVER_E_REQUEST_TIMEOUT', 'too slow', { fix: 'be faster' }), { connection: 'close' });
    });
    const url = await listenOn(s, { host: '127.0.0.1', port: 0 }, '--listen');
    try {
      const r = await fetch(url);
      assert.equal(r.status, 408);
      assert.equal(r.headers.get('connection'), 'close');
      assert.equal(r.headers.get('content-type'), 'application/json');
      assert.deepEqual(await r.json(), { code: 'DROVER_E_REQUEST_TIMEOUT', message: 'too slow', fix: 'be faster' });
      await assert.rejects(async () => {
        const late = await fetch(`${url}/late`);
        await late.text();
      });
    } finally {
      await closeServer(s);
    }
  });
});
