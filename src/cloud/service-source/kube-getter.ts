/**
 * The Service reader's view of a Drover cluster's Kubernetes API: the Kubernetes driver's own client
 * (KubeHttp with the Cluster's kubeconfig and context, as `drover cluster add` registered them), GET only,
 * a 404 as `undefined`. Credentials stay in the kubeconfig; errors are scrubbed by KubeHttp.
 */
import type { Cluster } from '../../api/kinds/cluster.js';
import { DroverError } from '../../errors.js';
import { loadKubeConfig } from '../../drivers/kubernetes/credentials.js';
import { isKubeStatus, KubeHttp } from '../../drivers/kubernetes/kube-http.js';
import { OctaviaError } from '../octavia/errors.js';
import type { KubeGetter } from './reader.js';

/** Undefined when the Cluster has no `spec.kubernetes` (the reader says the cluster is not a Kubernetes one). */
export function kubeGetterFor(cluster: Cluster, timeoutMs = 10_000): KubeGetter | undefined {
  const k8s = cluster.spec.kubernetes;
  if (!k8s) return undefined;
  let http: KubeHttp;
  try {
    http = new KubeHttp(loadKubeConfig({ context: k8s.context, ...(k8s.kubeconfig ? { kubeconfig: k8s.kubeconfig } : {}) }), timeoutMs);
  } catch (e) {
    const d = e instanceof DroverError ? e : undefined;
    throw new OctaviaError('ServiceClusterConfig', `Cluster ${cluster.metadata.name}: ${(e as Error).message}`, {
      field: 'spec.source.service.cluster',
      fix: d?.fix ? `${d.fix} (the Cluster's ${d.field ?? 'spec.kubernetes'}, on the control plane's host)` : 'check the Cluster\'s spec.kubernetes (context, kubeconfig) on the control plane\'s host',
      cause: e,
    });
  }
  return {
    async get(path, query) {
      try {
        return await http.request({ method: 'GET', path, ...(query ? { query } : {}) });
      } catch (e) {
        if (isKubeStatus(e, 404)) return undefined;
        throw e;
      }
    },
  };
}
