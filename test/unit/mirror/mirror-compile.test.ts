import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { NlbTarget } from '../../../src/api/kinds/load-balancer-mirror.js';
import { validateResource } from '../../../src/api/validate.js';
import { compileMirror, desiredState } from '../../../src/cloud/nlb/compile.js';
import { resolveOctaviaAuth } from '../../../src/cloud/octavia/auth.js';
import type { OctaviaLoadBalancer, OctaviaPool } from '../../../src/cloud/octavia/reader.js';
import { isDroverError } from '../../../src/errors.js';

const nlb = NlbTarget.parse({ region: 'eu-west-1', subnets: ['subnet-0b2', 'subnet-0a1'] });
const who = { name: 'web', ownerId: 'drover-web' };

function pool(id: string, protocol: string, members: [string, number, Partial<OctaviaPool['members'][number]>?][], hm?: OctaviaPool['healthMonitor']): OctaviaPool {
  return {
    id,
    name: id,
    protocol,
    lbAlgorithm: 'ROUND_ROBIN',
    members: members.map(([address, port, o]) => ({ id: `${address}`, address, protocolPort: port, weight: 1, adminStateUp: true, backup: false, operatingStatus: 'ONLINE', ...o })),
    ...(hm ? { healthMonitor: hm } : {}),
  };
}

function lb(listeners: OctaviaLoadBalancer['listeners'], pools: OctaviaPool[]): OctaviaLoadBalancer {
  return { id: '9cc72e60-4e37-4c16-9215-652a2f03d85f', name: 'web', vipAddress: '10.20.0.5', operatingStatus: 'ONLINE', provisioningStatus: 'ACTIVE', listeners, pools };
}

const listener = (id: string, protocol: string, port: number, defaultPoolId?: string, l7PolicyCount = 0) => ({ id, name: id, protocol, protocolPort: port, ...(defaultPoolId ? { defaultPoolId } : {}), adminStateUp: true, l7PolicyCount });

describe('mirror compiler (pure)', () => {
  it('maps TCP, UDP and TLS passthrough listeners to NLB listeners on the same port, pools to ip target groups', () => {
    const d = compileMirror(
      lb(
        [listener('l1', 'TCP', 5432, 'p1'), listener('l2', 'UDP', 53, 'p2'), listener('l3', 'HTTPS', 443, 'p3')],
        [pool('p1', 'TCP', [['10.0.0.1', 5432]]), pool('p2', 'UDP', [['10.0.0.2', 53]]), pool('p3', 'HTTPS', [['10.0.0.3', 8443], ['10.0.0.4', 8443, { backup: true }], ['10.0.0.5', 8443, { weight: 0 }], ['10.0.0.6', 8443, { adminStateUp: false }]])],
      ),
      nlb,
      who,
    );
    assert.deepEqual([...d.listeners.keys()], ['UDP:53', 'TCP:443', 'TCP:5432']);
    const tls = d.targetGroups.get(d.listeners.get('TCP:443')!.targetGroup)!;
    assert.equal(tls.protocol, 'TCP');
    assert.deepEqual([...tls.targets.keys()], ['10.0.0.3:8443'], 'backup, weight 0 and disabled members are not registered');
    assert.ok(d.notes.some((n) => n.resource === 'member/10.0.0.4:8443' && /no backup targets/.test(n.message)));
    assert.equal(d.targetGroups.get(d.listeners.get('UDP:53')!.targetGroup)!.protocol, 'UDP');
    assert.ok(d.name.length <= 32 && [...d.targetGroups.keys()].every((n) => n.length <= 32 && /^[A-Za-z0-9-]+$/.test(n)));
    assert.deepEqual(d.subnets, ['subnet-0a1', 'subnet-0b2']);
    assert.equal(d.tags['drover.dev/owner'], 'drover-web');
    // Deterministic: the same input gives the same names (a restart finds what it built).
    assert.equal(compileMirror(lb([listener('l1', 'TCP', 5432, 'p1')], [pool('p1', 'TCP', [])]), nlb, who).name, d.name);
  });

  it('refuses what an NLB would mirror wrongly, and says so per listener', () => {
    const d = compileMirror(
      lb(
        [listener('l7', 'HTTP', 80, 'p1', 2), listener('term', 'TERMINATED_HTTPS', 443, 'p2'), listener('nopool', 'TCP', 22), listener('proxy', 'TCP', 25, 'p3'), listener('dup-tcp', 'TCP', 53, 'p4'), listener('dup-udp', 'UDP', 53, 'p5')],
        [pool('p1', 'HTTP', []), pool('p2', 'HTTP', []), pool('p3', 'PROXY', []), pool('p4', 'TCP', []), pool('p5', 'UDP', [])],
      ),
      nlb,
      who,
    );
    assert.deepEqual([...d.listeners.keys()], ['TCP:53']);
    const refused = d.notes.filter((n) => n.severity === 'refused').map((n) => `${n.resource}: ${n.message}`);
    assert.equal(refused.length, 5);
    assert.match(refused.join('\n'), /l7 \(HTTP:80\): 2 L7 policies/);
    assert.match(refused.join('\n'), /term \(TERMINATED_HTTPS:443\): TERMINATED_HTTPS cannot be mirrored/);
    assert.match(refused.join('\n'), /nopool \(TCP:22\): no default pool/);
    assert.match(refused.join('\n'), /proxy \(TCP:25\): pool p3 speaks PROXY/);
    assert.match(refused.join('\n'), /dup-udp \(UDP:53\): port 53 is already mirrored/);
  });

  it('maps health monitors and says what it had to approximate', () => {
    const hm = (type: string, o: Partial<NonNullable<OctaviaPool['healthMonitor']>> = {}) => ({ id: `hm-${type}`, type, delay: 5, timeout: 3, maxRetries: 3, maxRetriesDown: 3, ...o });
    const d = compileMirror(
      lb([listener('a', 'TCP', 1, 'pa'), listener('b', 'TCP', 2, 'pb'), listener('c', 'TCP', 3, 'pc')], [
        pool('pa', 'TCP', [], hm('HTTP', { urlPath: '/healthz', expectedCodes: '200-204', httpMethod: 'HEAD' })),
        pool('pb', 'TCP', [], hm('PING', { delay: 1, maxRetries: 1, maxRetriesDown: 20 })),
        pool('pc', 'TCP', []),
      ]),
      nlb,
      who,
    );
    const state = desiredState(d);
    const tg = (port: number) => state[`targetGroup/${d.listeners.get(`TCP:${port}`)!.targetGroup}`]!;
    assert.deepEqual(tg(1), { protocol: 'TCP', port: 1, healthCheck: 'HTTP', healthCheckPath: '/healthz', matcher: '200-204', interval: 5, timeout: 3, healthyThreshold: 3, unhealthyThreshold: 3 });
    assert.deepEqual(tg(2), { protocol: 'TCP', port: 2, healthCheck: 'TCP', healthCheckPath: null, matcher: null, interval: 5, timeout: 3, healthyThreshold: 2, unhealthyThreshold: 10 });
    const said = d.notes.map((n) => `${n.resource}: ${n.message}`).join('\n');
    assert.match(said, /hm-HTTP: http_method HEAD cannot be mapped/);
    assert.match(said, /hm-PING: type PING cannot be mapped.*TCP on the traffic port/);
    assert.match(said, /hm-PING: delay 1s → interval 5s/);
    assert.match(said, /hm-PING: max_retries_down 20 → unhealthy threshold 10/);
    assert.match(said, /pool\/pc: no health monitor in Octavia/);
  });
});

