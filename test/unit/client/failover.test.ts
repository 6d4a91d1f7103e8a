import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { failureKind, parseServerList, Replicas, tlsProblem } from '../../../src/client/failover.js';
import { DroverError } from '../../../src/errors.js';

const sockErr = (code: string, message = code) => Object.assign(new Error(message), { code });

describe('replica failover', () => {
  it('tells a request that never left from one that may have reached the server', () => {
    assert.equal(failureKind(sockErr('ECONNREFUSED')), 'unsent');
    assert.equal(failureKind(sockErr('UND_ERR_CONNECT_TIMEOUT')), 'unsent');
    assert.equal(failureKind(sockErr('ECONNRESET')), 'maybe-sent');
    assert.equal(failureKind(sockErr('UND_ERR_SOCKET', 'other side closed')), 'maybe-sent');
    assert.equal(failureKind(sockErr('UND_ERR_HEADERS_TIMEOUT')), 'maybe-sent');
    assert.equal(failureKind(new DroverError('DROVER_E_UNAVAILABLE', 'store is not answering')), 'maybe-sent', 'a 503 (not ready) moves on too');
    assert.equal(failureKind(new DroverError('DROVER_E_CONFLICT', 'x')), undefined, 'an answer is not a replica being away');
    assert.equal(failureKind(sockErr('UNABLE_TO_VERIFY_LEAF_SIGNATURE')), undefined, 'a certificate problem is not failed over');
    assert.equal(tlsProblem(sockErr('SELF_SIGNED_CERT_IN_CHAIN'))?.field, '--ca');
    assert.equal(tlsProblem(new DroverError('DROVER_E_UNAUTHORIZED', 'certificate not signed by the issuer')), undefined);
  });

  it('parses a list of servers', () => {
    assert.deepEqual(parseServerList(' a:1 ,https://b:2/ ,a:1'), ['http://a:1', 'https://b:2']);
    assert.throws(() => parseServerList(' , '), /no API server URL/);
  });

  it('moves to the next replica at once and pauses, with a growing backoff, after a whole round failed', () => {
    const r = new Replicas('a:1,b:1,c:1', { minBackoffMs: 100, maxBackoffMs: 400, random: () => 1 });
    assert.equal(r.attempts, 9);
    assert.equal(r.failed('http://a:1', 1), 0);
    assert.equal(r.current, 'http://b:1');
    assert.equal(r.failed('http://b:1', 2), 0);
    assert.equal(r.failed('http://c:1', 3), 100);
    assert.equal(r.current, 'http://a:1');
    assert.equal(r.failed('http://a:1', 6), 200);
    // Another request already moved on: a late failure of the old replica does not skip a healthy one.
    r.failed('http://c:1', 4);
    assert.equal(r.current, 'http://b:1');
    assert.equal(new Replicas('a:1').attempts, 1, 'one URL: one attempt, the error at once, as before');
  });
});
