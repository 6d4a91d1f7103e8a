/**
 * A real OpenStack Octavia API server (Debian `octavia-api`) for tests and benchmarks: `auth_strategy =
 * noauth`, a SQLite database, the `noop_driver` provider and noop network/compute drivers, on a free
 * loopback port. Listeners, pools, members and health monitors are created through its real v2 API.
 *
 * Two things differ from a production Octavia, both because of what the noop pieces do not do:
 * - The schema is created from Octavia's models (as Octavia's own functional tests do), not with
 *   `octavia-db-manage upgrade head`: its alembic migrations ALTER constraints, which SQLite cannot
 *   ("No support for ALTER of constraints in SQLite dialect"). A seeded database is cached per Octavia
 *   version in the temp directory and copied for each server.
 * - The noop provider never moves objects out of PENDING_*; a real provider's driver agent would. The
 *   helper sets `provisioning_status = ACTIVE` in the database after each write, as that agent does, so the
 *   next write on the same load balancer is accepted (Octavia refuses writes on an immutable LB).
 *
 * `startOctavia()` returns `{ skip: reason }` only when the binary or its Python package is missing.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { waitFor } from './wait-for.js';

const OCTAVIA_API = '/usr/bin/octavia-api';
// The system Python: the one python3-octavia is installed for (a pyenv shim on PATH may not have it).
const PYTHON = '/usr/bin/python3';
export const OCTAVIA_PROJECT = 'e3cd678b11784734bc366148aa37580e';

const SEED = `
import sys, warnings
warnings.filterwarnings('ignore')
import sqlalchemy as sa
from sqlalchemy import orm
from octavia.common import constants as c
from octavia.db import base_models, models as m
engine = sa.create_engine('sqlite:///' + sys.argv[1])
base_models.BASE.metadata.create_all(engine)
s = orm.Session(engine)
for names, cls in [(c.SUPPORTED_PROVISIONING_STATUSES, m.ProvisioningStatus), (c.SUPPORTED_HEALTH_MONITOR_TYPES, m.HealthMonitorType),
    (c.SUPPORTED_LB_ALGORITHMS, m.Algorithm), (c.SUPPORTED_PROTOCOLS, m.Protocol), (c.SUPPORTED_OPERATING_STATUSES, m.OperatingStatus),
    (c.SUPPORTED_SP_TYPES, m.SessionPersistenceType), (c.SUPPORTED_AMPHORA_ROLES, m.AmphoraRoles), (c.SUPPORTED_LB_TOPOLOGIES, m.LBTopology),
    (c.SUPPORTED_VRRP_AUTH, m.VRRPAuthMethod), (c.SUPPORTED_L7RULE_TYPES, m.L7RuleType), (c.SUPPORTED_L7RULE_COMPARE_TYPES, m.L7RuleCompareType),
    (c.SUPPORTED_L7POLICY_ACTIONS, m.L7PolicyAction), (c.SUPPORTED_CLIENT_AUTH_MODES, m.ClientAuthenticationMode)]:
    for n in names:
        s.add(cls(name=n))
s.flush()
s.add(m.FlavorProfile(id=c.NIL_UUID, name='DELETED-PLACEHOLDER', provider_name=c.DELETED, flavor_data='{}')); s.flush()
s.add(m.Flavor(id=c.NIL_UUID, flavor_profile_id=c.NIL_UUID, name='DELETED-PLACEHOLDER', enabled=False, description='placeholder')); s.flush()
s.add(m.AvailabilityZoneProfile(id=c.NIL_UUID, name='DELETED-PLACEHOLDER', provider_name=c.DELETED, availability_zone_data='{}')); s.flush()
s.add(m.AvailabilityZone(availability_zone_profile_id=c.NIL_UUID, name=c.NIL_UUID, enabled=False, description='placeholder'))
s.commit()
`;

function octaviaVersion(): string | undefined {
  if (!existsSync(OCTAVIA_API) || !existsSync(PYTHON)) return undefined;
  const r = spawnSync(PYTHON, ['-c', 'import octavia.version as v; print(v.version_info.version_string())'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

type Dict = Record<string, unknown>;

export interface OctaviaServer {
  url: string;
  version: string;
  /** A clouds.yaml with the cloud `test` (auth_type none, endpoint override): what a mirror names. */
  cloudsYaml: string;
  request(method: string, path: string, body?: unknown): Promise<{ status: number; body: Dict }>;
  createLoadBalancer(name: string, vipAddress: string): Promise<string>;
  createListener(lbId: string, protocol: string, port: number, opts?: { defaultPoolId?: string; name?: string }): Promise<string>;
  createPool(opts: { listenerId?: string; lbId?: string; protocol: string; name?: string; algorithm?: string }): Promise<string>;
  createMember(poolId: string, address: string, port: number, opts?: Dict): Promise<string>;
  deleteMember(poolId: string, memberId: string): Promise<void>;
  createHealthMonitor(poolId: string, monitor: Dict): Promise<string>;
  createL7Policy(listenerId: string, redirectPoolId: string): Promise<string>;
  /** Calls to Octavia's API the helper made (to tell them from the mirror's own in its logs). */
  stop(): Promise<void>;
}

