/**
 * ClusterDriver for Kubernetes clusters: each Prod is a namespace of objects rendered by render.ts and
 * applied with server-side apply; state is read back from the Deployment, its pods and its Service.
 *
 * Nothing is remembered that the cluster cannot tell again: Prods are found through namespace labels, so
 * an agent that restarts sees exactly what runs. Credentials live in the KubeConfig only (credentials.ts).
 */
import { createHash } from 'node:crypto';
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import type { z } from 'zod';
import type { Cluster } from '../../api/kinds/cluster.js';
import type { Fleet } from '../../api/kinds/fleet.js';
import { prodApp } from '../../api/template.js';
import type { Prod } from '../../api/kinds/prod.js';
import { LABEL_CLUSTER, LABEL_PROD } from '../../api/labels.js';
import type { ClusterDriver, ClusterHealth, WorkloadObservation } from '../driver.js';
import { DroverError } from '../../errors.js';
import { loadKubeConfig } from './credentials.js';
import { isKubeStatus, KubeApiError, KubeHttp, type KubeRequest, type KubeRequestCounts } from './kube-http.js';
import { KubeDeployment, KubeNamespace, KubeNode, KubePod, KubeService, KubeVersionInfo, KubeWatchEvent, kubeList } from './kube-shapes.js';
import { APP_NAME, MANAGED_SELECTOR } from './names.js';
import { deploymentVersion, isTerminating, nodeSummary, podRestarts, podWaitingReason, rolloutState, serverVersion, serviceEndpoint } from './observe.js';
import { collectionPath, objectPath, pathOf } from './resource-paths.js';
import { prodIngressHost, renderProd, type RenderOptions } from './render.js';
import { defaultRetryPolicy, isRetryable, retryDelayMs, withRetry, type RetryPolicy } from './retry.js';

export const FIELD_MANAGER = 'drover';
/** Holds a Deployment's replicas for the HPA while Drover lets go of them (see handOverReplicas). */
export const REPLICAS_HANDOVER_MANAGER = 'drover-replicas-handover';
export const APPLY_PATCH_CONTENT_TYPE = 'application/apply-patch+yaml';

/** Kinds a Prod may or may not have, depending on the fleet and cluster; apply deletes the ones not rendered. */
const OPTIONAL_KINDS = ['HorizontalPodAutoscaler', 'Ingress'] as const;

export interface KubernetesDriverOptions extends RenderOptions {
  /** An already loaded KubeConfig with its context selected (tests, `drover cluster add`); else loaded from the Cluster. */
  kubeConfig?: KubeConfig;
  retry?: Partial<RetryPolicy>;
  /** Per-request timeout; health probes use at most 5 s. Default 30 s. */
  requestTimeoutMs?: number;
  /**
   * An unchanged Prod is not applied again (0 writes per reconcile) until this long has passed since its
   * last apply; then it is, so that a hand edit (`kubectl edit`) is taken back. Default 10 minutes.
   */
  reapplyAfterMs?: number;
}

export interface DeploymentWatch {
  stop(): Promise<void>;
}

export function createKubernetesDriver(cluster: Cluster, opts: KubernetesDriverOptions = {}): KubernetesDriver {
  return new KubernetesDriver(cluster, opts);
}

export class KubernetesDriver implements ClusterDriver {
  readonly provider = 'kubernetes' as const;
  private readonly http: KubeHttp;
  private readonly retry: RetryPolicy;
  /** Prod name → namespace, learned from apply and from labels; only a shortcut, labels stay the truth. */
  private readonly namespaces = new Map<string, string>();
  private readonly watches = new Set<DeploymentWatch>();
  /** Prod name → hash of what was last applied and when: an unchanged Prod costs no write. */
  private readonly applied = new Map<string, { hash: string; at: number }>();

