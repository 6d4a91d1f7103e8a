/**
 * A SIMULATED Kubernetes node for tests against a real API server that has no kubelet (../shared/kubernetes),
 * the way kwok does it: it registers a Node and keeps its Ready condition fresh, binds Pending pods to itself
 * through the `pods/binding` subresource, reports them Running and Ready (or crash-looping, on request)
 * through the `status` subresource, and confirms deletions by force-deleting pods that are terminating.
 * Everything goes through the real API, so the real Deployment, ReplicaSet, namespace and HPA controllers
 * do their work around it. No container runs: pod IPs are made up (outside 127.0.0.0/8, which Endpoints
 * reject) and nothing answers on them.
 */
import { createServer, type Server } from 'node:http';
import { KubeApiError, type KubeHttp } from '../../src/drivers/kubernetes/kube-http.js';

interface PodLike {
  metadata: { name: string; namespace: string; deletionTimestamp?: string; labels?: Record<string, string> };
  spec: { nodeName?: string; containers: { name: string; image?: string }[] };
  status?: { phase?: string; conditions?: { type: string; status: string }[]; containerStatuses?: { ready?: boolean; state?: { waiting?: unknown } }[] };
}

export interface SimulatedNodeOptions {
  name?: string;
  /** Poll period for pods. */
  intervalMs?: number;
  /** A reason (e.g. "CrashLoopBackOff") makes the pod's containers wait with it instead of running. */
  failPod?: (pod: PodLike) => string | undefined;
  /**
   * Plays kube-proxy for NodePort Services too: the node's address is 127.0.0.1 and each NodePort gets a
   * loopback listener that answers 200 for the Service's namespace (while it has a Ready pod), so that
   * warm-up, the edge and release gates have something real to talk to. Default false.
   */
  serveNodePorts?: boolean;
}

interface ServiceLike {
  metadata: { name: string; namespace: string };
  spec?: { type?: string; ports?: { nodePort?: number }[] };
}

export class SimulatedNode {
  readonly name: string;
  private ready = true;
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private lastNodeBeat = 0;
  private ipCounter = 1;
  private readonly ips = new Map<string, string>();
  /** Pods this node has bound (namespace/name), for tests that count. */
  readonly bound = new Set<string>();
  errors: string[] = [];
  /** nodePort → listener, and which namespace each answers for. */
  private readonly listeners = new Map<number, { server: Server; namespace: string }>();
  /** Namespaces with at least one Ready pod on this node (what a NodePort answers for). */
  private readyNamespaces = new Set<string>();
  /** Requests answered per namespace, for tests. */
  readonly served = new Map<string, number>();

  constructor(
    private readonly http: KubeHttp,
    private readonly opts: SimulatedNodeOptions = {},
  ) {
    this.name = opts.name ?? 'simulated-node-1';
  }

  async start(): Promise<void> {
    try {
      await this.http.request({
        method: 'POST',
        path: '/api/v1/nodes',
        body: { apiVersion: 'v1', kind: 'Node', metadata: { name: this.name, labels: { 'kubernetes.io/hostname': this.name, type: 'simulated' } } },
      });
    } catch (e) {
      if (!(e instanceof KubeApiError && e.httpStatus === 409)) throw e;
    }
    await this.beatNode();
    this.timer = setInterval(() => void this.tick(), this.opts.intervalMs ?? 250);
  }

  /** Turns the node's Ready condition False (a node that is there but cannot run pods) or True again. */
  async setReady(ready: boolean): Promise<void> {
    this.ready = ready;
    await this.beatNode();
  }

