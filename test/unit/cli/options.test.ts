import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildProgram } from '../../../src/cli/main.js';
import { count, duration, hostPort, millis, parserFor, port, seconds, share } from '../../../src/cli/options.js';

describe('option kit', () => {
  it('parses good values to what the commands use', () => {
    assert.equal(duration('30s'), '30s');
    assert.equal(millis('20000'), 20000);
    assert.equal(millis('20s'), 20000);
    assert.equal(seconds('2m'), 120);
    assert.equal(count('0'), 0);
    assert.equal(port('8080'), 8080);
    assert.equal(hostPort('127.0.0.1:0'), '127.0.0.1:0');
    assert.equal(hostPort('[::1]:7400'), '[::1]:7400');
    assert.equal(share('0.01'), 0.01);
  });

  it('refuses bad values with the fix', () => {
    assert.throws(() => duration('10parsecs'), /"10parsecs" is not a duration; use e\.g\. 30s, 5m, 1h or 500ms/);
    assert.throws(() => millis('soon'), /use e\.g\. 20000 or 20s/);
    assert.throws(() => count('-1'), /not a whole number/);
    assert.throws(() => port('70000'), /not a port; use 0-65535/);
    assert.throws(() => hostPort('nowhere'), /not HOST:PORT; use e\.g\. 127\.0\.0\.1:7400/);
    assert.throws(() => share('2'), /between 0 and 1/);
  });

  it('covers every duration, time, count, port and address flag of every command', async () => {
    const unchecked: string[] = [];
    const walk = (c: Awaited<ReturnType<typeof buildProgram>>, path: string) => {
      for (const o of c.options) {
        const typed = /<(duration|ms|seconds|n|port|host:port|bytes|share|url|pid|e)>/.test(o.flags);
        // The kit's parser, or none at all: a typed flag the kit does not know is a hole.
        if (typed && !parserFor(o)) unchecked.push(`${path} ${o.flags}`);
      }
      for (const s of c.commands) walk(s, `${path} ${s.name()}`);
    };
    walk(await buildProgram(), 'drover');
    assert.deepEqual(unchecked, []);
  });
});
