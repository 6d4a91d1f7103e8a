/**
 * The Kubernetes driver's public surface. The agent builds a driver either from the Cluster object it
 * serves (`createKubernetesDriver(cluster, opts)`) or, from its driver registry, from flag settings
 * (`kubernetesDriverFromSettings`).
 */
import { z } from 'zod';
import { Cluster } from '../../api/kinds/cluster.js';
import { API_VERSION } from '../../api/meta.js';
import { parseWith } from '../../api/validate.js';
import { createKubernetesDriver, type KubernetesDriver, type KubernetesDriverOptions } from './kubernetes-driver.js';

export { addKubernetesCluster, type AddClusterInput, type AddClusterResult } from './add-cluster.js';
export { createKubernetesDriver, KubernetesDriver, type DeploymentWatch, type KubernetesDriverOptions } from './kubernetes-driver.js';
export { renderProd, type RenderOptions, type ServiceType } from './render.js';

/** Provider settings an agent may pass as strings (e.g. `--set context=kind-drover`). */
const KubernetesSettings = z
  .object({
    context: z.string().min(1),
    kubeconfig: z.string().min(1).optional(),
    ingressHost: z.string().min(1).optional(),
    serviceType: z.enum(['ClusterIP', 'NodePort', 'LoadBalancer']).optional(),
    /** Comma-separated pod CIDRs, excluded from the external ipBlock of NodePort/LoadBalancer Prods. */
    podCidrs: z.string().optional(),
    singleReplicaDisruption: z.enum(['block', 'allow']).optional(),
  })
  .strict();

/**
 * A driver for cluster `clusterName` from string settings. When the agent has the Cluster object, its
 * `spec.kubernetes` wins for context/kubeconfig/ingressHost; the settings then only carry render options.
 */
export function kubernetesDriverFromSettings(clusterName: string, settings: Record<string, string>, cluster?: Cluster): KubernetesDriver {
  const k8s = cluster?.spec.kubernetes;
  const s = parseWith(KubernetesSettings, { ...settings, ...(k8s ? { context: k8s.context } : {}) }, ['settings']);
  const target =
    cluster ??
    parseWith(Cluster, {
      apiVersion: API_VERSION,
      kind: 'Cluster',
      metadata: { name: clusterName },
      spec: {
        provider: 'kubernetes',
        kubernetes: { context: s.context, ...(s.kubeconfig ? { kubeconfig: s.kubeconfig } : {}), ...(s.ingressHost ? { ingressHost: s.ingressHost } : {}) },
      },
    });
  const opts: KubernetesDriverOptions = {
    ...(s.serviceType ? { serviceType: s.serviceType } : {}),
    ...(s.podCidrs ? { podCidrs: s.podCidrs.split(',').map((c) => c.trim()).filter(Boolean) } : {}),
    ...(s.singleReplicaDisruption ? { singleReplicaDisruption: s.singleReplicaDisruption } : {}),
  };
  return createKubernetesDriver(target, opts);
}
