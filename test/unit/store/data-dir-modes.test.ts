/** Data directories are private: 0700 directories, 0600 database and tokens — tightened when found wider. */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { LocalDriver } from '../../../src/drivers/local/local-driver.js';
import { stateFilePath } from '../../../src/drivers/local/state-file.js';
import { startControlPlane } from '../../../src/server/control-plane.js';

const root = mkdtempSync(join(tmpdir(), 'drover-modes-'));
after(() => rmSync(root, { recursive: true, force: true }));

const mode = (p: string) => (statSync(p).mode & 0o777).toString(8);

let writes = 0;

async function startStop(dataDir: string): Promise<void> {
  const cp = await startControlPlane({ dataDir, listen: '127.0.0.1:0', controllers: false });
  try {
    // A write, so that the WAL and shared-memory files exist to be checked.
    await cp.store.create({ apiVersion: 'drover.dev/v1alpha1', kind: 'Tenant', metadata: { name: `t${++writes}` }, spec: { users: 1 } } as never);
    for (const f of ['drover.db-wal', 'drover.db-shm']) if (existsSync(join(dataDir, f))) assert.equal(mode(join(dataDir, f)), '600', `${f} while open`);
  } finally {
    await cp.stop();
  }
}

describe('data directory modes', () => {
  it('a new data dir is 0700 and its database and tokens file 0600, whatever the umask allows', async () => {
    const dataDir = join(root, 'fresh', 'data');
    await startStop(dataDir);
    assert.equal(mode(dataDir), '700');
    assert.equal(mode(join(dataDir, 'drover.db')), '600');
    assert.equal(mode(join(dataDir, 'tokens.yaml')), '600');
  });

  it('an existing data dir with wider modes is tightened at start', async () => {
    const dataDir = join(root, 'wide');
    await startStop(dataDir);
    chmodSync(dataDir, 0o755);
    chmodSync(join(dataDir, 'drover.db'), 0o644);
    chmodSync(join(dataDir, 'tokens.yaml'), 0o644);
    await startStop(dataDir);
    assert.equal(mode(dataDir), '700');
    assert.equal(mode(join(dataDir, 'drover.db')), '600');
    assert.equal(mode(join(dataDir, 'tokens.yaml')), '600');
  });

  it('an agent state dir, its logs and its state file are private', async () => {
    const stateDir = join(root, 'agents', 'c1');
    mkdirSync(stateDir, { recursive: true, mode: 0o755 });
    writeFileSync(stateFilePath(stateDir), JSON.stringify({ version: 1, workloads: [] }), { mode: 0o644 });
    const d = await LocalDriver.open({ stateDir });
    await d.close();
    assert.equal(mode(stateDir), '700');
    assert.equal(mode(join(stateDir, 'logs')), '700');
    assert.equal(mode(stateFilePath(stateDir)), '600');
  });
});
