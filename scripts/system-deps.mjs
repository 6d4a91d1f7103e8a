// System packages that tests and benchmarks use, by the binary that shows they are installed.
// Installed with apt-get when missing and running as root (CI); otherwise the tests that need
// them skip with a loud reason.
import { execFileSync, spawnSync } from 'node:child_process';

export const systemDeps = [
  { bin: 'git', pkg: 'git', for: 'GitSource tests' },
  { bin: 'prometheus', pkg: 'prometheus', for: 'PromQL release gates and promtool metric checks', path: '/usr/bin/prometheus' },
  { bin: 'etcd', pkg: 'etcd-server', for: 'the etcd store backend' },
  { bin: 'haproxy', pkg: 'haproxy', for: 'edge benchmark peer and conformance of a second data plane', path: '/usr/sbin/haproxy' },
  { bin: 'nginx', pkg: 'nginx', for: 'edge benchmark peer', path: '/usr/sbin/nginx' },
  // python3-octavia comes with it; test/helpers/octavia-server.ts runs it with noauth, SQLite and the noop provider.
  { bin: 'octavia-api', pkg: 'octavia-api', for: 'the load balancer mirror (a real Octavia v2 API)', path: '/usr/bin/octavia-api' },
  // The Kubernetes test kit (../shared/kubernetes/start.sh) makes its PKI and unpacks its binaries with these.
  { bin: 'openssl', pkg: 'openssl', for: 'the Kubernetes test kit (certificates)' },
  { bin: 'curl', pkg: 'curl', for: 'the Kubernetes test kit (readiness checks)' },
  { bin: 'xz', pkg: 'xz-utils', for: 'the Kubernetes test kit (binaries)' },
];

export function has(bin) {
  return spawnSync('sh', ['-c', `command -v ${bin} || test -x /usr/sbin/${bin}`], { stdio: 'ignore' }).status === 0;
}

export function ensureSystemDeps(deps = systemDeps) {
  const missing = deps.filter((d) => !has(d.bin));
  if (missing.length === 0) return;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot || !has('apt-get')) {
    for (const d of missing) console.warn(`[setup] ${d.bin} missing (${d.for}); install Debian package "${d.pkg}" or those tests skip`);
    return;
  }
  const pkgs = missing.map((d) => d.pkg);
  console.log(`[setup] apt-get install ${pkgs.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...pkgs], { stdio: 'inherit', env });
  } catch (e) {
    console.warn(`[setup] apt-get failed (${e.message}); tests that need ${pkgs.join(', ')} will skip`);
  }
  // Debian starts some services on install; Drover's tests start their own on loopback ports.
  for (const svc of ['nginx', 'haproxy', 'prometheus', 'etcd', 'octavia-api']) spawnSync('sh', ['-c', `service ${svc} stop`], { stdio: 'ignore' });
}
