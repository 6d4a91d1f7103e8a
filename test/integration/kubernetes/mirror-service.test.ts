/**
 * `spec.source.service` against a real Kubernetes API server (the test kit, ../shared/kubernetes, or the
 * cluster of DROVER_TEST_KUBECONFIG): a Service of type LoadBalancer and its EndpointSlice created through
 * the API, read by the mirror through the Kubernetes driver's own client and the Cluster's kubeconfig, and
 * mirrored on mocked AWS (the fake ELB of test/unit/mirror). The kit has no cloud provider, so the test
 * writes the Service's ingress through its status subresource; the EndpointSlice is the test's own
 * (managed-by drover-test: a Service without a selector, so the EndpointSlice controller leaves it alone).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Cluster } from '../../../src/api/kinds/cluster.js';
import type { KubeHttp } from '../../../src/drivers/kubernetes/kube-http.js';
import { adminHttp, kubeconfigPath, kubeContext, kubeSkipReason } from '../../helpers/kube-kit.js';
import { FakeElb } from '../../unit/mirror/mirror-fake-elb.js';
import { harness, mirror } from '../../unit/mirror/mirror-harness.js';

if (kubeSkipReason) console.warn(`\n!!! SKIPPED: ${kubeSkipReason}\n`);

describe('mirror of a Service on a real Kubernetes API server (mocked AWS)', { skip: kubeSkipReason }, () => {
  const ns = `mirror-${randomBytes(3).toString('hex')}`;
  let http: KubeHttp;
  const cluster = () =>
    Cluster.parse({ apiVersion: 'drover.dev/v1alpha1', kind: 'Cluster', metadata: { name: 'it' }, spec: { provider: 'kubernetes', kubernetes: { context: kubeContext(), kubeconfig: kubeconfigPath } } });
  const spec = (name: string) => ({ source: { service: { cluster: 'it', namespace: ns, name } }, target: { nlb: { region: 'eu-west-1', subnets: ['subnet-0a1'] } } });
  const endpoints = (ips: string[]) => ips.map((ip) => ({ addresses: [ip], conditions: { ready: true } }));

  before(async () => {
    http = adminHttp();
    await http.request({ method: 'POST', path: '/api/v1/namespaces', body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } } });
    await http.request({
      method: 'POST',
      path: `/api/v1/namespaces/${ns}/services`,
      body: { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { type: 'LoadBalancer', ports: [{ name: 'https', port: 443, targetPort: 8443, protocol: 'TCP' }] } },
    });
    await http.request({
      method: 'PATCH',
      path: `/api/v1/namespaces/${ns}/services/web/status`,
      contentType: 'application/merge-patch+json',
      body: { status: { loadBalancer: { ingress: [{ ip: '203.0.113.9' }] } } },
    });
    await http.request({
      method: 'POST',
      path: `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`,
      body: {
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: { name: 'web-1', labels: { 'kubernetes.io/service-name': 'web', 'endpointslice.kubernetes.io/managed-by': 'drover-test' } },
        addressType: 'IPv4',
        ports: [{ name: 'https', port: 8443, protocol: 'TCP' }],
        endpoints: [...endpoints(['10.8.0.11', '10.8.0.12']), { addresses: ['10.8.0.13'], conditions: { ready: false } }],
      },
    });
    await http.request({ method: 'POST', path: `/api/v1/namespaces/${ns}/services`, body: { apiVersion: 'v1', kind: 'Service', metadata: { name: 'internal' }, spec: { ports: [{ port: 80 }] } } });
  });
  after(async () => {
    await http?.request({ method: 'DELETE', path: `/api/v1/namespaces/${ns}` }).catch(() => undefined);
  });

  it('the ready endpoints are registered as IP targets at the targetPort; an endpoint removed is deregistered', async () => {
    const elb = new FakeElb();
    const h = await harness(mirror('web', spec('web')), elb);
    await h.store.create(cluster());
    await h.sync();
    let st = await h.status();
    assert.equal(st.lastError, undefined, JSON.stringify(st.lastError));
    const group = [...elb.tgs.values()][0]!.TargetGroupName!;
    assert.deepEqual(elb.registered(group), ['10.8.0.11:8443', '10.8.0.12:8443'], 'the endpoint not ready is not a target');
    assert.deepEqual(Object.keys(st.built.listeners), ['TCP:443']);
    assert.equal(st.source?.vipAddress, '203.0.113.9');
    assert.equal(st.lastSyncCalls?.octavia, 2, 'two GETs: the Service and its EndpointSlices');

    await http.request({
      method: 'PATCH',
      path: `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices/web-1`,
      contentType: 'application/merge-patch+json',
      body: { endpoints: endpoints(['10.8.0.11']) },
    });
    elb.calls.length = 0;
    await h.sync();
    st = await h.status();
    assert.equal(st.lastError, undefined, JSON.stringify(st.lastError));
    assert.deepEqual(elb.writes(), ['DeregisterTargets']);
    assert.deepEqual(elb.registered(group), ['10.8.0.11:8443']);
  });

  it('no such Service and a Service of type ClusterIP: errors naming spec.source.service.name; AWS untouched', async () => {
    for (const [name, code] of [['nope', 'ServiceNotFound'], ['internal', 'ServiceNotLoadBalancer']] as const) {
      const elb = new FakeElb();
      const h = await harness(mirror('m', spec(name)), elb);
      await h.store.create(cluster());
      await h.sync();
      const st = await h.status();
      assert.equal(st.lastError?.code, code);
      assert.equal(st.lastError.field, 'spec.source.service.name');
      assert.deepEqual(elb.calls, []);
    }
  });
});
