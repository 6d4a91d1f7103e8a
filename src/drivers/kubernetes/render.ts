/**
 * Renders one Prod into the Kubernetes objects that run it. Pure: no I/O, same input → same output, so
 * server-side apply of the result twice changes nothing, and the tests validate it against the Kubernetes
 * OpenAPI schemas without a cluster.
 *
 * Objects, in apply order: Namespace (everything else lives in it), Deployment, Service,
 * PodDisruptionBudget, NetworkPolicy, and when asked HorizontalPodAutoscaler and Ingress.
 */
import type {
  KubernetesObject,
  V1Deployment,
  V1EnvVar,
  V1Ingress,
  V1Namespace,
  V1NetworkPolicy,
  V1NetworkPolicyPeer,
  V1NetworkPolicySpec,
  V1PodDisruptionBudget,
  V1Probe,
  V1Service,
  V2HorizontalPodAutoscaler,
} from '@kubernetes/client-node';
import type { Cluster } from '../../api/kinds/cluster.js';
import type { Fleet } from '../../api/kinds/fleet.js';
import { prodApp } from '../../api/template.js';
import type { Prod } from '../../api/kinds/prod.js';
import { ANNOTATION_VERSION, LABEL_CLUSTER, LABEL_FLEET, LABEL_PROD, LABEL_VERSION } from '../../api/labels.js';
import { DroverError } from '../../errors.js';
import { APP_NAME, CONTAINER_NAME, labelValue, MANAGED_BY_LABEL, MANAGED_BY_VALUE, namespaceName, PORT_NAME } from './names.js';

export type ServiceType = 'ClusterIP' | 'NodePort' | 'LoadBalancer';

export interface RenderOptions {
  /** How the Prod's Service is exposed. Default ClusterIP (reached through an ingress or an in-cluster edge). */
  serviceType?: ServiceType;
  /** Deployment.spec.progressDeadlineSeconds: after this a stuck rollout is reported Failed. Default 600. */
  progressDeadlineSeconds?: number;
  /**
   * PodDisruptionBudget for a single-replica Prod. `block` (default): maxUnavailable 0, so a node drain
   * waits until Drover replaces the Prod (Prods are replaced, not repaired, and the traffic layer moves its
   * tenants first). `allow`: maxUnavailable 1, for clusters whose node upgrades must never stall.
   */
  singleReplicaDisruption?: 'block' | 'allow';
  /**
   * Source CIDRs allowed in besides pods of the same namespace and of non-Drover namespaces. Traffic from
   * outside the cluster (NodePort, LoadBalancer) arrives from node or client addresses that no pod or
   * namespace selector matches, so such Services need an ipBlock. Default: ['0.0.0.0/0'] for NodePort and
   * LoadBalancer, [] for ClusterIP.
   */
  externalCidrs?: string[];
  /** Pod CIDRs of the cluster, excluded from `externalCidrs` so the ipBlock does not re-admit other Prods' pods. */
  podCidrs?: string[];
  /** ingressClassName of the Ingress rendered when the cluster has `spec.kubernetes.ingressHost`. */
  ingressClassName?: string;
}

/** Prod objects carry these; the Deployment's selector uses the stable subset (never the version). */
export function prodLabels(prod: Prod, fleet: Fleet, cluster: Cluster): Record<string, string> {
  return {
    [MANAGED_BY_LABEL]: MANAGED_BY_VALUE,
    [LABEL_FLEET]: fleet.metadata.name,
    [LABEL_PROD]: prod.metadata.name,
    [LABEL_CLUSTER]: cluster.metadata.name,
    [LABEL_VERSION]: labelValue(prod.spec.version),
  };
}

function selectorLabels(prod: Prod): Record<string, string> {
  // A Deployment's selector is immutable, so it must not contain anything that changes (the version).
  return { 'app.kubernetes.io/name': APP_NAME, [LABEL_PROD]: prod.metadata.name };
}

/** The Prod's image: the fleet's `image` with `${version}` replaced by the Prod's version. */
export function prodImage(prod: Prod, fleet: Fleet): string {
  const image = prodApp(prod, fleet).image;
  if (image === undefined) {
    throw new DroverError('DROVER_E_UNPROCESSABLE', `Fleet "${fleet.metadata.name}" has no image, so it cannot run on a Kubernetes cluster`, {
      field: 'spec.app.image',
      fix: 'set spec.app.image (it may contain ${version}), or place the fleet on local clusters only',
    });
  }
  return image.replaceAll('${version}', prod.spec.version);
}

