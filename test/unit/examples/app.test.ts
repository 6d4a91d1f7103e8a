import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { after, describe, it } from 'node:test';
import { freePort } from '../../../src/drivers/local/net.js';
import { exampleAppPath } from '../../helpers/fixtures.js';
import { waitFor } from '../../helpers/wait-for.js';

const children: ChildProcess[] = [];

async function startApp(env: Record<string, string>): Promise<string> {
  const port = await freePort();
  const child = spawn(process.execPath, [exampleAppPath], { env: { ...process.env, PORT: String(port), PROD_NAME: 'web-1', FLEET: 'web', ...env }, stdio: 'ignore' });
  children.push(child);
  const url = `http://127.0.0.1:${port}`;
  await waitFor('app listening', async () => (await fetch(`${url}/healthz`)).ok);
  return url;
}

after(() => {
  for (const c of children) c.kill('SIGKILL');
});

describe('examples/app/server.mjs', () => {
  it('answers with its Prod, fleet, version and tenant, and echoes bodies', async () => {
    const url = await startApp({ VERSION: 'v1' });
    assert.deepEqual(await (await fetch(`${url}/`, { headers: { 'x-drover-tenant': 'acme' } })).json(), { prod: 'web-1', fleet: 'web', version: 'v1', tenant: 'acme' });
    const body = randomBytes(200_000);
    const echoed = Buffer.from(await (await fetch(`${url}/echo`, { method: 'POST', body })).arrayBuffer());
    assert.ok(echoed.equals(body));
  });

  it('fails the share of requests its version is told to, never the health check', async () => {
    const bad = await startApp({ VERSION: 'v2.0', FAIL_RATE: '0', FAIL_RATE_v2_0: '1' });
    assert.equal((await fetch(`${bad}/`)).status, 500);
    assert.equal((await fetch(`${bad}/healthz`)).status, 200);
    const good = await startApp({ VERSION: 'v1', FAIL_RATE_v2_0: '1' });
    assert.equal((await fetch(`${good}/`)).status, 200);
  });

  it('echoes WebSocket messages after an RFC 6455 handshake', async () => {
    const url = new URL(await startApp({ VERSION: 'v1' }));
    const sock = connect(Number(url.port), '127.0.0.1');
    let got = Buffer.alloc(0);
    sock.on('data', (b) => (got = Buffer.concat([got, b])));
    sock.write(`GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    await waitFor('handshake', () => got.includes('\r\n\r\n'));
    const head = got.toString('latin1', 0, got.indexOf('\r\n\r\n'));
    assert.match(head, /^HTTP\/1\.1 101 /);
    assert.match(head, /sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=/i);
    got = got.subarray(got.indexOf('\r\n\r\n') + 4);
    const payload = Buffer.from('hello');
    const mask = Buffer.from([1, 2, 3, 4]);
    sock.write(Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, payload.map((b, i) => b ^ mask[i % 4]!)]));
    await waitFor('echo frame', () => got.length >= 2 + payload.length);
    assert.equal(got[0], 0x81);
    assert.equal(got.subarray(2, 2 + payload.length).toString(), 'hello');
    sock.destroy();
  });
});