describe('LoadBalancerMirror validation', () => {
  const doc = (spec: Record<string, unknown>) => ({ apiVersion: 'drover.dev/v1alpha1', kind: 'LoadBalancerMirror', metadata: { name: 'web' }, spec });
  const base = { source: { octavia: { loadBalancerId: '9cc72e60-4e37-4c16-9215-652a2f03d85f', cloud: { name: 'prod' } } }, target: { nlb: { region: 'eu-west-1', subnets: ['subnet-0a1'] } } };

  it('weights that do not sum to 100 are refused, naming the field', () => {
    assert.throws(
      () => validateResource(doc({ ...base, dns: { route53: { hostedZoneId: 'Z1', recordName: 'web.example.com', weights: { source: 90, target: 20 } } } })),
      (e: unknown) => isDroverError(e, 'DROVER_E_INVALID') && e.field === 'spec.dns.route53.weights' && /90 \+ target 20 = 110: the weights must sum to 100/.test(e.message),
    );
    const ok = validateResource(doc({ ...base, dns: { route53: { hostedZoneId: 'Z1', recordName: 'web.example.com' } } }));
    assert.deepEqual((ok.resource.spec as { dns: { route53: { weights: unknown } } }).dns.route53.weights, { source: 90, target: 10 });
  });

  it('a load balancer id that is not a UUID and a subnet that is not a subnet id name their fields', () => {
    assert.throws(() => validateResource(doc({ ...base, source: { octavia: { loadBalancerId: 'web' } } })), (e: unknown) => isDroverError(e) && e.field === 'spec.source.octavia.loadBalancerId');
    assert.throws(() => validateResource(doc({ ...base, target: { nlb: { region: 'eu-west-1', subnets: ['vpc-1'] } } })), (e: unknown) => isDroverError(e) && e.field === 'spec.target.nlb.subnets[0]');
  });
});

describe('Octavia auth from clouds.yaml and OS_*', () => {
  it('reads a named cloud; a missing cloud names the field and lists the clouds there', () => {
    const dir = mkdtempSync(join(tmpdir(), 'drover-clouds-'));
    const path = join(dir, 'clouds.yaml');
    writeFileSync(path, 'clouds:\n  prod:\n    region_name: RegionOne\n    auth:\n      auth_url: https://keystone.example:5000/v3\n      username: mirror\n      password: s3cret\n      project_name: lb\n      user_domain_name: Default\n');
    const a = resolveOctaviaAuth({ name: 'prod', configPath: path });
    assert.equal(a.authType, 'password');
    assert.equal(a.authUrl, 'https://keystone.example:5000/v3');
    assert.equal(a.regionName, 'RegionOne');
    assert.throws(() => resolveOctaviaAuth({ name: 'staging', configPath: path }), (e: { field?: string; message: string }) => e.field === 'spec.source.octavia.cloud.name' && /clouds: prod/.test(e.message));
  });

  it('takes the OS_* environment when no cloud is named, and says what is missing', () => {
    const a = resolveOctaviaAuth(undefined, { OS_AUTH_URL: 'https://k/v3', OS_APPLICATION_CREDENTIAL_ID: 'id', OS_APPLICATION_CREDENTIAL_SECRET: 'x' });
    assert.equal(a.authType, 'v3applicationcredential');
    assert.equal(resolveOctaviaAuth(undefined, { OS_ENDPOINT: 'http://127.0.0.1:9876' }).authType, 'none');
    assert.throws(() => resolveOctaviaAuth(undefined, {}), (e: { field?: string }) => e.field === 'spec.source.octavia.cloud');
  });
});
