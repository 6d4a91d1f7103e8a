import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubernetesObject } from '@kubernetes/client-node';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { Ingress, NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { Namespace, Service } from 'kubernetes-models/v1';
import { namespaceName } from '../../../../src/drivers/kubernetes/names.js';
import { renderProd, type RenderOptions } from '../../../../src/drivers/kubernetes/render.js';
import { isDroverError } from '../../../../src/errors.js';
import { cluster, fleet, prod } from '../../../helpers/fixtures.js';

/** The Kubernetes cluster the rendered objects are for. */
const k1 = () => cluster('k1', { provider: 'kubernetes', kubernetes: { context: 'test' } });

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Validates one rendered object against the Kubernetes OpenAPI schema of its kind (kubernetes-models). */
function validateAgainstSchema(obj: KubernetesObject): void {
  const data = JSON.parse(JSON.stringify(obj)) as never;
  const model = {
    Namespace: () => new Namespace(data),
    Deployment: () => new Deployment(data),
    Service: () => new Service(data),
    PodDisruptionBudget: () => new PodDisruptionBudget(data),
    NetworkPolicy: () => new NetworkPolicy(data),
    HorizontalPodAutoscaler: () => new HorizontalPodAutoscaler(data),
    Ingress: () => new Ingress(data),
  }[obj.kind ?? ''];
  assert.ok(model, `no schema for kind ${obj.kind}`);
  model().validate();
}

function byKind<T>(objects: KubernetesObject[], kind: string): T {
  const found = objects.find((o) => o.kind === kind);
  assert.ok(found, `no ${kind} rendered`);
  return found as T;
}

interface DeploymentShape {
  metadata: { namespace: string; labels: Record<string, string>; annotations: Record<string, string> };
  spec: {
    replicas?: number;
    selector: { matchLabels: Record<string, string> };
    template: {
      metadata: { labels: Record<string, string> };
      spec: { containers: { image: string; command?: string[]; args?: string[]; env: { name: string; value: string }[]; resources?: unknown; readinessProbe: { httpGet: { path: string } } }[] };
    };
  };
}

const specs: { title: string; app: Record<string, unknown>; prodName?: string; opts?: RenderOptions; ingressHost?: string }[] = [
  { title: 'image only, one replica', app: { image: 'ghcr.io/acme/web:${version}' } },
  { title: 'image with command and args, three replicas', app: { image: 'node:20', command: 'node', args: ['server.js', '--port', '8080'], replicas: 3 } },
  {
    title: 'resources and autoscale',
    app: { image: 'acme/web:${version}', resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } }, autoscale: { minReplicas: 2, maxReplicas: 6 } },
  },
  { title: 'NodePort with pod CIDRs excluded', app: { image: 'acme/web', port: 3000, healthPath: '/ready' }, opts: { serviceType: 'NodePort', podCidrs: ['10.244.0.0/16'] } },
  {
    title: 'long names behind an ingress host',
    app: { image: 'acme/web:${version}', env: { A: '1' } },
    prodName: `prod-${'x'.repeat(58)}`,
    ingressHost: 'prods.example.com',
    opts: { serviceType: 'LoadBalancer', ingressClassName: 'nginx' },
  },
];

