/**
 * Where the Octavia API is and how to authenticate to it, resolved the way the OpenStack clients do:
 * a cloud of a clouds.yaml (OS_CLIENT_CONFIG_FILE, ./clouds.yaml, ~/.config/openstack/clouds.yaml,
 * /etc/openstack/clouds.yaml), or the OS_* environment. Secrets stay on the control plane's host: a
 * LoadBalancerMirror names a cloud, never a password.
 *
 * Supported: Keystone v3 password and application credentials (the service catalog gives the
 * `load-balancer` endpoint), and `auth_type: none` (Octavia's `auth_strategy = noauth`, as in the tests)
 * with the endpoint from `load_balancer_endpoint_override` / OS_LOAD_BALANCER_ENDPOINT_OVERRIDE / OS_ENDPOINT.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { OctaviaError } from './errors.js';

export interface OctaviaAuth {
  authType: 'password' | 'v3applicationcredential' | 'none';
  authUrl?: string;
  username?: string;
  password?: string;
  userDomainName?: string;
  projectName?: string;
  projectId?: string;
  projectDomainName?: string;
  applicationCredentialId?: string;
  applicationCredentialSecret?: string;
  regionName?: string;
  interface: string;
  endpointOverride?: string;
  /** For noauth: the project sent as X-Project-Id (Octavia's noauth reads it). */
  noauthProjectId?: string;
}

type Dict = Record<string, unknown>;
const s = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

export function cloudsYamlPaths(env: NodeJS.ProcessEnv = process.env): string[] {
  return [env.OS_CLIENT_CONFIG_FILE, join(process.cwd(), 'clouds.yaml'), join(homedir(), '.config/openstack/clouds.yaml'), '/etc/openstack/clouds.yaml'].filter((p): p is string => !!p);
}

function fromCloud(cloud: Dict): OctaviaAuth {
  const auth = (cloud.auth ?? {}) as Dict;
  const type = s(cloud.auth_type) ?? (s(auth.application_credential_id) ? 'v3applicationcredential' : 'password');
  if (type !== 'password' && type !== 'v3applicationcredential' && type !== 'none' && type !== 'noauth') {
    throw new OctaviaError('OctaviaConfig', `auth_type "${type}" is not supported`, { field: 'spec.source.octavia.cloud', fix: 'use password, v3applicationcredential or none' });
  }
  const out: OctaviaAuth = { authType: type === 'noauth' ? 'none' : type, interface: s(cloud.interface) ?? 'public' };
  const set = <K extends keyof OctaviaAuth>(k: K, v: OctaviaAuth[K] | undefined): void => {
    if (v !== undefined) out[k] = v;
  };
  set('authUrl', s(auth.auth_url));
  set('username', s(auth.username));
  set('password', s(auth.password));
  set('userDomainName', s(auth.user_domain_name) ?? s(auth.domain_name));
  set('projectName', s(auth.project_name));
  set('projectId', s(auth.project_id));
  set('projectDomainName', s(auth.project_domain_name) ?? s(auth.domain_name));
  set('applicationCredentialId', s(auth.application_credential_id));
  set('applicationCredentialSecret', s(auth.application_credential_secret));
  set('regionName', s(cloud.region_name));
  set('endpointOverride', s(cloud.load_balancer_endpoint_override) ?? s(auth.endpoint));
  set('noauthProjectId', s(auth.project_id));
  return out;
}

function fromEnv(env: NodeJS.ProcessEnv): OctaviaAuth | undefined {
  const endpoint = s(env.OS_LOAD_BALANCER_ENDPOINT_OVERRIDE) ?? s(env.OS_ENDPOINT);
  if (!s(env.OS_AUTH_URL) && !endpoint) return undefined;
  const cloud: Dict = {
    auth_type: s(env.OS_AUTH_TYPE) ?? (s(env.OS_AUTH_URL) ? undefined : 'none'),
    region_name: env.OS_REGION_NAME,
    interface: env.OS_INTERFACE,
    load_balancer_endpoint_override: endpoint,
    auth: {
      auth_url: env.OS_AUTH_URL,
      username: env.OS_USERNAME,
      password: env.OS_PASSWORD,
      user_domain_name: env.OS_USER_DOMAIN_NAME,
      project_name: env.OS_PROJECT_NAME,
      project_id: env.OS_PROJECT_ID,
      project_domain_name: env.OS_PROJECT_DOMAIN_NAME,
      application_credential_id: env.OS_APPLICATION_CREDENTIAL_ID,
      application_credential_secret: env.OS_APPLICATION_CREDENTIAL_SECRET,
    },
  };
  return fromCloud(cloud);
}