export async function startOctavia(): Promise<OctaviaServer | { skip: string }> {
  const version = octaviaVersion();
  if (!version) return { skip: `Octavia is not installed (${OCTAVIA_API} with python3-octavia for ${PYTHON}); apt-get install -y octavia-api` };
  const dir = mkdtempSync(join(tmpdir(), 'drover-octavia-'));
  const seeded = join(tmpdir(), `drover-octavia-schema-${version}.db`);
  if (!existsSync(seeded)) {
    const tmp = `${seeded}.${process.pid}`;
    const r = spawnSync(PYTHON, ['-c', SEED, tmp], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`creating the Octavia schema failed: ${r.stderr.slice(-2000)}`);
    copyFileSync(tmp, seeded);
    rmSync(tmp, { force: true });
  }
  const dbPath = join(dir, 'octavia.db');
  copyFileSync(seeded, dbPath);
  const port = await freePort();
  const conf = join(dir, 'octavia.conf');
  writeFileSync(
    conf,
    `[DEFAULT]
use_stderr = True
[api_settings]
bind_host = 127.0.0.1
bind_port = ${port}
auth_strategy = noauth
default_provider_driver = noop_driver
enabled_provider_drivers = noop_driver:The no-op driver.
pagination_max_limit = 1000
[database]
connection = sqlite:///${dbPath}
[controller_worker]
network_driver = network_noop_driver
compute_driver = compute_noop_driver
amphora_driver = amphora_noop_driver
`,
  );
  const url = `http://127.0.0.1:${port}`;
  const cloudsYaml = join(dir, 'clouds.yaml');
  writeFileSync(cloudsYaml, `clouds:\n  test:\n    auth_type: none\n    load_balancer_endpoint_override: ${url}\n    auth:\n      project_id: ${OCTAVIA_PROJECT}\n`);
  let log = '';
  const child: ChildProcess = spawn(OCTAVIA_API, ['--config-file', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  const keep = (b: Buffer): void => void (log = (log + b.toString()).slice(-8000));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exited = false;
  child.once('exit', () => void (exited = true));
  try {
    await waitFor(`octavia-api on ${url}`, async () => {
      if (exited) throw new Error(`octavia-api exited: ${log}`);
      return (await fetch(`${url}/`)).ok;
    }, { timeoutMs: 90_000, intervalMs: 200, retryIf: () => !exited });
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }

  const db = new Database(dbPath);
  db.pragma('busy_timeout = 5000');
  const activate = (): void => {
    for (const t of ['load_balancer', 'listener', 'pool', 'member', 'health_monitor', 'l7policy']) {
      db.prepare(`UPDATE ${t} SET provisioning_status = 'ACTIVE' WHERE provisioning_status LIKE 'PENDING_%'`).run();
    }
    db.prepare(`UPDATE load_balancer SET operating_status = 'ONLINE'`).run();
  };
  const request = async (method: string, path: string, body?: unknown): Promise<{ status: number; body: Dict }> => {
    const res = await fetch(`${url}${path}`, { method, headers: { 'content-type': 'application/json', 'X-Project-Id': OCTAVIA_PROJECT }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Dict) : {} };
  };
  const write = async (method: string, path: string, key: string, body: Dict): Promise<string> => {
    const r = await request(method, path, { [key]: { project_id: OCTAVIA_PROJECT, ...body } });
    if (r.status >= 300) throw new Error(`${method} ${path}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
    activate();
    return String((r.body[key] as Dict).id);
  };
  return {
    url,
    version,
    cloudsYaml,
    request,
    createLoadBalancer: (name, vipAddress) => write('POST', '/v2/lbaas/loadbalancers', 'loadbalancer', { name, vip_subnet_id: '07980113-b5f3-4fb9-9154-6ec86f3fdcf0', vip_address: vipAddress }),
    createListener: (lbId, protocol, p, o = {}) =>
      write('POST', '/v2/lbaas/listeners', 'listener', { loadbalancer_id: lbId, protocol, protocol_port: p, ...(o.name ? { name: o.name } : {}), ...(o.defaultPoolId ? { default_pool_id: o.defaultPoolId } : {}) }),
    createPool: (o) =>
      write('POST', '/v2/lbaas/pools', 'pool', { protocol: o.protocol, lb_algorithm: o.algorithm ?? 'ROUND_ROBIN', ...(o.listenerId ? { listener_id: o.listenerId } : {}), ...(o.lbId ? { loadbalancer_id: o.lbId } : {}), ...(o.name ? { name: o.name } : {}) }),
    createMember: (poolId, address, p, o = {}) => write('POST', `/v2/lbaas/pools/${poolId}/members`, 'member', { address, protocol_port: p, ...o }),
    async deleteMember(poolId, memberId) {
      const r = await request('DELETE', `/v2/lbaas/pools/${poolId}/members/${memberId}`);
      if (r.status >= 300) throw new Error(`DELETE member: HTTP ${r.status} ${JSON.stringify(r.body)}`);
      // The noop provider leaves it PENDING_DELETE; its agent would remove the row.
      db.prepare(`DELETE FROM member WHERE id = ?`).run(memberId);
      activate();
    },
    createHealthMonitor: (poolId, monitor) => write('POST', '/v2/lbaas/healthmonitors', 'healthmonitor', { pool_id: poolId, ...monitor }),
    createL7Policy: (listenerId, poolId) => write('POST', '/v2/lbaas/l7policies', 'l7policy', { listener_id: listenerId, action: 'REDIRECT_TO_POOL', redirect_pool_id: poolId }),
    async stop() {
      db.close();
      if (!exited) {
        const gone = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await gone;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
