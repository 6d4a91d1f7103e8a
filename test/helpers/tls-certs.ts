/**
 * Certificates for TLS tests, made with the `openssl` binary: a CA, a server certificate for 127.0.0.1
 * and localhost signed by it, and client certificates. Each call makes fresh keys in its own directory.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface CertAuthority {
  /** PEM files. */
  cert: string;
  key: string;
  /** Issues a certificate signed by this CA; `serverFor` hosts make it a server certificate. */
  issue(name: string, opts?: { serverFor?: string[]; dir?: string }): { cert: string; key: string };
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

export function makeCa(name = 'drover-test-ca', dir = mkdtempSync(join(tmpdir(), 'drover-tls-'))): CertAuthority {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', `/CN=${name}`, '-keyout', key, '-out', cert]);
  let serial = 0;
  return {
    cert,
    key,
    issue(cn, opts = {}) {
      const out = opts.dir ?? dir;
      const k = join(out, `${cn}.key`);
      const csr = join(out, `${cn}.csr`);
      const c = join(out, `${cn}.crt`);
      const ext = join(out, `${cn}.ext`);
      const hosts = opts.serverFor ?? [];
      const san = hosts.map((h) => (/^[\d.]+$/.test(h) ? `IP:${h}` : `DNS:${h}`)).join(',');
      writeFileSync(ext, hosts.length > 0 ? `subjectAltName=${san}\nextendedKeyUsage=serverAuth\n` : 'extendedKeyUsage=clientAuth\n');
      openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', `/CN=${cn}`, '-keyout', k, '-out', csr]);
      openssl(['x509', '-req', '-in', csr, '-CA', cert, '-CAkey', key, '-set_serial', String(Date.now() * 100 + serial++), '-days', '2', '-extfile', ext, '-out', c]);
      return { cert: c, key: k };
    },
  };
}