  constructor(
    private readonly cluster: Cluster,
    private readonly opts: KubernetesDriverOptions = {},
  ) {
    const k8s = cluster.spec.kubernetes;
    if (!k8s && !opts.kubeConfig) {
      throw new DroverError('DROVER_E_INVALID', `Cluster "${cluster.metadata.name}" has no spec.kubernetes, so the Kubernetes driver cannot reach it`, {
        field: 'spec.kubernetes.context',
        fix: 'register it with `drover cluster add NAME --context C [--kubeconfig PATH]`',
      });
    }
    const kc = opts.kubeConfig ?? loadKubeConfig({ context: k8s?.context ?? '', ...(k8s?.kubeconfig ? { kubeconfig: k8s.kubeconfig } : {}) });
    this.http = new KubeHttp(kc, opts.requestTimeoutMs ?? 30_000);
    this.retry = { ...defaultRetryPolicy, ...opts.retry };
  }

  private selector(extra?: string): string {
    return [MANAGED_SELECTOR, `${LABEL_CLUSTER}=${this.cluster.metadata.name}`, ...(extra ? [extra] : [])].join(',');
  }

  /** A request with the retry policy; statuses in `tolerate` resolve to undefined instead of failing. */
  private async call(req: KubeRequest, tolerate: number[] = [], policy: RetryPolicy = this.retry): Promise<unknown> {
    return withRetry(async () => {
      try {
        return await this.http.request(req);
      } catch (e) {
        if (isKubeStatus(e, ...tolerate)) return undefined;
        throw e;
      }
    }, policy);
  }

  private async get<T extends z.ZodTypeAny>(path: string, schema: T, query?: KubeRequest['query']): Promise<z.infer<T> | undefined> {
    const body = await this.call({ method: 'GET', path, ...(query ? { query } : {}) }, [404]);
    return body === undefined ? undefined : (schema.parse(body) as z.infer<T>);
  }

  /**
   * Server-side apply of one object (Kubernetes docs, "Server-Side Apply"): PATCH with content type
   * application/apply-patch+yaml (JSON is valid YAML), fieldManager=drover, force=true. The server merges
   * the fields we send into the object and records `drover` as their owner; applying the same
   * configuration again is a no-op (no new resourceVersion, no new generation, so no rollout).
   *
   * force=true: Drover is the only intended writer of these objects. Without force, a field someone else
   * set (a `kubectl edit`, `kubectl scale`) makes the apply fail with 409 and the Prod drifts forever;
   * with force we take those fields back, which is what "apply makes the cluster run what the Prod says"
   * means. Fields we do not send (the HPA's replicas, defaulted fields) stay with their owners.
   */
  private async serverSideApply(obj: KubernetesObject): Promise<unknown> {
    return this.call({
      method: 'PATCH',
      path: pathOf(obj),
      query: { fieldManager: FIELD_MANAGER, force: true },
      body: obj,
      contentType: APPLY_PATCH_CONTENT_TYPE,
    });
  }

  /** Requests sent so far (reads and writes), for benchmarks and tests. */
  get requestCounts(): Readonly<KubeRequestCounts> {
    return this.http.counts;
  }