/**
 * The container's environment: the fleet's env, then the Prod's own (which wins), then what Drover itself
 * guarantees every workload (PROD_NAME, FLEET, VERSION, PORT as the local driver gives it), which wins over
 * both so an app can rely on it. Sorted by name so the rendering is stable.
 */
function containerEnv(prod: Prod, fleet: Fleet): V1EnvVar[] {
  const env = new Map<string, string>(Object.entries(prodApp(prod, fleet).env));
  for (const [k, v] of Object.entries(prod.spec.env)) env.set(k, v);
  env.set('PROD_NAME', prod.metadata.name);
  env.set('FLEET', fleet.metadata.name);
  env.set('VERSION', prod.spec.version);
  env.set('PORT', String(prodApp(prod, fleet).port));
  return [...env.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([name, value]) => ({ name, value }));
}

function probe(path: string, periodSeconds: number, failureThreshold: number): V1Probe {
  return { httpGet: { path, port: PORT_NAME }, periodSeconds, failureThreshold, timeoutSeconds: 2 };
}

export function renderNamespace(prod: Prod, fleet: Fleet, cluster: Cluster): V1Namespace {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name: namespaceName(fleet.metadata.name, prod.metadata.name),
      labels: prodLabels(prod, fleet, cluster),
      annotations: { [ANNOTATION_VERSION]: prod.spec.version },
    },
  };
}

function renderDeployment(prod: Prod, fleet: Fleet, cluster: Cluster, ns: string, opts: RenderOptions): V1Deployment {
  const app = prodApp(prod, fleet);
  const labels = { ...prodLabels(prod, fleet, cluster), ...selectorLabels(prod) };
  const annotations = { [ANNOTATION_VERSION]: prod.spec.version };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: APP_NAME, namespace: ns, labels, annotations },
    spec: {
      // With an HPA, replicas is left out of the applied config so the HPA owns the field; otherwise every
      // apply would reset the scale (Kubernetes docs, server-side apply, "Transferring ownership").
      ...(app.autoscale ? {} : { replicas: app.replicas }),
      selector: { matchLabels: selectorLabels(prod) },
      progressDeadlineSeconds: opts.progressDeadlineSeconds ?? 600,
      // Surge, never go below the desired count: a Prod keeps serving while its pods are replaced.
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      template: {
        metadata: { labels, annotations },
        spec: {
          containers: [
            {
              name: CONTAINER_NAME,
              image: prodImage(prod, fleet),
              ...(app.command !== undefined ? { command: [app.command] } : {}),
              ...(app.args.length > 0 ? { args: [...app.args] } : {}),
              env: containerEnv(prod, fleet),
              ports: [{ name: PORT_NAME, containerPort: app.port, protocol: 'TCP' }],
              ...(app.resources ? { resources: { ...app.resources } } : {}),
              // Readiness gates traffic quickly; liveness is slower so a busy app is not killed for one slow
              // answer; the startup probe holds liveness off while the app starts (up to 5 minutes).
              readinessProbe: probe(app.healthPath, 5, 3),
              livenessProbe: probe(app.healthPath, 10, 6),
              startupProbe: probe(app.healthPath, 5, 60),
            },
          ],
        },
      },
    },
  };
}

function renderService(prod: Prod, fleet: Fleet, cluster: Cluster, ns: string, opts: RenderOptions): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: APP_NAME, namespace: ns, labels: prodLabels(prod, fleet, cluster) },
    spec: {
      type: opts.serviceType ?? 'ClusterIP',
      selector: selectorLabels(prod),
      ports: [{ name: PORT_NAME, port: 80, targetPort: PORT_NAME, protocol: 'TCP' }],
    },
  };
}

function renderPodDisruptionBudget(prod: Prod, fleet: Fleet, cluster: Cluster, ns: string, opts: RenderOptions): V1PodDisruptionBudget {
  const app = prodApp(prod, fleet);
  const least = app.autoscale ? app.autoscale.minReplicas : app.replicas;
  // Several replicas: keep one up through voluntary disruptions. One replica: see singleReplicaDisruption.
  const budget = least > 1 ? { minAvailable: 1 } : { maxUnavailable: opts.singleReplicaDisruption === 'allow' ? 1 : 0 };
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name: APP_NAME, namespace: ns, labels: prodLabels(prod, fleet, cluster) },
    spec: { ...budget, selector: { matchLabels: selectorLabels(prod) } },
  };
}

/**
 * client-node's model names a rule's `from` `_from` (its serializer renames it); we send JSON as Kubernetes
 * defines it, so the rule is typed here with the real field name.
 */
