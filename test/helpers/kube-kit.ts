/**
 * The real Kubernetes control plane for tests (../shared/kubernetes: etcd, kube-apiserver,
 * kube-controller-manager on loopback). `scripts/test.mjs` starts one for the whole run and exports
 * DROVER_TEST_KUBECONFIG and DROVER_TEST_KUBE_KIT (its directory); suites read them here. Against kind or
 * EKS only DROVER_TEST_KUBECONFIG is set, and what needs the kit itself (restarting its API server,
 * simulated nodes) is left out.
 */
import { spawn } from 'node:child_process';
import { openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { loadKubeConfig } from '../../src/drivers/kubernetes/credentials.js';
import { KubeHttp } from '../../src/drivers/kubernetes/kube-http.js';
import { waitFor } from './wait-for.js';

export const kubeconfigPath = process.env.DROVER_TEST_KUBECONFIG;
/** Set when the API server is the test kit (so it can be restarted and has no kubelet). */
export const kitDir = process.env.DROVER_TEST_KUBE_KIT;

export const kubeSkipReason = kubeconfigPath
  ? false
  : 'DROVER_TEST_KUBECONFIG is not set and the test kit (../shared/kubernetes) was not started, so this real-cluster suite did NOT run (`npm test` starts the kit when ../shared/kubernetes exists; or see docs/kubernetes.md for kind)';

export function kubeContext(): string {
  if (process.env.DROVER_TEST_CONTEXT) return process.env.DROVER_TEST_CONTEXT;
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath ?? '');
  return kc.getCurrentContext();
}

export function adminHttp(): KubeHttp {
  return new KubeHttp(loadKubeConfig({ context: kubeContext(), ...(kubeconfigPath ? { kubeconfig: kubeconfigPath } : {}) }));
}

/** A KubeConfig like the test one, but presenting `token` as its user's credential. */
export function kubeConfigWithToken(token: string): KubeConfig {
  const base = loadKubeConfig({ context: kubeContext(), ...(kubeconfigPath ? { kubeconfig: kubeconfigPath } : {}) });
  const cluster = base.getCurrentCluster();
  if (!cluster) throw new Error('test kubeconfig has no cluster');
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [cluster],
    users: [{ name: 'limited', token }],
    contexts: [{ name: 'limited', cluster: cluster.name, user: 'limited' }],
    currentContext: 'limited',
  });
  return kc;
}

/** A ServiceAccount with no RBAC rights at all, and a token for it (TokenRequest API). */
export async function tokenWithoutRights(http: KubeHttp, name: string): Promise<string> {
  await http.request({ method: 'POST', path: '/api/v1/namespaces/default/serviceaccounts', body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name } } }).catch((e: unknown) => {
    if (!(e instanceof Error && /409|AlreadyExists/.test(e.message))) throw e;
  });
  const tr = (await http.request({
    method: 'POST',
    path: `/api/v1/namespaces/default/serviceaccounts/${name}/token`,
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } },
  })) as { status: { token: string } };
  return tr.status.token;
}

/**
 * Kills the kit's kube-apiserver (SIGKILL: an outage, not a drain), keeps it down for `downMs`, then starts
 * it again with the same command line and waits until it is ready. Resolves once it answers /readyz.
 */
export async function restartApiServer(downMs: number): Promise<void> {
  if (!kitDir) throw new Error('restartApiServer needs the test kit (DROVER_TEST_KUBE_KIT)');
  const pidFile = join(kitDir, 'kube-apiserver.pid');
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((a) => a.length > 0);
  process.kill(pid, 'SIGKILL');
  await waitFor('kube-apiserver to exit', () => !isAlive(pid), { timeoutMs: 10_000 });
  await new Promise((r) => setTimeout(r, downMs));
  const [cmd, ...args] = argv;
  if (!cmd) throw new Error('empty kube-apiserver command line');
  const log = openSync(join(kitDir, 'logs', 'kube-apiserver.log'), 'a');
  const child = spawn(cmd, args, { detached: true, stdio: ['ignore', log, log] });
  child.unref();
  writeFileSync(pidFile, `${child.pid}\n`);
  const http = adminHttp();
  await waitFor(
    'kube-apiserver to be ready again',
    async () => {
      try {
        await http.request({ method: 'GET', path: '/readyz', timeoutMs: 2000 });
        return true;
      } catch {
        return false;
      }
    },
    { timeoutMs: 90_000, intervalMs: 250 },
  );
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.split(' ')[2] !== 'Z';
  } catch {
    return false;
  }
}
