/**
 * The API server reads `listen` with the one listen-address parser the edge uses: a bare port or `:PORT`
 * binds 127.0.0.1 (it bound every address before: the bare-port form matched an empty host), and a bad
 * address is a catalogued error naming the field and the fix.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isDroverError } from '../../../src/errors.js';
import { startApiServer } from '../../../src/server/api-server.js';
import { MemoryStore } from '../../../src/store/memory/memory-store.js';

const tokens = [{ token: 'listen-test-token', role: 'admin' as const }];

describe('API server listen address', () => {
  for (const listen of ['0', ':0']) {
    it(`"${listen}" binds 127.0.0.1 only`, async () => {
      const api = await startApiServer({ store: new MemoryStore(), listen, tokens, processMetrics: false, log: () => {} });
      try {
        assert.match(api.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      } finally {
        await api.close({ graceMs: 0 });
      }
    });
  }

  it('a bad address is DROVER_E_INVALID naming the field and the fix', async () => {
    await assert.rejects(startApiServer({ store: new MemoryStore(), listen: 'localhost', tokens, processMetrics: false }), (e: unknown) => {
      assert.ok(isDroverError(e, 'DROVER_E_INVALID'));
      assert.equal(e.field, 'listen');
      assert.match(e.message, /^listen: "localhost" is not a listen address \(no port\)$/);
      assert.equal(e.fix, 'use HOST:PORT, [IPV6]:PORT, :PORT or PORT, e.g. 127.0.0.1:7400 (port 0 picks a free one)');
      return true;
    });
  });
});
