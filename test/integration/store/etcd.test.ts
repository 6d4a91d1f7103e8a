/**
 * The Store contract against a real etcd (Debian `etcd-server`, started as `drover up --ha` starts it,
 * one member) on free loopback ports, one etcd for the file and a fresh key prefix per test. Skips, saying why, when the binary is missing.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import { openStore } from '../../../src/store/open-store.js';
import { EtcdCluster, etcdBinary } from '../../../src/up/etcd-cluster.js';
import { runStoreContract } from '../../store/contract.js';

const hasEtcd = etcdBinary() !== undefined;
if (!hasEtcd) console.warn('SKIP etcd store contract: the `etcd` binary is missing (apt-get install etcd-server)');

describe('etcd store', { skip: hasEtcd ? false : 'etcd binary missing: apt-get install etcd-server' }, () => {
  let dir: string;
  let etcd: EtcdCluster | undefined;
  let client = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'drover-etcd-'));
    etcd = await EtcdCluster.start({ dir: join(dir, 'etcd'), members: 1 });
    client = etcd.endpoints;
  });
  after(async () => {
    await etcd?.stop(0);
    await rm(dir, { recursive: true, force: true });
  });

  let n = 0;
  runStoreContract('etcd', async (opts = {}) => {
    const store = await openStore({ backend: 'etcd', etcd: { hosts: client, prefix: `/t${++n}/` }, ...opts });
    return { store, cleanup: () => store.close() };
  });
});