  async stop(opts: { deleteNode?: boolean } = {}): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    while (this.busy) await new Promise((r) => setTimeout(r, 20));
    await Promise.all([...this.listeners.values()].map((l) => new Promise((r) => l.server.close(r))));
    this.listeners.clear();
    if (opts.deleteNode ?? true) {
      await this.http.request({ method: 'DELETE', path: `/api/v1/nodes/${this.name}` }).catch(() => undefined);
    }
  }

  private async beatNode(): Promise<void> {
    const now = new Date().toISOString();
    const cond = (type: string, status: string, reason: string) => ({ type, status, reason, message: `simulated: ${reason}`, lastHeartbeatTime: now, lastTransitionTime: now });
    await this.http.request({
      method: 'PATCH',
      path: `/api/v1/nodes/${this.name}/status`,
      contentType: 'application/merge-patch+json',
      body: {
        status: {
          conditions: [
            cond('Ready', this.ready ? 'True' : 'False', this.ready ? 'KubeletReady' : 'KubeletNotReady'),
            cond('MemoryPressure', 'False', 'KubeletHasSufficientMemory'),
            cond('DiskPressure', 'False', 'KubeletHasNoDiskPressure'),
            cond('PIDPressure', 'False', 'KubeletHasSufficientPID'),
          ],
          addresses: [{ type: 'InternalIP', address: this.opts.serveNodePorts ? '127.0.0.1' : '10.250.0.1' }, { type: 'Hostname', address: this.name }],
          capacity: { cpu: '32', memory: '128Gi', pods: '250' },
          allocatable: { cpu: '32', memory: '128Gi', pods: '250' },
          nodeInfo: { kubeletVersion: 'v1.25.0-simulated', containerRuntimeVersion: 'simulated://0', architecture: 'amd64', operatingSystem: 'linux', machineID: '', systemUUID: '', bootID: '', kernelVersion: '', osImage: 'simulated', kubeProxyVersion: '' },
        },
      },
    });
    this.lastNodeBeat = Date.now();
  }

  private async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      // The node lifecycle controller taints a node whose Ready condition is older than 40 s.
      if (Date.now() - this.lastNodeBeat > 10_000) await this.beatNode();
      const list = (await this.http.request({ method: 'GET', path: '/api/v1/pods' })) as { items: PodLike[] };
      const ready = new Set<string>();
      for (const pod of list.items) {
        await this.handle(pod);
        if (pod.spec.nodeName === this.name && pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) ready.add(pod.metadata.namespace);
      }
      this.readyNamespaces = ready;
      if (this.opts.serveNodePorts) await this.syncNodePorts();
    } catch (e) {
      // The API server may be restarting in a test: keep going.
      this.errors.push(e instanceof Error ? e.message : String(e));
      if (this.errors.length > 50) this.errors.shift();
    } finally {
      this.busy = false;
    }
  }

  private async syncNodePorts(): Promise<void> {
    const list = (await this.http.request({ method: 'GET', path: '/api/v1/services' })) as { items: ServiceLike[] };
    const wanted = new Map<number, string>();
    for (const svc of list.items) {
      if (svc.spec?.type !== 'NodePort') continue;
      for (const p of svc.spec.ports ?? []) if (p.nodePort) wanted.set(p.nodePort, svc.metadata.namespace);
    }
    for (const [port, l] of this.listeners) {
      if (wanted.get(port) !== l.namespace) {
        l.server.close();
        this.listeners.delete(port);
      }
    }
    for (const [port, namespace] of wanted) {
      if (this.listeners.has(port)) continue;
      const server = createServer((req, res) => {
        if (!this.readyNamespaces.has(namespace)) {
          // What kube-proxy does with no ready endpoint: the connection is refused/reset.
          req.socket.destroy();
          return;
        }
        this.served.set(namespace, (this.served.get(namespace) ?? 0) + 1);
        res.writeHead(200, { 'content-type': 'text/plain', 'x-simulated-pod-of': namespace });
        res.end(`simulated pod of ${namespace}\n`);
      });
      await new Promise<void>((resolve) => {
        server.once('error', () => resolve());
        server.listen(port, '127.0.0.1', () => resolve());
      });
      if (server.listening) this.listeners.set(port, { server, namespace });
    }
  }

  private async handle(pod: PodLike): Promise<void> {
    const { name, namespace } = pod.metadata;
    const base = `/api/v1/namespaces/${namespace}/pods/${name}`;
    if (pod.metadata.deletionTimestamp) {
      // No kubelet confirms the deletion, so the "node" does: a force delete.
      await this.http.request({ method: 'DELETE', path: base, query: { gracePeriodSeconds: 0 } }).catch(() => undefined);
      return;
    }
    if (!pod.spec.nodeName) {
      await this.http.request({
        method: 'POST',
        path: `${base}/binding`,
        body: { apiVersion: 'v1', kind: 'Binding', metadata: { name, namespace }, target: { apiVersion: 'v1', kind: 'Node', name: this.name } },
      });
      this.bound.add(`${namespace}/${name}`);
      return;
    }
    if (pod.spec.nodeName !== this.name) return;
    const failing = this.opts.failPod?.(pod);
    const ready = failing === undefined && this.ready;
    const isReady = pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === (ready ? 'True' : 'False')) ?? false;
    const waiting = pod.status?.containerStatuses?.some((c) => c.state?.waiting !== undefined) ?? false;
    if (pod.status?.phase === 'Running' && isReady && waiting === (failing !== undefined)) return;
    await this.http.request({
      method: 'PATCH',
      path: `${base}/status`,
      contentType: 'application/merge-patch+json',
      body: { status: this.podStatus(pod, failing) },
    });
  }

  private podStatus(pod: PodLike, failing: string | undefined): Record<string, unknown> {
    const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
    let ip = this.ips.get(key);
    if (!ip) {
      ip = `10.244.${Math.floor(this.ipCounter / 250)}.${(this.ipCounter % 250) + 2}`;
      this.ipCounter++;
      this.ips.set(key, ip);
    }
    const now = new Date().toISOString();
    const ready = failing === undefined && this.ready ? 'True' : 'False';
    const cond = (type: string, status: string) => ({ type, status, lastTransitionTime: now });
    return {
      phase: 'Running',
      hostIP: this.opts.serveNodePorts ? '127.0.0.1' : '10.250.0.1',
      podIP: ip,
      podIPs: [{ ip }],
      startTime: now,
      conditions: [cond('Initialized', 'True'), cond('PodScheduled', 'True'), cond('ContainersReady', ready), cond('Ready', ready)],
      containerStatuses: pod.spec.containers.map((c) => ({
        name: c.name,
        image: c.image ?? '',
        imageID: `simulated://${c.image ?? ''}`,
        ready: ready === 'True',
        started: failing === undefined,
        restartCount: failing === undefined ? 0 : 3,
        state: failing === undefined ? { running: { startedAt: now } } : { waiting: { reason: failing, message: `simulated: ${failing}` } },
      })),
    };
  }
}
