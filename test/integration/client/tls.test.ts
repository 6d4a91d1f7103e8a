/**
 * TLS on the API server, from RemoteStore over real sockets, with certificates made by openssl
 * (test/helpers/tls-certs.ts): the right CA, a wrong one, a certificate rotated under a running server,
 * and client certificates required by --client-ca.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, renameSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RemoteStore } from '../../../src/client/remote-store.js';
import type { ClientTls } from '../../../src/client/client-tls.js';
import { isDroverError } from '../../../src/errors.js';
import { startApiServer, type ApiServer } from '../../../src/server/api-server.js';
import { MemoryStore } from '../../../src/store/memory/memory-store.js';
import { tenant } from '../../helpers/fixtures.js';
import { makeCa, type CertAuthority } from '../../helpers/tls-certs.js';
import { waitFor } from '../../helpers/wait-for.js';

function probeWithoutCert(url: string, caFile: string): Promise<{ status: number }> {
  return new Promise((resolve, reject) => {
    request(url, { ca: readFileSync(caFile) }, (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0 });
    })
      .on('error', reject)
      .end();
  });
}

const TOKEN = 'tls-test-admin-token';
const HOSTS = ['127.0.0.1', 'localhost'];

describe('TLS on the API server', () => {
  const stores: RemoteStore[] = [];
  const client = (url: string, tls: ClientTls): RemoteStore => {
    const s = new RemoteStore({ server: url, token: TOKEN, tls });
    stores.push(s);
    return s;
  };
  const servers: { api: ApiServer; mem: MemoryStore }[] = [];
  const serve = async (tls: { certFile: string; keyFile: string; clientCaFile?: string }): Promise<ApiServer> => {
    const mem = new MemoryStore();
    const api = await startApiServer({ store: mem, listen: '127.0.0.1:0', tokens: [{ token: TOKEN, role: 'admin' }], processMetrics: false, tls: { ...tls, reloadIntervalMs: 50 } });
    servers.push({ api, mem });
    return api;
  };
  let ca: CertAuthority;
  let other: CertAuthority;
  before(() => {
    ca = makeCa('server-ca');
    other = makeCa('other-ca');
  });
  after(async () => {
    for (const s of stores) await s.close();
    for (const { api, mem } of servers) {
      await api.close({ graceMs: 100 });
      await mem.close();
    }
  });

  it('serves https to a client with the right CA; a wrong CA fails with an error naming --ca', async () => {
    const cert = ca.issue('api', { serverFor: HOSTS });
    const api = await serve({ certFile: cert.cert, keyFile: cert.key });
    assert.match(api.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const good = client(api.url, { ca: ca.cert });
    await good.create(tenant('tls-a'));
    assert.equal((await good.get('Tenant', 'tls-a'))?.metadata.name, 'tls-a');
    const bad = client(api.url, { ca: other.cert });
    await assert.rejects(bad.get('Tenant', 'tls-a'), (e) => {
      assert.ok(isDroverError(e, 'DROVER_E_TLS'), String(e));
      assert.equal((e).field, '--ca');
      assert.match((e).message, /not trusted/);
      return true;
    });
    // Nor does a client without --ca (Node's public CAs do not know a private CA).
    await assert.rejects(client(api.url, {}).revision(), (e) => isDroverError(e, 'DROVER_E_TLS'));
  });

  it('an https:// URL of a plain HTTP server fails with an error naming --server', async () => {
    const mem = new MemoryStore();
    const plain = await startApiServer({ store: mem, listen: '127.0.0.1:0', tokens: [{ token: TOKEN, role: 'admin' }], processMetrics: false });
    servers.push({ api: plain, mem });
    await assert.rejects(client(plain.url.replace('http:', 'https:'), { ca: ca.cert }).revision(), (e) => {
      assert.ok(isDroverError(e, 'DROVER_E_TLS'), String(e));
      assert.equal(e.field, '--server');
      return true;
    });
  });

  it('picks up a rotated certificate without a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'drover-rotate-'));
    const first = ca.issue('first', { serverFor: HOSTS });
    const certFile = join(dir, 'tls.crt');
    const keyFile = join(dir, 'tls.key');
    copyFileSync(first.cert, certFile);
    copyFileSync(first.key, keyFile);
    const api = await serve({ certFile, keyFile });
    await client(api.url, { ca: ca.cert }).revision();
    await assert.rejects(client(api.url, { ca: other.cert }).revision(), (e) => isDroverError(e, 'DROVER_E_TLS'));
    // Rotate to a certificate of another CA, as certificate tools do: new files renamed into place.
    const next = other.issue('next', { serverFor: HOSTS });
    copyFileSync(next.key, `${keyFile}.new`);
    copyFileSync(next.cert, `${certFile}.new`);
    renameSync(`${keyFile}.new`, keyFile);
    renameSync(`${certFile}.new`, certFile);
    await waitFor('the server to reload its certificate', () => api.tlsReloads() >= 1);
    const rotated = client(api.url, { ca: other.cert });
    await waitFor('the new certificate served', () => rotated.revision().then(() => true), { retryIf: (e) => isDroverError(e, 'DROVER_E_TLS') });
    await assert.rejects(client(api.url, { ca: ca.cert }).revision(), (e) => isDroverError(e, 'DROVER_E_TLS'));
  });

  it('with --client-ca, refuses a client without a certificate or with one of another CA', async () => {
    const clientCa = makeCa('client-ca');
    const cert = ca.issue('api-mtls', { serverFor: HOSTS });
    const api = await serve({ certFile: cert.cert, keyFile: cert.key, clientCaFile: clientCa.cert });
    const mine = clientCa.issue('agent-1');
    await client(api.url, { ca: ca.cert, cert: mine.cert, key: mine.key }).create(tenant('mtls'));
    const refusedFor = (why: RegExp) => (e: unknown) => {
      assert.ok(isDroverError(e, 'DROVER_E_UNAUTHORIZED'), String(e));
      assert.equal((e).field, '--cert');
      assert.match((e).message, why);
      return true;
    };
    await assert.rejects(client(api.url, { ca: ca.cert }).get('Tenant', 'mtls'), refusedFor(/no client certificate was presented/));
    const stranger = other.issue('stranger');
    await assert.rejects(client(api.url, { ca: ca.cert, cert: stranger.cert, key: stranger.key }).get('Tenant', 'mtls'), refusedFor(/not signed by the server's --client-ca/));
    // Probes answer without one (load balancers' health checks carry no client certificate).
    assert.equal((await probeWithoutCert(`${api.url}/healthz`, ca.cert)).status, 200);
  });
});
