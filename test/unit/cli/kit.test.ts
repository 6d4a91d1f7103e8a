import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { untilSignal } from '../../../src/cli/kit.js';

describe('CLI kit', () => {
  it('untilSignal resolves with the first of SIGINT/SIGTERM and removes its listeners', async () => {
    const before = [process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')];
    const waiting = untilSignal();
    assert.deepEqual([process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')], [before[0]! + 1, before[1]! + 1]);
    process.emit('SIGTERM', 'SIGTERM');
    assert.equal(await waiting, 'SIGTERM');
    // A second signal is not swallowed by a stale listener (it would otherwise keep a stopping process alive).
    assert.deepEqual([process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')], before);
  });
});
