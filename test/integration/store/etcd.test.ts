/**
 * The Store contract against a real etcd (Debian `etcd-server`) on loopback ports it is given, one etcd
 * for the file and a fresh key prefix per test. Skips, saying why, when the binary is missing.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import { EtcdStore } from '../../../src/store/etcd/etcd-store.js';
import { openStore } from '../../../src/store/open-store.js';
import { waitFor } from '../../helpers/wait-for.js';
import { runStoreContract } from '../../store/contract.js';

const hasEtcd = spawnSync('sh', ['-c', 'command -v etcd'], { stdio: 'ignore' }).status === 0;
if (!hasEtcd) console.warn('SKIP etcd store contract: the `etcd` binary is missing (apt-get install etcd-server)');

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

describe('etcd store', { skip: hasEtcd ? false : 'etcd binary missing: apt-get install etcd-server' }, () => {
  let dir: string;
  let etcd: ChildProcess | undefined;
  let client = '';
  let log = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'drover-etcd-'));
    const [cport, pport] = [await freePort(), await freePort()];
    client = `http://127.0.0.1:${cport}`;
    const peer = `http://127.0.0.1:${pport}`;
    etcd = spawn(
      'etcd',
      ['--name', 't', '--data-dir', join(dir, 'data'), '--listen-client-urls', client, '--advertise-client-urls', client,
        '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer, '--initial-cluster', `t=${peer}`],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    etcd.stderr?.setEncoding('utf8').on('data', (d: string) => (log = (log + d).slice(-4000)));
    const probe = new EtcdStore({ hosts: client });
    try {
      await waitFor(`etcd to answer (log: ${log})`, async () => probe.revision().then(() => true, () => false), { timeoutMs: 20_000 });
    } finally {
      await probe.close();
    }
  });
  after(async () => {
    etcd?.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  let n = 0;
  runStoreContract('etcd', async (opts = {}) => {
    const store = await openStore({ backend: 'etcd', etcd: { hosts: client, prefix: `/t${++n}/` }, ...opts });
    return { store, cleanup: () => store.close() };
  });
});
