/**
 * `drover cluster add NAME --kubeconfig PATH --context C`: checks the context, probes the cluster, and
 * creates or updates the Cluster through the API. The Cluster records only where the credentials are
 * (kubeconfig path and context name), never the credentials themselves.
 */
import { resolve } from 'node:path';
import { Cluster, type ClusterSpec } from '../../api/kinds/cluster.js';
import { API_VERSION } from '../../api/meta.js';
import { parseWith } from '../../api/validate.js';
import { createOrUpdate } from '../../store/mutate.js';
import type { Store } from '../../store/store.js';
import type { ClusterHealth } from '../driver.js';
import { loadKubeConfig } from './credentials.js';
import { createKubernetesDriver } from './kubernetes-driver.js';

export interface AddClusterInput {
  name: string;
  context: string;
  kubeconfig?: string;
  provider?: 'kubernetes' | 'eks';
  region?: string;
  domain?: string;
  capacity?: number;
  ingressHost?: string;
}

export interface AddClusterResult {
  cluster: Cluster;
  created: boolean;
  health: ClusterHealth;
  /** Things the user should know that did not stop the command (an unreachable cluster). */
  warnings: string[];
}

export async function addKubernetesCluster(store: Store, input: AddClusterInput, opts: { probeTimeoutMs?: number } = {}): Promise<AddClusterResult> {
  // Absolute, so an agent started from another directory finds the same file.
  const kubeconfig = input.kubeconfig === undefined ? undefined : resolve(input.kubeconfig);
  const kc = loadKubeConfig({
    context: input.context,
    ...(kubeconfig ? { kubeconfig } : {}),
    contextField: '--context',
    kubeconfigField: '--kubeconfig',
  });
  const kubernetes: NonNullable<ClusterSpec['kubernetes']> = {
    context: input.context,
    ...(kubeconfig ? { kubeconfig } : {}),
    ...(input.ingressHost ? { ingressHost: input.ingressHost } : {}),
  };
  // The flags over a stored spec (or none): fields not given again keep their stored values.
  const specOver = (base: ClusterSpec | undefined) => ({
    ...(base ?? {}),
    provider: input.provider ?? 'kubernetes',
    ...(input.region !== undefined ? { region: input.region } : {}),
    ...(input.domain !== undefined ? { domain: input.domain } : {}),
    ...(input.capacity !== undefined ? { capacity: { prods: input.capacity } } : {}),
    kubernetes,
  });
  const existing = await store.get('Cluster', input.name);
  const draft = parseWith(Cluster, {
    apiVersion: API_VERSION,
    kind: 'Cluster',
    metadata: existing ? { ...existing.metadata } : { name: input.name },
    spec: specOver(existing?.spec),
  });

  const probeTimeoutMs = opts.probeTimeoutMs ?? 5_000;
  const driver = createKubernetesDriver(draft, { kubeConfig: kc, requestTimeoutMs: probeTimeoutMs, retry: { attempts: 1 } });
  const health = await driver.health();
  await driver.close();
  const warnings: string[] = [];
  let probedVersion: string | undefined;
  if (health.failure === 'unauthorized') {
    warnings.push(`cluster "${input.name}" refused Drover's credentials: ${health.message ?? '401 Unauthorized'}; it was saved anyway — fix the kubeconfig user, and the agent will pick it up`);
  } else if (!health.reachable) {
    warnings.push(`cluster "${input.name}" is not reachable now (${health.message ?? 'no answer'}); it was saved anyway and the agent will keep trying`);
  } else if (health.serverVersion) {
    // The server's minor version feeds the EKS support-calendar check.
    probedVersion = health.serverVersion;
  }
  const { status: _status, ...doc } = { ...draft, spec: { ...draft.spec, ...(probedVersion ? { version: probedVersion } : {}) } };
  // The probe takes seconds while the agent heartbeats into this Cluster: write through createOrUpdate,
  // which re-applies the flags to the Cluster as it is at write time.
  let created = true;
  const cluster = await createOrUpdate<Cluster>(store, { ...doc, metadata: { ...doc.metadata, resourceVersion: undefined } }, (cur) => {
    created = false;
    cur.spec = parseWith(Cluster, { ...cur, spec: specOver(cur.spec) }).spec;
    if (probedVersion) cur.spec.version = probedVersion;
  });
  return { cluster, created, health, warnings };
}