/** The auth of `cloud` (a clouds.yaml entry), or of the OS_* environment when no cloud is named. */
export function resolveOctaviaAuth(cloud: { name: string; configPath?: string | undefined } | undefined, env: NodeJS.ProcessEnv = process.env): OctaviaAuth {
  if (!cloud) {
    const a = fromEnv(env);
    if (!a) throw new OctaviaError('OctaviaConfig', 'no cloud named and no OS_AUTH_URL (or OS_ENDPOINT for noauth) in the control plane\'s environment', { field: 'spec.source.octavia.cloud', fix: 'set spec.source.octavia.cloud {name, configPath} or export the OS_* variables of an openrc file to `drover server`' });
    return a;
  }
  const paths = cloud.configPath ? [cloud.configPath] : cloudsYamlPaths(env);
  const path = paths.find((p) => existsSync(p));
  if (!path) throw new OctaviaError('OctaviaConfig', `no clouds.yaml at ${paths.join(', ')}`, { field: 'spec.source.octavia.cloud.configPath', fix: 'point configPath at a clouds.yaml readable by the control plane' });
  let doc: Dict;
  try {
    doc = (parse(readFileSync(path, 'utf8')) ?? {}) as Dict;
  } catch (e) {
    throw new OctaviaError('OctaviaConfig', `${path}: ${(e as Error).message}`, { field: 'spec.source.octavia.cloud.configPath', fix: 'fix the YAML of the clouds.yaml' });
  }
  const entry = ((doc.clouds ?? {}) as Dict)[cloud.name];
  if (!entry || typeof entry !== 'object') {
    throw new OctaviaError('OctaviaConfig', `cloud "${cloud.name}" is not in ${path} (clouds: ${Object.keys(doc.clouds ?? {}).join(', ') || 'none'})`, { field: 'spec.source.octavia.cloud.name', fix: 'name a cloud of that clouds.yaml' });
  }
  return fromCloud(entry as Dict);
}

export interface OctaviaSession {
  endpoint: string;
  headers: Record<string, string>;
  /** Token expiry (ms since epoch); Infinity for noauth. */
  expiresAt: number;
}

interface CatalogEntry {
  type?: string;
  endpoints?: { interface?: string; region?: string; region_id?: string; url?: string }[];
}

/** A Keystone v3 token and the catalog's load-balancer endpoint (or the override); noauth: the override. */
export async function openSession(auth: OctaviaAuth, fetchImpl: typeof fetch = fetch, timeoutMs = 10_000): Promise<OctaviaSession> {
  const trim = (u: string): string => u.replace(/\/+$/, '');
  if (auth.authType === 'none') {
    if (!auth.endpointOverride) throw new OctaviaError('OctaviaConfig', 'auth_type none needs the Octavia endpoint', { field: 'spec.source.octavia.cloud', fix: 'set load_balancer_endpoint_override in the cloud (or OS_ENDPOINT)' });
    return { endpoint: trim(auth.endpointOverride), headers: auth.noauthProjectId ? { 'X-Project-Id': auth.noauthProjectId } : {}, expiresAt: Infinity };
  }
  if (!auth.authUrl) throw new OctaviaError('OctaviaConfig', 'the cloud has no auth.auth_url', { field: 'spec.source.octavia.cloud', fix: 'set auth.auth_url (Keystone v3) in the clouds.yaml, or OS_AUTH_URL' });
  const identity =
    auth.authType === 'v3applicationcredential'
      ? { methods: ['application_credential'], application_credential: { id: auth.applicationCredentialId, secret: auth.applicationCredentialSecret } }
      : { methods: ['password'], password: { user: { name: auth.username, password: auth.password, domain: { name: auth.userDomainName ?? 'Default' } } } };
  const scope =
    auth.authType === 'v3applicationcredential'
      ? undefined
      : auth.projectId
        ? { project: { id: auth.projectId } }
        : { project: { name: auth.projectName, domain: { name: auth.projectDomainName ?? 'Default' } } };
  const base = trim(auth.authUrl).replace(/\/v3$/, '');
  let res: Response;
  try {
    res = await fetchImpl(`${base}/v3/auth/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ auth: { identity, ...(scope ? { scope } : {}) } }),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (e) {
    throw new OctaviaError('OctaviaUnreachable', `Keystone at ${base}: ${(e as Error).message}`, { field: 'spec.source.octavia.cloud', fix: 'check auth_url and that the control plane can reach Keystone', cause: e });
  }
  if (!res.ok) throw new OctaviaError('OctaviaAuth', `Keystone refused the credentials: HTTP ${res.status}`, { field: 'spec.source.octavia.cloud', fix: 'check the cloud\'s credentials in the clouds.yaml' });
  const token = res.headers.get('x-subject-token') ?? '';
  const body = (await res.json()) as { token?: { expires_at?: string; catalog?: CatalogEntry[] } };
  let endpoint = auth.endpointOverride;
  if (!endpoint) {
    const svc = (body.token?.catalog ?? []).find((c) => c.type === 'load-balancer');
    const ep = svc?.endpoints?.find((e) => e.interface === auth.interface && (!auth.regionName || (e.region ?? e.region_id) === auth.regionName));
    if (!ep?.url) throw new OctaviaError('OctaviaConfig', `no load-balancer endpoint (interface ${auth.interface}${auth.regionName ? `, region ${auth.regionName}` : ''}) in the service catalog`, { field: 'spec.source.octavia.cloud', fix: 'check region_name/interface, or set load_balancer_endpoint_override' });
    endpoint = ep.url;
  }
  const expires = Date.parse(body.token?.expires_at ?? '');
  return { endpoint: trim(endpoint), headers: { 'X-Auth-Token': token }, expiresAt: Number.isNaN(expires) ? Date.now() + 3_600_000 : expires };
}