  async apply(prod: Prod, fleet: Fleet): Promise<void> {
    const objects = renderProd(prod, fleet, this.cluster, this.opts);
    const ns = objects[0]?.metadata?.name;
    if (!ns) throw new Error('render produced no namespace');
    this.namespaces.set(prod.metadata.name, ns);
    const hash = createHash('sha256').update(JSON.stringify([objects, prodApp(prod, fleet).autoscale ?? null])).digest('hex');
    const last = this.applied.get(prod.metadata.name);
    if (last?.hash === hash && Date.now() - last.at < (this.opts.reapplyAfterMs ?? 600_000)) return;
    this.applied.delete(prod.metadata.name);
    // In order: the namespace must exist before anything in it. Sequential on purpose: a Prod has at most
    // seven objects and the API server's fairness limits favour few concurrent requests per client.
    if (prodApp(prod, fleet).autoscale) await this.handOverReplicas(ns);
    for (const obj of objects) {
      const stored = await this.serverSideApply(obj);
      // The namespace of a retired Prod may still be terminating: objects already in it accept the apply,
      // and then vanish with it. Wait for it to go and apply afresh, instead of reporting success.
      if (obj.kind === 'Namespace' && isTerminating(KubeNamespace.parse(stored))) {
        throw new KubeApiError(409, `namespace ${ns} is being terminated (the Prod's previous namespace); applying again once it is gone`, 'Conflict', undefined, true);
      }
    }
    const rendered = new Set(objects.map((o) => o.kind));
    for (const kind of OPTIONAL_KINDS) {
      if (!rendered.has(kind)) await this.call({ method: 'DELETE', path: objectPath(kind, APP_NAME, ns) }, [404]);
    }
    this.applied.set(prod.metadata.name, { hash, at: Date.now() });
  }

