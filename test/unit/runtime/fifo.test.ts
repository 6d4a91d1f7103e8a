/**
 * Fifo against an array model: any interleaving of pushes and shifts, across the compactions of its
 * consumed front, gives the same items in the same order and the same length.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Fifo } from '../../../src/runtime/fifo.js';

describe('Fifo', () => {
  it('behaves as an array used with push and shift', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.constant<'shift'>('shift'), fc.integer({ min: 1, max: 3000 })), { maxLength: 60 }), (ops) => {
        const fifo = new Fifo<number>();
        const model: number[] = [];
        let n = 0;
        for (const op of ops) {
          if (op === 'shift') {
            for (let i = 0; i < 700; i++) assert.equal(fifo.shift(), model.shift());
          } else {
            for (let i = 0; i < op; i++) {
              fifo.push(n);
              model.push(n++);
            }
          }
          assert.equal(fifo.length, model.length);
        }
        while (model.length > 0) assert.equal(fifo.shift(), model.shift());
        assert.equal(fifo.shift(), undefined);
        assert.equal(fifo.length, 0);
      }),
      { numRuns: 200 },
    );
  });
});
