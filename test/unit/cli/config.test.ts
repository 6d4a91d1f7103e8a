import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readConfig, writeConfig } from '../../../src/cli/config.js';
import { resolveConnection } from '../../../src/cli/connect.js';
import { urls } from '../../../src/cli/options.js';

describe('CLI config file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'drover-config-'));

  it('reads back what it writes (the fast path for plain scalars)', () => {
    const path = join(dir, 'a.yaml');
    const cfg = { server: 'http://127.0.0.1:7400', token: 'Zm9vYmFy-_0123456789abcdef' };
    writeConfig(cfg, path);
    assert.deepEqual(readConfig(path), cfg);
  });

  it('reads any YAML mapping a person wrote, and refuses what is not one', () => {
    const path = join(dir, 'b.yaml');
    writeFileSync(path, '# mine\nserver: "http://10.0.0.1:7400"\ntoken: \'-starts-with-a-dash\'\nextra: 1\n');
    assert.deepEqual(readConfig(path), { server: 'http://10.0.0.1:7400', token: '-starts-with-a-dash' });
    writeFileSync(path, '- a list\n');
    assert.throws(() => readConfig(path), /is not a YAML mapping/);
  });
});

describe('several servers and TLS files in the config, the environment and flags', () => {
  const dir = mkdtempSync(join(tmpdir(), 'drover-config-ha-'));

  it('reads `server:` as a comma list or a YAML list, and ca/cert/key', () => {
    const path = join(dir, 'c.yaml');
    writeFileSync(path, 'server: http://a:7400,http://b:7400\ntoken: t0123456789\nca: /etc/drover/ca.pem\n');
    assert.deepEqual(readConfig(path), { server: 'http://a:7400,http://b:7400', token: 't0123456789', ca: '/etc/drover/ca.pem' });
    writeFileSync(path, 'server:\n  - https://a:7400\n  - https://b:7400\ncert: ./me.crt\nkey: ./me.key\n');
    assert.deepEqual(readConfig(path), { server: 'https://a:7400,https://b:7400', cert: './me.crt', key: './me.key' });
    writeFileSync(path, 'server:\n  - 7\n');
    assert.throws(() => readConfig(path), /not a URL/);
  });

  it('resolves every replica, from the flag, DROVER_SERVER or the file, with http:// added where missing', () => {
    const path = join(dir, 'd.yaml');
    writeFileSync(path, 'server:\n  - 10.0.0.1:7400\n  - https://10.0.0.2:7400/\nca: /ca.pem\n');
    const env = { DROVER_CONFIG: path };
    assert.deepEqual(resolveConnection({}, env).servers, ['http://10.0.0.1:7400', 'https://10.0.0.2:7400']);
    assert.deepEqual(resolveConnection({}, env).tls, { ca: '/ca.pem' });
    assert.deepEqual(resolveConnection({}, { ...env, DROVER_SERVER: 'a:1, b:2' }).servers, ['http://a:1', 'http://b:2']);
    assert.deepEqual(resolveConnection({ server: 'http://x:1,http://y:1', ca: '/other.pem' }, { ...env, DROVER_CA: '/env.pem' }).tls, { ca: '/other.pem' });
    assert.equal(resolveConnection({ server: 'http://x:1,http://y:1' }, env).server, 'http://x:1,http://y:1');
  });

  it('--server refuses an empty entry or a non-URL in the list', () => {
    assert.equal(urls('http://a:1, b:2'), 'http://a:1,b:2');
    assert.throws(() => urls('http://a:1,,b:2'), /empty entry/);
    assert.throws(() => urls('http://a:1,http://'), /not a URL/);
  });
});
