/** Who holds a port, for `drover up`'s error when one it needs is taken. */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { isDroverError } from '../../../src/errors.js';
import { canListen, portHolder, portInUse } from '../../../src/up/ports.js';

describe('up ports', () => {
  it('finds the pid listening on a port, and names it with the fix in a catalogued error', async () => {
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as { port: number }).port;
    try {
      assert.equal(await canListen(port), false);
      assert.equal(portHolder(port), process.pid);
      const e = portInUse(port, '--edge-port', portHolder(port));
      assert.ok(isDroverError(e, 'DROVER_E_PORT_IN_USE'));
      assert.match(e.message, new RegExp(`^port ${port} \\(--edge-port\\) is taken by pid ${process.pid} \\(.*node`));
      assert.equal(e.fix, `stop that process (kill ${process.pid}), or pass another --edge-port (0 picks a free port)`);
    } finally {
      await new Promise((r) => srv.close(r));
    }
    assert.equal(await canListen(port), true);
    assert.equal(portHolder(port), undefined);
  });

  it('sees a listener on every address (0.0.0.0) as holding the loopback port', async () => {
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, '0.0.0.0', r));
    const port = (srv.address() as { port: number }).port;
    try {
      assert.equal(await canListen(port), false);
      assert.equal(portHolder(port), process.pid);
    } finally {
      await new Promise((r) => srv.close(r));
    }
  });
});
