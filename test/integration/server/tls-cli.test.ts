/**
 * `drover server --tls-cert/--tls-key/--client-ca` as a real process, and the CLI against it with
 * `--ca`/`--cert`/`--key`, DROVER_CA and the config file's `ca:` (certificates from openssl,
 * test/helpers/tls-certs.ts).
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeCa, type CertAuthority } from '../../helpers/tls-certs.js';
import { spawnDrover, startServer, tempDir, type ServerProcess } from './harness.js';

const TOKEN = 'tls-cli-admin-token';

describe('drover server with TLS, and the CLI', () => {
  const dir = tempDir('drover-tls-cli-');
  let server: ServerProcess;
  let ca: CertAuthority;
  let client: { cert: string; key: string };
  const env = { DROVER_TOKEN: TOKEN, DROVER_CONFIG: join(dir, 'none.yaml') };
  const cli = async (args: string[], extra: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; out: string }> => {
    const p = spawnDrover(args, { ...env, ...extra });
    const code = await p.exited;
    return { code, out: p.output() };
  };

  before(async () => {
    ca = makeCa('cli-ca', dir);
    const cert = ca.issue('api', { serverFor: ['127.0.0.1'] });
    const clientCa = makeCa('cli-client-ca', dir);
    client = clientCa.issue('operator');
    server = await startServer({ dataDir: join(dir, 'data'), env: { DROVER_TOKEN: TOKEN }, args: ['--no-controllers', '--tls-cert', cert.cert, '--tls-key', cert.key, '--client-ca', clientCa.cert] });
  });
  after(async () => {
    await server.stop('SIGKILL');
  });

  it('serves https; the CLI works with --ca and a client certificate', async () => {
    assert.match(server.url, /^https:\/\//);
    const r = await cli(['get', 'tenants', '--server', server.url, '--ca', ca.cert, '--cert', client.cert, '--key', client.key]);
    assert.equal(r.code, 0, r.out);
  });

  it('takes the CA and the certificate from DROVER_CA/DROVER_CERT/DROVER_KEY and from the config file', async () => {
    const byEnv = await cli(['get', 'tenants', '--server', server.url], { DROVER_CA: ca.cert, DROVER_CERT: client.cert, DROVER_KEY: client.key });
    assert.equal(byEnv.code, 0, byEnv.out);
    const cfg = join(dir, 'config.yaml');
    writeFileSync(cfg, `server: ${server.url}\ntoken: ${TOKEN}\nca: ${ca.cert}\ncert: ${client.cert}\nkey: ${client.key}\n`);
    const byFile = spawnDrover(['get', 'tenants'], { DROVER_CONFIG: cfg, DROVER_TOKEN: '' });
    assert.equal(await byFile.exited, 0, byFile.output());
  });

  it('a wrong CA fails with an error that names --ca', async () => {
    const other = makeCa('cli-other-ca', dir);
    const r = await cli(['get', 'tenants', '--server', server.url, '--ca', other.cert, '--cert', client.cert, '--key', client.key]);
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /TLS certificate is not trusted/);
    assert.match(r.out, /field: --ca/);
  });

  it('without a client certificate the API refuses, naming --cert', async () => {
    const r = await cli(['get', 'tenants', '--server', server.url, '--ca', ca.cert]);
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /requires a client certificate: no client certificate was presented/);
    assert.match(r.out, /field: --cert/);
  });
});
