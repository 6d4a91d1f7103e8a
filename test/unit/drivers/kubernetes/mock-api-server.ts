/**
 * A mock Kubernetes API server on 127.0.0.1:0 that stands in for a real cluster in the driver's unit tests.
 * It keeps objects in memory, records every request, and implements just enough of the documented API
 * semantics to exercise the driver:
 * - server-side apply (PATCH application/apply-patch+yaml, fieldManager required): creates the object
 *   (201), or updates it — a new resourceVersion only when the applied content changed, a new generation
 *   only when its spec changed; applying the same object again is a no-op;
 * - GET of objects and collections (equality label selectors only), with list resourceVersions;
 * - namespace DELETE → Terminating, then `purgeNamespace` removes it and everything in it;
 * - Deployment watch streams (ADDED/MODIFIED events, ERROR 410 on `expireWatches`);
 * - /version; bearer-token auth (401 without the right token); injected failures with Retry-After.
 * It does not run controllers: tests set Deployment status and pods themselves.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  contentType: string | undefined;
  authorization: string | undefined;
  body: unknown;
  status: number;
}

type Obj = Record<string, unknown> & { metadata: Record<string, unknown> & { name: string; namespace?: string; labels?: Record<string, string> } };

interface Fault {
  method?: string;
  pathIncludes?: string;
  remaining: number;
  status: number;
  headers: Record<string, string>;
  message: string | undefined;
}

const COLLECTIONS: Record<string, { kind: string; apiVersion: string }> = {
  namespaces: { kind: 'Namespace', apiVersion: 'v1' },
  services: { kind: 'Service', apiVersion: 'v1' },
  pods: { kind: 'Pod', apiVersion: 'v1' },
  nodes: { kind: 'Node', apiVersion: 'v1' },
  deployments: { kind: 'Deployment', apiVersion: 'apps/v1' },
  poddisruptionbudgets: { kind: 'PodDisruptionBudget', apiVersion: 'policy/v1' },
  networkpolicies: { kind: 'NetworkPolicy', apiVersion: 'networking.k8s.io/v1' },
  ingresses: { kind: 'Ingress', apiVersion: 'networking.k8s.io/v1' },
  horizontalpodautoscalers: { kind: 'HorizontalPodAutoscaler', apiVersion: 'autoscaling/v2' },
};

/** Parses /api/v1[/namespaces/NS]/PLURAL[/NAME] and /apis/G/V[/namespaces/NS]/PLURAL[/NAME]. */
function parsePath(path: string): { plural: string; namespace?: string; name?: string } | undefined {
  const parts = path.split('/').filter(Boolean);
  const rest = parts[0] === 'api' ? parts.slice(2) : parts[0] === 'apis' ? parts.slice(3) : undefined;
  if (!rest || rest.length === 0) return undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    const [, namespace, plural, name] = rest;
    if (!namespace || !plural) return undefined;
    return { plural, namespace, ...(name ? { name } : {}) };
  }
  const [plural, name] = rest;
  if (!plural) return undefined;
  return { plural, ...(name ? { name } : {}) };
}

function matches(labels: Record<string, string> | undefined, selector: string | null): boolean {
  if (!selector) return true;
  return selector.split(',').every((req) => {
    const [k, v] = req.split('=');
    return k !== undefined && labels?.[k] === v;
  });
}

function status(code: number, reason: string, message: string) {
  return { kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason, message };
}

export class MockKubeApiServer {
  readonly requests: RecordedRequest[] = [];
  /** Key: `${plural}/${namespace ?? ''}/${name}`. */
  private readonly objects = new Map<string, Obj>();
  private readonly faults: Fault[] = [];
  private readonly watchers = new Set<{ res: http.ServerResponse; selector: string | null }>();
  private revision = 100;
  private server: http.Server | undefined;
  url = '';

