import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readConfig, writeConfig } from '../../../src/cli/config.js';

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
