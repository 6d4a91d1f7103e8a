/**
 * Keystone v3 authentication of the Octavia reader against a fake Keystone + Octavia (one HTTP server on
 * port 0, named so: the real octavia-api of the integration test runs with noauth). What matters: the
 * credentials of the clouds.yaml go to Keystone, the catalog's load-balancer endpoint of the cloud's region
 * and interface is used with the token, the token is reused, and a 401 drops it so the next read
 * authenticates again.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { OctaviaMeter, OctaviaReader } from '../../../src/cloud/octavia/reader.js';

const LB = '9cc72e60-4e37-4c16-9215-652a2f03d85f';

describe('Octavia reader with Keystone v3 (fake Keystone and Octavia)', () => {
  let server: Server;
  let base = '';
  const tokensIssued: string[] = [];
  const authBodies: unknown[] = [];
  const seen: { path: string; token: string | undefined }[] = [];
  let revoked = new Set<string>();
  before(async () => {
    server = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.on('data', (b: Buffer) => (body += b.toString()));
      req.on('end', () => {
        const url = req.url ?? '';
        if (req.method === 'POST' && url === '/identity/v3/auth/tokens') {
          authBodies.push(JSON.parse(body));
          const token = `tok-${tokensIssued.length + 1}`;
          tokensIssued.push(token);
          res.writeHead(201, { 'content-type': 'application/json', 'x-subject-token': token });
          res.end(
            JSON.stringify({
              token: {
                expires_at: new Date(Date.now() + 3_600_000).toISOString(),
                catalog: [
                  { type: 'identity', endpoints: [{ interface: 'public', region: 'RegionOne', url: `${base}/identity` }] },
                  {
                    type: 'load-balancer',
                    endpoints: [
                      { interface: 'public', region: 'RegionTwo', url: `${base}/wrong-region` },
                      { interface: 'internal', region: 'RegionOne', url: `${base}/wrong-interface` },
                      { interface: 'public', region: 'RegionOne', url: `${base}/load-balancer/` },
                    ],
                  },
                ],
              },
            }),
          );
          return;
        }
        const token = req.headers['x-auth-token'] as string | undefined;
        seen.push({ path: url, token });
        if (!token || revoked.has(token) || !tokensIssued.includes(token)) {
          res.writeHead(401).end('{"error": "unauthorized"}');
          return;
        }
        const docs: Record<string, unknown> = {
          [`/load-balancer/v2/lbaas/loadbalancers/${LB}`]: { loadbalancer: { id: LB, name: 'web', vip_address: '10.20.0.5', operating_status: 'ONLINE', provisioning_status: 'ACTIVE', listeners: [], pools: [] } },
        };
        const doc = docs[url];
        res.writeHead(doc ? 200 : 404, { 'content-type': 'application/json' }).end(JSON.stringify(doc ?? {}));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise((r) => server.close(r));
  });

  it('authenticates once, uses the catalog endpoint of its region and interface, and re-authenticates after a 401', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'drover-keystone-'));
    writeFileSync(
      join(dir, 'clouds.yaml'),
      `clouds:\n  prod:\n    region_name: RegionOne\n    auth:\n      auth_url: ${base}/identity/v3\n      username: mirror\n      password: s3cret\n      project_name: lb\n      user_domain_name: Default\n      project_domain_name: Default\n`,
    );
    const reader = new OctaviaReader({ name: 'prod', configPath: join(dir, 'clouds.yaml') });
    const meter = new OctaviaMeter();
    const lb = await reader.read(meter, LB);
    assert.equal(lb.vipAddress, '10.20.0.5');
    await reader.read(meter, LB);
    assert.deepEqual(tokensIssued, ['tok-1'], 'one token for both reads');
    assert.deepEqual(seen.map((s) => `${s.path} ${s.token}`), [`/load-balancer/v2/lbaas/loadbalancers/${LB} tok-1`, `/load-balancer/v2/lbaas/loadbalancers/${LB} tok-1`]);
    assert.deepEqual(authBodies[0], { auth: { identity: { methods: ['password'], password: { user: { name: 'mirror', password: 's3cret', domain: { name: 'Default' } } } }, scope: { project: { name: 'lb', domain: { name: 'Default' } } } } });

    revoked = new Set(['tok-1']);
    await assert.rejects(reader.read(meter, LB), (e: { code?: string; field?: string }) => e.code === 'OctaviaAuth' && e.field === 'spec.source.octavia.cloud');
    await reader.read(meter, LB);
    assert.deepEqual(tokensIssued, ['tok-1', 'tok-2'], 'the refused token was dropped and a new one taken');
    assert.equal(seen.at(-1)?.token, 'tok-2');
  });
});