  constructor(readonly token: string) {}

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => this.handle(req, res, Buffer.concat(chunks).toString('utf8')));
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    for (const w of this.watchers) w.res.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** The next `count` requests matching get `status` with `headers` instead of being served. */
  failNext(match: { method?: string; pathIncludes?: string }, count: number, statusCode: number, headers: Record<string, string> = {}, message?: string): void {
    this.faults.push({ ...match, remaining: count, status: statusCode, headers, message });
  }

  key(plural: string, name: string, namespace?: string): string {
    return `${plural}/${namespace ?? ''}/${name}`;
  }

  get(plural: string, name: string, namespace?: string): Obj | undefined {
    return this.objects.get(this.key(plural, name, namespace));
  }

  /** Puts an object as a controller would (pods, nodes), or merges `status` into an existing one. */
  put(plural: string, obj: Obj): void {
    const existing = this.objects.get(this.key(plural, obj.metadata.name, obj.metadata.namespace));
    const next: Obj = { ...obj, metadata: { ...obj.metadata, resourceVersion: String(++this.revision) } };
    this.objects.set(this.key(plural, obj.metadata.name, obj.metadata.namespace), next);
    if (plural === 'deployments') this.emit(existing ? 'MODIFIED' : 'ADDED', next);
  }

  setStatus(plural: string, name: string, namespace: string | undefined, statusValue: Record<string, unknown>): void {
    const obj = this.get(plural, name, namespace);
    if (!obj) throw new Error(`mock: no ${plural} ${namespace}/${name}`);
    this.put(plural, { ...obj, status: statusValue });
  }

  /** Finishes a namespace deletion: the namespace and everything in it are gone. */
  purgeNamespace(ns: string): void {
    for (const [k, o] of this.objects) if (o.metadata.namespace === ns || k === this.key('namespaces', ns)) this.objects.delete(k);
  }

  /** Ends every open watch with an ERROR event carrying a 410 Status, as an API server does when the resourceVersion is compacted. */
  expireWatches(): void {
    for (const w of this.watchers) {
      w.res.end(JSON.stringify({ type: 'ERROR', object: status(410, 'Expired', 'too old resource version') }) + '\n');
    }
    this.watchers.clear();
  }

  openWatches(): number {
    return this.watchers.size;
  }

  private emit(type: string, obj: Obj): void {
    for (const w of this.watchers) if (matches(obj.metadata.labels, w.selector)) w.res.write(JSON.stringify({ type, object: obj }) + '\n');
  }

  private send(res: http.ServerResponse, rec: RecordedRequest, code: number, body: unknown, headers: Record<string, string> = {}): void {
    rec.status = code;
    res.writeHead(code, { 'Content-Type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse, text: string): void {
    const url = new URL(req.url ?? '/', 'http://x');
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = text;
    }
    const rec: RecordedRequest = {
      method: req.method ?? '',
      path: url.pathname,
      query: url.searchParams,
      contentType: req.headers['content-type'],
      authorization: req.headers.authorization,
      body,
      status: 0,
    };
    this.requests.push(rec);
    if (req.headers.authorization !== `Bearer ${this.token}`) return this.send(res, rec, 401, status(401, 'Unauthorized', 'Unauthorized'));
    const fault = this.faults.find((f) => f.remaining > 0 && (!f.method || f.method === rec.method) && (!f.pathIncludes || rec.path.includes(f.pathIncludes)));
    if (fault) {
      fault.remaining--;
      return this.send(res, rec, fault.status, status(fault.status, 'Injected', fault.message ?? `injected failure ${fault.status}`), fault.headers);
    }
    if (rec.path === '/version') return this.send(res, rec, 200, { major: '1', minor: '31+', gitVersion: 'v1.31.4-eks-2d5f260' });
    const target = parsePath(rec.path);
    const kind = target && COLLECTIONS[target.plural];
    if (!target || !kind) return this.send(res, rec, 404, status(404, 'NotFound', `the server could not find the requested resource ${rec.path}`));

    if (!target.name) {
      if (rec.method !== 'GET') return this.send(res, rec, 405, status(405, 'MethodNotAllowed', 'method not allowed'));
      const selector = url.searchParams.get('labelSelector');
      if (url.searchParams.get('watch') === 'true') {
        rec.status = 200;
        res.writeHead(200, { 'Content-Type': 'application/json' });
        const w = { res, selector };
        this.watchers.add(w);
        res.on('close', () => this.watchers.delete(w));
        return;
      }
      const items = [...this.objects.entries()]
        .filter(([k, o]) => k.startsWith(`${target.plural}/`) && (target.namespace === undefined || o.metadata.namespace === target.namespace) && matches(o.metadata.labels, selector))
        .map(([, o]) => o);
      return this.send(res, rec, 200, { kind: `${kind.kind}List`, apiVersion: kind.apiVersion, metadata: { resourceVersion: String(this.revision) }, items });
    }

    const key = this.key(target.plural, target.name, target.namespace);
    const existing = this.objects.get(key);
    switch (rec.method) {
      case 'GET':
        return existing ? this.send(res, rec, 200, existing) : this.send(res, rec, 404, status(404, 'NotFound', `${target.plural} "${target.name}" not found`));
      case 'DELETE': {
        if (!existing) return this.send(res, rec, 404, status(404, 'NotFound', `${target.plural} "${target.name}" not found`));
        if (target.plural === 'namespaces') {
          if (existing.metadata.deletionTimestamp) {
            return this.send(res, rec, 409, status(409, 'Conflict', 'The system is ensuring all content is removed from this namespace.'));
          }
          const terminating: Obj = { ...existing, metadata: { ...existing.metadata, deletionTimestamp: new Date().toISOString() }, status: { phase: 'Terminating' } };
          this.objects.set(key, terminating);
          return this.send(res, rec, 200, terminating);
        }
        this.objects.delete(key);
        return this.send(res, rec, 200, status(200, '', 'deleted'));
      }
      case 'PATCH': {
        if (rec.contentType !== 'application/apply-patch+yaml') return this.send(res, rec, 415, status(415, 'UnsupportedMediaType', 'mock supports only server-side apply'));
        if (!url.searchParams.get('fieldManager')) return this.send(res, rec, 422, status(422, 'Invalid', 'fieldManager is required for apply requests'));
        const applied = body as Obj;
        if (target.namespace && !this.objects.has(this.key('namespaces', target.namespace))) {
          return this.send(res, rec, 404, status(404, 'NotFound', `namespaces "${target.namespace}" not found`));
        }
        if (existing?.metadata.deletionTimestamp) return this.send(res, rec, 409, status(409, 'Conflict', 'object is being deleted'));
        const { status: _ignored, metadata: _m, ...content } = applied;
        const appliedContent = JSON.stringify({ content, labels: applied.metadata.labels, annotations: applied.metadata.annotations });
        if (existing && existing.metadata.appliedContent === appliedContent) return this.send(res, rec, 200, existing);
        const specChanged = JSON.stringify(existing?.spec) !== JSON.stringify(applied.spec);
        const prevGeneration = typeof existing?.metadata.generation === 'number' ? existing.metadata.generation : 0;
        const next: Obj = {
          ...existing,
          ...content,
          metadata: {
            ...existing?.metadata,
            name: target.name,
            ...(target.namespace ? { namespace: target.namespace } : {}),
            ...(applied.metadata.labels ? { labels: applied.metadata.labels } : {}),
            ...(applied.metadata.annotations ? { annotations: applied.metadata.annotations } : {}),
            generation: specChanged ? prevGeneration + 1 : prevGeneration,
            appliedContent,
          },
        };
        this.put(target.plural, next);
        return this.send(res, rec, existing ? 200 : 201, this.objects.get(key));
      }
      default:
        return this.send(res, rec, 405, status(405, 'MethodNotAllowed', 'method not allowed'));
    }
  }
}

/** A kubeconfig (YAML) with one context pointing at the mock server, authenticated by a bearer token. */
export function mockKubeconfig(server: string, token: string, context = 'mock'): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    `current-context: ${context}`,
    'clusters:',
    `- name: ${context}-cluster`,
    '  cluster:',
    `    server: ${server}`,
    // client-node refuses plain http unless TLS verification is explicitly off.
    '    insecure-skip-tls-verify: true',
    'users:',
    `- name: ${context}-user`,
    '  user:',
    `    token: ${token}`,
    'contexts:',
    `- name: ${context}`,
    '  context:',
    `    cluster: ${context}-cluster`,
    `    user: ${context}-user`,
    '',
  ].join('\n');
}
