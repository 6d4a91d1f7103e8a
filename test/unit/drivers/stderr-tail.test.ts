import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stderrTail } from '../../../src/drivers/local/stderr-tail.js';

describe('stderrTail', () => {
  it('gives the error of a Node app that cannot start, not "Node.js v20"', () => {
    const out = [
      'node:internal/modules/cjs/loader:1210',
      '  throw err;',
      '  ^',
      '',
      "Error: Cannot find module '/repo/app/server.mjs'",
      '    at Module._resolveFilename (node:internal/modules/cjs/loader:1207:15)',
      '    at node:internal/main/run_main_module:28:49 {',
      "  code: 'MODULE_NOT_FOUND',",
      '  requireStack: []',
      '}',
      '',
      'Node.js v20.20.2',
      '',
    ].join('\n');
    assert.equal(stderrTail(out), "Error: Cannot find module '/repo/app/server.mjs'");
  });

  it('keeps the error line and what follows it, and the last lines when nothing says error', () => {
    assert.equal(stderrTail('starting\nlisten EADDRINUSE: address already in use :::8080\nretrying later\n'), 'listen EADDRINUSE: address already in use :::8080 | retrying later');
    assert.equal(stderrTail('a\nb\nc\nd\n'), 'b | c | d');
    assert.equal(stderrTail(''), undefined);
  });

  it('bounds the message', () => {
    assert.ok((stderrTail(`Error: ${'x'.repeat(1000)}`) ?? '').length <= 300);
  });
});