describe('renderProd', () => {
  for (const s of specs) {
    it(`renders objects the Kubernetes OpenAPI schemas accept: ${s.title}`, () => {
      const f = fleet('web-fleet-with-a-rather-long-name', { app: s.app, version: 'v2.0.1+build.7' });
      const p = prod(s.prodName ?? 'web-1', { fleet: f.metadata.name, cluster: 'k1', version: 'v2.0.1+build.7' });
      const c = cluster('k1', { provider: 'kubernetes', kubernetes: s.ingressHost ? { context: 'test', ingressHost: s.ingressHost } : { context: 'test' } });
      const objects = renderProd(p, f, c, s.opts);
      for (const o of objects) validateAgainstSchema(o);
      const ns = objects[0];
      assert.equal(ns?.kind, 'Namespace');
      const nsName = ns?.metadata?.name ?? '';
      assert.ok(nsName.length <= 63 && DNS1123_LABEL.test(nsName), `namespace "${nsName}" is not a DNS-1123 label`);
      for (const o of objects.slice(1)) assert.equal(o.metadata?.namespace, nsName);
      assert.equal(objects.some((o) => o.kind === 'HorizontalPodAutoscaler'), s.app.autoscale !== undefined);
      assert.equal(objects.some((o) => o.kind === 'Ingress'), s.ingressHost !== undefined);
    });
  }

  it('fills the Deployment from the fleet and the Prod', () => {
    const f = fleet('web', { app: { image: 'acme/web:${version}', command: 'node', args: ['app.js'], env: { LOG: 'info', MODE: 'fleet' }, replicas: 3, port: 9000, healthPath: '/up' } });
    const p = prod('web-1', { fleet: 'web', cluster: 'k1', version: 'v7', env: { MODE: 'prod', VERSION: 'spoofed' } });
    const d = byKind<DeploymentShape>(renderProd(p, f, k1()), 'Deployment');
    const c = d.spec.template.spec.containers[0];
    assert.ok(c);
    assert.equal(c.image, 'acme/web:v7');
    assert.deepEqual(c.command, ['node']);
    assert.deepEqual(c.args, ['app.js']);
    const env = Object.fromEntries(c.env.map((e) => [e.name, e.value]));
    assert.deepEqual(env, { LOG: 'info', MODE: 'prod', PROD_NAME: 'web-1', FLEET: 'web', VERSION: 'v7', PORT: '9000' });
    assert.equal(c.readinessProbe.httpGet.path, '/up');
    assert.equal(d.spec.replicas, 3);
    assert.equal(d.metadata.annotations['drover.dev/version'], 'v7');
    // The selector never holds the version: it is immutable, and versions change.
    assert.equal(d.spec.selector.matchLabels['drover.dev/version'], undefined);
    for (const [k, v] of Object.entries(d.spec.selector.matchLabels)) assert.equal(d.spec.template.metadata.labels[k], v);
  });

  it('leaves replicas to the HPA when the fleet autoscales', () => {
    const f = fleet('web', { app: { image: 'acme/web', replicas: 2, autoscale: { minReplicas: 2, maxReplicas: 4 } } });
    const d = byKind<DeploymentShape>(renderProd(prod('web-1', { fleet: 'web', cluster: 'k1' }), f, k1()), 'Deployment');
    assert.equal(d.spec.replicas, undefined);
  });

  it('keeps one pod up through disruptions with several replicas, and blocks eviction of a single one unless allowed', () => {
    type Pdb = { spec: { minAvailable?: number; maxUnavailable?: number } };
    const pdb = (replicas: number, opts?: RenderOptions) =>
      byKind<Pdb>(renderProd(prod('web-1', { fleet: 'web', cluster: 'k1' }), fleet('web', { app: { image: 'x', replicas } }), k1(), opts), 'PodDisruptionBudget').spec;
    assert.deepEqual(pdb(3), { minAvailable: 1, selector: { matchLabels: { 'app.kubernetes.io/name': 'app', 'drover.dev/prod': 'web-1' } } });
    assert.equal(pdb(1).maxUnavailable, 0);
    assert.equal(pdb(1, { singleReplicaDisruption: 'allow' }).maxUnavailable, 1);
  });

  it('denies other Prods by the managed-by label and admits external CIDRs only for exposed Services', () => {
    type Np = { spec: { ingress: { from: Record<string, unknown>[] }[] } };
    const from = (opts?: RenderOptions) => byKind<Np>(renderProd(prod('web-1', { fleet: 'web', cluster: 'k1' }), fleet('web', { app: { image: 'x' } }), k1(), opts), 'NetworkPolicy').spec.ingress[0]?.from;
    assert.deepEqual(from(), [
      { podSelector: {} },
      { namespaceSelector: { matchExpressions: [{ key: 'app.kubernetes.io/managed-by', operator: 'NotIn', values: ['drover'] }] } },
    ]);
    assert.deepEqual(from({ serviceType: 'LoadBalancer', podCidrs: ['10.0.0.0/8'] })?.[2], { ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.0.0/8'] } });
  });

  it('refuses a fleet without an image, naming the field', () => {
    assert.throws(
      () => renderProd(prod('web-1', { fleet: 'web', cluster: 'k1' }), fleet('web', { app: { command: 'node' } }), k1()),
      (e: unknown) => isDroverError(e) && e.field === 'spec.app.image',
    );
  });

  it('is deterministic, so a second apply sends the same objects', () => {
    const f = fleet('web', { app: { image: 'x', env: { B: '2', A: '1' } } });
    assert.deepEqual(renderProd(prod('web-1', { fleet: 'web', cluster: 'k1' }), f, k1()), renderProd(prod('web-1', { fleet: 'web', cluster: 'k1' }), f, k1()));
  });
});

describe('namespaceName', () => {
  it('keeps short names readable and hashes long ones to distinct DNS-1123 labels', () => {
    assert.equal(namespaceName('web', 'web-1'), 'drover-web-web-1');
    const long = 'p'.repeat(60);
    const a = namespaceName('web', `${long}a`);
    const b = namespaceName('web', `${long}b`);
    assert.notEqual(a, b);
    for (const n of [a, b]) assert.ok(n.length <= 63 && DNS1123_LABEL.test(n) && n.startsWith('drover-web-p'), n);
    // A cut that lands on a dash must not leave "--" or a trailing dash.
    const dashy = namespaceName('a', `${'b'.repeat(51)}-${'c'.repeat(20)}`);
    assert.ok(DNS1123_LABEL.test(dashy) && !dashy.includes('--'), dashy);
  });
});
