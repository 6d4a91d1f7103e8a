/**
 * REST paths of the kinds the driver writes. A fixed table instead of API discovery: these are stable GA
 * APIs (core/v1, apps/v1, policy/v1, networking.k8s.io/v1, autoscaling/v2 — all served since 1.23), and
 * skipping discovery saves a round trip per group on every agent start.
 */
import type { KubernetesObject } from '@kubernetes/client-node';

const kinds: Record<string, { prefix: string; plural: string; namespaced: boolean }> = {
  Namespace: { prefix: '/api/v1', plural: 'namespaces', namespaced: false },
  Service: { prefix: '/api/v1', plural: 'services', namespaced: true },
  Pod: { prefix: '/api/v1', plural: 'pods', namespaced: true },
  Node: { prefix: '/api/v1', plural: 'nodes', namespaced: false },
  Deployment: { prefix: '/apis/apps/v1', plural: 'deployments', namespaced: true },
  PodDisruptionBudget: { prefix: '/apis/policy/v1', plural: 'poddisruptionbudgets', namespaced: true },
  NetworkPolicy: { prefix: '/apis/networking.k8s.io/v1', plural: 'networkpolicies', namespaced: true },
  Ingress: { prefix: '/apis/networking.k8s.io/v1', plural: 'ingresses', namespaced: true },
  HorizontalPodAutoscaler: { prefix: '/apis/autoscaling/v2', plural: 'horizontalpodautoscalers', namespaced: true },
};

/** Collection path of a kind (`namespace` undefined → across all namespaces, or cluster-scoped). */
export function collectionPath(kind: string, namespace?: string): string {
  const k = kinds[kind];
  if (!k) throw new Error(`the Kubernetes driver has no REST path for kind ${kind}`);
  return k.namespaced && namespace !== undefined ? `${k.prefix}/namespaces/${encodeURIComponent(namespace)}/${k.plural}` : `${k.prefix}/${k.plural}`;
}

export function objectPath(kind: string, name: string, namespace?: string): string {
  return `${collectionPath(kind, namespace)}/${encodeURIComponent(name)}`;
}

export function pathOf(obj: KubernetesObject): string {
  const name = obj.metadata?.name;
  if (!obj.kind || !name) throw new Error('a rendered object has no kind or name');
  return objectPath(obj.kind, name, obj.metadata?.namespace);
}
