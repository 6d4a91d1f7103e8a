/**
 * A fake Kubernetes API (named so in the tests): an object set of Services and EndpointSlices answering the
 * two GETs the mirror's Service reader makes, with KubeHttp's contract (404 → undefined, other failures
 * throw with `httpStatus`). The real API server is test/integration/kubernetes/mirror-service.test.ts's.
 */
import type { KubeGetter } from '../../../src/cloud/service-source/reader.js';

type Obj = { kind: string; metadata: { name: string; namespace: string; labels?: Record<string, string> } } & Record<string, unknown>;

export class FakeKubeApi implements KubeGetter {
  readonly objects: Obj[] = [];
  readonly paths: string[] = [];
  /** The next GETs throw this (an unreachable or refusing API server). */
  failure: (Error & { httpStatus: number }) | undefined;

  async get(path: string, query?: Record<string, string>): Promise<unknown> {
    this.paths.push(path);
    if (this.failure) throw this.failure;
    let m = /^\/api\/v1\/namespaces\/([^/]+)\/services\/([^/]+)$/.exec(path);
    if (m) return structuredClone(this.objects.find((o) => o.kind === 'Service' && o.metadata.namespace === m![1] && o.metadata.name === m![2]));
    m = /^\/apis\/discovery\.k8s\.io\/v1\/namespaces\/([^/]+)\/endpointslices$/.exec(path);
    if (m) {
      const [k, v] = (query?.labelSelector ?? '').split('=');
      const items = this.objects.filter((o) => o.kind === 'EndpointSlice' && o.metadata.namespace === m[1] && (!k || o.metadata.labels?.[k] === v));
      return { kind: 'EndpointSliceList', metadata: {}, items: structuredClone(items) };
    }
    return undefined;
  }

  service(namespace: string, name: string, spec: Record<string, unknown>, ingress?: { ip?: string; hostname?: string }): this {
    this.objects.push({ kind: 'Service', metadata: { name, namespace }, spec, status: { loadBalancer: ingress ? { ingress: [ingress] } : {} } });
    return this;
  }

  slice(namespace: string, service: string, name: string, ports: { name?: string; port: number; protocol?: string }[], endpoints: { addresses: string[]; ready?: boolean }[], addressType = 'IPv4'): this {
    this.objects.push({
      kind: 'EndpointSlice',
      metadata: { name, namespace, labels: { 'kubernetes.io/service-name': service } },
      addressType,
      ports,
      endpoints: endpoints.map((e) => ({ addresses: e.addresses, ...(e.ready === undefined ? {} : { conditions: { ready: e.ready } }) })),
    });
    return this;
  }

  /** Removes `address` from every endpoint of every slice (a pod gone). */
  removeAddress(address: string): void {
    for (const o of this.objects) {
      if (o.kind !== 'EndpointSlice') continue;
      o.endpoints = (o.endpoints as { addresses: string[] }[]).filter((e) => !e.addresses.includes(address));
    }
  }
}