type NetworkPolicyJson = Omit<V1NetworkPolicy, 'spec'> & {
  spec: Omit<V1NetworkPolicySpec, 'ingress'> & { ingress: { from: V1NetworkPolicyPeer[] }[] };
};

/**
 * Ingress is allowed from (1) pods of this namespace, (2) pods in any namespace that Drover does not
 * manage — the ingress controller, the edge, monitoring — and (3) optional external CIDRs. Other Prods'
 * namespaces carry `app.kubernetes.io/managed-by=drover` and so match none of these: since a pod selected
 * by a policy admits only what some rule allows, traffic from other Prods is denied.
 *
 * (2) uses `NotIn (drover)`: a label selector's NotIn also matches objects that lack the key entirely
 * (Kubernetes docs, "Labels and Selectors", set-based requirements), so unlabelled namespaces such as
 * ingress-nginx or kube-system match.
 */
function renderNetworkPolicy(prod: Prod, fleet: Fleet, cluster: Cluster, ns: string, opts: RenderOptions): NetworkPolicyJson {
  const exposed = opts.serviceType === 'NodePort' || opts.serviceType === 'LoadBalancer';
  const cidrs = opts.externalCidrs ?? (exposed ? ['0.0.0.0/0'] : []);
  const external: V1NetworkPolicyPeer[] = cidrs.map((cidr) => ({
    ipBlock: { cidr, ...(opts.podCidrs && opts.podCidrs.length > 0 ? { except: [...opts.podCidrs] } : {}) },
  }));
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'drover-isolate-prod', namespace: ns, labels: prodLabels(prod, fleet, cluster) },
    spec: {
      podSelector: {},
      policyTypes: ['Ingress'],
      ingress: [
        {
          from: [
            { podSelector: {} },
            { namespaceSelector: { matchExpressions: [{ key: MANAGED_BY_LABEL, operator: 'NotIn', values: [MANAGED_BY_VALUE] }] } },
            ...external,
          ],
        },
      ],
    },
  };
}

function renderAutoscaler(prod: Prod, fleet: Fleet, cluster: Cluster, ns: string): V2HorizontalPodAutoscaler | undefined {
  const scale = prodApp(prod, fleet).autoscale;
  if (!scale) return undefined;
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name: APP_NAME, namespace: ns, labels: prodLabels(prod, fleet, cluster) },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: APP_NAME },
      minReplicas: scale.minReplicas,
      maxReplicas: Math.max(scale.minReplicas, scale.maxReplicas),
      // Utilization is relative to the container's CPU request: without spec.app.resources.requests.cpu
      // the HPA reports FailedGetResourceMetric and does not scale.
      metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: scale.targetCPUUtilization } } }],
    },
  };
}

/** Host name the Prod answers on behind the cluster's ingress: `<namespace>.<ingressHost>` (wildcard DNS). */
export function prodIngressHost(ns: string, ingressHost: string): string {
  return `${ns}.${ingressHost}`;
}

function renderIngress(prod: Prod, fleet: Fleet, cluster: Cluster, ns: string, opts: RenderOptions): V1Ingress | undefined {
  const ingressHost = cluster.spec.kubernetes?.ingressHost;
  if (!ingressHost) return undefined;
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name: APP_NAME, namespace: ns, labels: prodLabels(prod, fleet, cluster) },
    spec: {
      ...(opts.ingressClassName ? { ingressClassName: opts.ingressClassName } : {}),
      rules: [
        {
          host: prodIngressHost(ns, ingressHost),
          http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: APP_NAME, port: { name: PORT_NAME } } } }] },
        },
      ],
    },
  };
}

/** Every object of one Prod, Namespace first. */
export function renderProd(prod: Prod, fleet: Fleet, cluster: Cluster, opts: RenderOptions = {}): KubernetesObject[] {
  const namespace = renderNamespace(prod, fleet, cluster);
  const ns = namespace.metadata?.name ?? namespaceName(fleet.metadata.name, prod.metadata.name);
  const objects: (KubernetesObject | undefined)[] = [
    namespace,
    renderDeployment(prod, fleet, cluster, ns, opts),
    renderService(prod, fleet, cluster, ns, opts),
    renderPodDisruptionBudget(prod, fleet, cluster, ns, opts),
    renderNetworkPolicy(prod, fleet, cluster, ns, opts),
    renderAutoscaler(prod, fleet, cluster, ns),
    renderIngress(prod, fleet, cluster, ns, opts),
  ];
  return objects.filter((o): o is KubernetesObject => o !== undefined);
}