  /**
   * When a fleet starts autoscaling, the rendered Deployment stops carrying `replicas`. Server-side apply
   * deletes (resets to the default, 1) a field its only owner stops applying, which would scale the Prod
   * down to one pod until the HPA reacts. The documented way out (Kubernetes docs, server-side apply,
   * "Transferring ownership") is to have another field manager apply the current value first, so the
   * field stays owned and keeps its value; the HPA then takes it over when it scales.
   */
  private async handOverReplicas(ns: string): Promise<void> {
    const current = await this.get(objectPath('Deployment', APP_NAME, ns), KubeDeployment);
    const replicas = current?.spec?.replicas;
    if (!current || replicas === undefined) return;
    const ownedByDrover = (current.metadata.managedFields ?? []).some((m) => {
      const spec = m.fieldsV1?.['f:spec'];
      return m.manager === FIELD_MANAGER && typeof spec === 'object' && spec !== null && 'f:replicas' in spec;
    });
    if (!ownedByDrover) return;
    await this.call({
      method: 'PATCH',
      path: objectPath('Deployment', APP_NAME, ns),
      // Same value as now, so no conflict: the two managers share the field, then Drover lets go.
      query: { fieldManager: REPLICAS_HANDOVER_MANAGER },
      body: { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: APP_NAME, namespace: ns }, spec: { replicas } },
      contentType: APPLY_PATCH_CONTENT_TYPE,
    });
  }

  /** The Prod's namespace, from the shortcut map or from the namespace labels. */
  private async namespaceOf(prodName: string): Promise<string | undefined> {
    const known = this.namespaces.get(prodName);
    if (known) return known;
    const { items } = await this.listObjects(collectionPath('Namespace'), KubeNamespace, this.selector(`${LABEL_PROD}=${prodName}`));
    const ns = items[0]?.metadata.name;
    if (ns) this.namespaces.set(prodName, ns);
    return ns;
  }

  async observe(prodName: string): Promise<WorkloadObservation> {
    const nsName = await this.namespaceOf(prodName);
    // Whatever is not there any more must be applied again, even if the Prod did not change.
    if (!nsName) {
      this.applied.delete(prodName);
      return { state: 'Absent', restarts: 0 };
    }
    const ns = await this.get(objectPath('Namespace', nsName), KubeNamespace);
    if (!ns) {
      this.namespaces.delete(prodName);
      this.applied.delete(prodName);
      return { state: 'Absent', restarts: 0 };
    }
    if (isTerminating(ns)) {
      this.applied.delete(prodName);
      return { state: 'Stopping', restarts: 0, message: `namespace ${nsName} is being deleted` };
    }
    const deployment = await this.get(objectPath('Deployment', APP_NAME, nsName), KubeDeployment);
    if (!deployment) {
      this.applied.delete(prodName);
      return { state: 'Starting', restarts: 0, message: `namespace ${nsName} exists, its Deployment does not yet` };
    }
    const rollout = rolloutState(deployment);
    const pods = (await this.listObjects(collectionPath('Pod', nsName), KubePod, `${LABEL_PROD}=${prodName}`)).items;
    const waiting = rollout.state === 'Running' ? undefined : podWaitingReason(pods);
    const message = [rollout.message, waiting].filter((m) => m !== undefined).join('; ');
    const version = deploymentVersion(deployment);
    const endpoint = await this.endpoint(nsName);
    return {
      state: rollout.state,
      restarts: podRestarts(pods),
      ...(version !== undefined ? { version } : {}),
      ...(endpoint !== undefined ? { endpoint } : {}),
      ...(message ? { message } : {}),
    };
  }

  private async endpoint(nsName: string): Promise<string | undefined> {
    const ingressHost = this.cluster.spec.kubernetes?.ingressHost;
    if (ingressHost) return serviceEndpoint({ metadata: { name: APP_NAME } }, [], prodIngressHost(nsName, ingressHost));
    const svc = await this.get(objectPath('Service', APP_NAME, nsName), KubeService);
    if (!svc) return undefined;
    const nodes = svc.spec?.type === 'NodePort' ? (await this.listObjects(collectionPath('Node'), KubeNode, '')).items : [];
    return serviceEndpoint(svc, nodes, undefined);
  }

  /**
   * Deletes the Prod's namespace; Kubernetes then deletes everything in it (the namespace goes Terminating
   * until its contents are gone, and observe reports Stopping meanwhile). Gone already (404) and deletion
   * already under way count as done: older servers answer that with 409, 1.25 answers 200 with the
   * Namespace as it is, so no particular answer is relied on.
   */
  async retire(prodName: string): Promise<void> {
    this.applied.delete(prodName);
    const nsName = await this.namespaceOf(prodName);
    if (!nsName) return;
    await this.call({ method: 'DELETE', path: objectPath('Namespace', nsName), query: { propagationPolicy: 'Background' } }, [404, 409]);
  }

  async list(): Promise<string[]> {
    const { items } = await this.listObjects(collectionPath('Namespace'), KubeNamespace, this.selector());
    const names: string[] = [];
    for (const ns of items) {
      const prod = ns.metadata.labels?.[LABEL_PROD];
      if (prod) {
        names.push(prod);
        this.namespaces.set(prod, ns.metadata.name);
      }
    }
    return names.sort();
  }

  private async listObjects<T extends z.ZodTypeAny>(path: string, item: T, labelSelector: string): Promise<{ items: z.infer<T>[]; resourceVersion?: string }> {
    const body = await this.call({ method: 'GET', path, query: labelSelector ? { labelSelector } : {} });
    const parsed = kubeList(item).parse(body);
    return { items: parsed.items, ...(parsed.metadata?.resourceVersion ? { resourceVersion: parsed.metadata.resourceVersion } : {}) };
  }

  async health(): Promise<ClusterHealth> {
    // A health probe must answer quickly: two attempts, short timeout.
    const quick: RetryPolicy = { ...this.retry, attempts: 2 };
    const timeoutMs = Math.min(this.opts.requestTimeoutMs ?? 5_000, 5_000);
    try {
      const info = KubeVersionInfo.parse(await this.call({ method: 'GET', path: '/version', timeoutMs }, [], quick));
      const version = serverVersion(info);
      let nodes: ClusterHealth['nodes'];
      let message: string | undefined;
      try {
        const body = await this.call({ method: 'GET', path: collectionPath('Node'), timeoutMs }, [], quick);
        nodes = nodeSummary(kubeList(KubeNode).parse(body).items);
      } catch (e) {
        // Reachable but not allowed to list nodes (RBAC): still reachable, say why nodes are missing.
        message = e instanceof Error ? this.http.scrub(e.message) : 'cannot list nodes';
      }
      return { reachable: true, ...(version ? { serverVersion: version } : {}), ...(nodes ? { nodes } : {}), ...(message ? { message } : {}) };
    } catch (e) {
      if (isKubeStatus(e, 401)) {
        return {
          reachable: false,
          failure: 'unauthorized',
          message: `the API server at ${this.http.server} answered 401 Unauthorized to ${this.http.identity}: the credential is wrong or expired`,
        };
      }
      return { reachable: false, failure: 'unreachable', message: e instanceof Error ? this.http.scrub(e.message) : 'unreachable' };
    }
  }

  /**
   * Calls `onChange(prodName)` whenever a Prod's Deployment changes, so the agent observes promptly
   * instead of polling. List, then watch from the list's resourceVersion (Kubernetes docs, "API Concepts",
   * efficient detection of changes). When the watch expires — HTTP 410 Gone, or an ERROR event with a
   * Status of code 410 — the resourceVersion is too old: list again (reporting every Prod once, as the
   * callback is level-based) and watch from the new one. A stream the server closes normally (its watch
   * timeout) resumes from the last seen resourceVersion; other failures back off and re-list.
   */
  watchDeployments(onChange: (prodName: string) => void, onError: (e: unknown) => void = () => {}): DeploymentWatch {
    const abort = new AbortController();
    const selector = this.selector();
    const path = collectionPath('Deployment');
    const prodOf = (obj: Record<string, unknown>): string | undefined => {
      const parsed = KubeDeployment.safeParse(obj);
      return parsed.success ? parsed.data.metadata.labels?.[LABEL_PROD] : undefined;
    };
    const loop = async () => {
      let failures = 0;
      let resourceVersion: string | undefined;
      while (!abort.signal.aborted) {
        try {
          if (resourceVersion === undefined) {
            const listed = await this.listObjects(path, KubeDeployment, selector);
            resourceVersion = listed.resourceVersion ?? '0';
            for (const d of listed.items) {
              const prod = d.metadata.labels?.[LABEL_PROD];
              if (prod) onChange(prod);
            }
          }
          await this.http.stream(
            path,
            { watch: true, labelSelector: selector, resourceVersion, allowWatchBookmarks: true, timeoutSeconds: 300 },
            (line) => {
              const ev = KubeWatchEvent.safeParse(line);
              if (!ev.success) return;
              const { type, object } = ev.data;
              if (type === 'ERROR') {
                // A Status object: keep its reason ("Expired" for a 410) as an answer of the server would.
                throw new KubeApiError(
                  typeof object.code === 'number' ? object.code : 500,
                  `watch error: ${typeof object.message === 'string' ? object.message : 'unknown'}`,
                  typeof object.reason === 'string' ? object.reason : undefined,
                );
              }
              const meta = object.metadata;
              if (meta && typeof meta === 'object' && 'resourceVersion' in meta && typeof meta.resourceVersion === 'string') resourceVersion = meta.resourceVersion;
              if (type === 'BOOKMARK') return;
              const prod = prodOf(object);
              if (prod) onChange(prod);
            },
            abort.signal,
          );
          failures = 0;
        } catch (e) {
          if (abort.signal.aborted) return;
          onError(e);
          if (isKubeStatus(e, 410)) {
            resourceVersion = undefined;
            continue;
          }
          failures++;
          resourceVersion = undefined;
          const delay = isRetryable(e) ? retryDelayMs(e, failures, this.retry) : Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** failures);
          await Promise.race([this.retry.sleep(delay), new Promise((resolve) => abort.signal.addEventListener('abort', resolve, { once: true }))]);
        }
      }
    };
    const done = loop();
    const handle: DeploymentWatch = {
      stop: async () => {
        abort.abort();
        await done;
        this.watches.delete(handle);
      },
    };
    this.watches.add(handle);
    return handle;
  }

  async close(): Promise<void> {
    await Promise.all([...this.watches].map((w) => w.stop()));
  }
}
