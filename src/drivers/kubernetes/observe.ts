/**
 * Turns what the cluster reports into a WorkloadObservation and a ClusterHealth. Pure functions over the
 * parsed objects of kube-shapes.ts, so every rule below is tested without a cluster.
 */
import { ANNOTATION_VERSION, LABEL_VERSION } from '../../api/labels.js';
import type { KubeDeployment, KubeNamespace, KubeNode, KubePod, KubeService, KubeVersionInfo } from './kube-shapes.js';

export function isTerminating(ns: KubeNamespace): boolean {
  return ns.metadata.deletionTimestamp !== undefined || ns.status?.phase === 'Terminating';
}

/**
 * Rollout state of a Deployment, by the rules `kubectl rollout status` uses (documented under Deployment
 * "Deployment status"): the controller must have seen the latest spec (observedGeneration ≥ generation);
 * every desired replica must be updated and available, and no old replica left. A Progressing condition
 * with reason ProgressDeadlineExceeded means the rollout stopped making progress for
 * progressDeadlineSeconds: that is Failed, with the condition's message.
 */
export function rolloutState(d: KubeDeployment): { state: 'Starting' | 'Running' | 'Failed'; message?: string } {
  const status = d.status ?? {};
  const desired = d.spec?.replicas ?? 1;
  const progressing = status.conditions?.find((c) => c.type === 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded') {
    return { state: 'Failed', message: `rollout stalled: ${progressing.message ?? 'progress deadline exceeded'}` };
  }
  const generation = d.metadata.generation ?? 0;
  const observed = status.observedGeneration ?? 0;
  if (observed < generation) return { state: 'Starting', message: `waiting for the Deployment controller to observe generation ${generation}` };
  const updated = status.updatedReplicas ?? 0;
  const total = status.replicas ?? 0;
  const available = status.availableReplicas ?? 0;
  if (updated < desired) return { state: 'Starting', message: `${updated} of ${desired} replicas updated` };
  if (total > updated) return { state: 'Starting', message: `${total - updated} old replicas pending termination` };
  if (available < desired) return { state: 'Starting', message: `${available} of ${desired} updated replicas available` };
  return { state: 'Running' };
}

export function deploymentVersion(d: KubeDeployment): string | undefined {
  return d.metadata.annotations?.[ANNOTATION_VERSION] ?? d.metadata.labels?.[LABEL_VERSION];
}

export function podRestarts(pods: readonly KubePod[]): number {
  let n = 0;
  for (const p of pods) for (const c of [...(p.status?.containerStatuses ?? []), ...(p.status?.initContainerStatuses ?? [])]) n += c.restartCount;
  return n;
}

/** The first reason a container is waiting (ImagePullBackOff, CrashLoopBackOff…), to say why a Prod is not up. */
export function podWaitingReason(pods: readonly KubePod[]): string | undefined {
  for (const p of pods) {
    for (const c of p.status?.containerStatuses ?? []) {
      const w = c.state?.waiting;
      if (w?.reason && w.reason !== 'ContainerCreating') return `pod ${p.metadata.name}: ${w.reason}${w.message ? `: ${w.message}` : ''}`;
    }
  }
  return undefined;
}

function isReady(node: KubeNode): boolean {
  return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

export function nodeSummary(nodes: readonly KubeNode[]): { ready: number; total: number } {
  return { ready: nodes.filter(isReady).length, total: nodes.length };
}

/** A Ready, schedulable node's address: ExternalIP first (reachable from outside), else InternalIP. */
export function nodeAddress(nodes: readonly KubeNode[]): string | undefined {
  const ready = nodes.filter((n) => isReady(n) && n.spec?.unschedulable !== true);
  for (const type of ['ExternalIP', 'InternalIP']) {
    for (const n of ready) {
      const a = n.status?.addresses?.find((x) => x.type === type);
      if (a) return a.address;
    }
  }
  return undefined;
}

function hostPort(host: string, port: number): string {
  const h = host.includes(':') ? `[${host}]` : host;
  return port === 80 ? `http://${h}` : `http://${h}:${port}`;
}

/**
 * Where the Prod answers: behind the cluster's ingress host when one is configured; else a LoadBalancer's
 * ingress IP or host name; else a NodePort on a Ready node; else the in-cluster DNS name (reachable only
 * from inside the cluster, e.g. by an edge running there). Undefined while a LoadBalancer has no address.
 */
export function serviceEndpoint(svc: KubeService, nodes: readonly KubeNode[], ingressHostForProd: string | undefined): string | undefined {
  if (ingressHostForProd) return `http://${ingressHostForProd}`;
  const port = svc.spec?.ports?.[0];
  if (!port) return undefined;
  const type = svc.spec?.type ?? 'ClusterIP';
  if (type === 'LoadBalancer') {
    const ing = svc.status?.loadBalancer?.ingress?.[0];
    const host = ing?.ip ?? ing?.hostname;
    return host ? hostPort(host, port.port) : undefined;
  }
  if (type === 'NodePort') {
    const address = nodeAddress(nodes);
    return address && port.nodePort ? hostPort(address, port.nodePort) : undefined;
  }
  return hostPort(`${svc.metadata.name}.${svc.metadata.namespace ?? 'default'}.svc.cluster.local`, port.port);
}

/** "1.31" from /version's major and minor; providers append "+" to minor (EKS reports "31+"). */
export function serverVersion(v: KubeVersionInfo): string | undefined {
  const major = v.major.replace(/\D+$/, '');
  const minor = v.minor.replace(/\D+$/, '');
  if (/^\d+$/.test(major) && /^\d+$/.test(minor)) return `${major}.${minor}`;
  const m = /^v?(\d+)\.(\d+)/.exec(v.gitVersion ?? '');
  return m ? `${m[1]}.${m[2]}` : undefined;
}

