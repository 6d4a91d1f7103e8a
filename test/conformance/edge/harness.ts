/**
 * The conformance suite's seams: a `DataPlane` is anything that executes a traffic plan (the Drover
 * edge, HAProxy through its adapter; a cloud adapter later). The suite only starts it with a plan, updates
 * the plan, sends HTTP to its base URL and reads which upstream answered (the upstreams' own `x-upstream`
 * header), so any data plane can be run through the same tests. A plane declares what it cannot express
 * (`cannot`); the tests that need it are skipped on that plane with the reason, never dropped silently.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import type { PlanEndpoint, PlanGroup, PlanTenant, TrafficPlanSpec } from '../../../src/api/kinds/traffic-plan.js';
import { Edge } from '../../../src/edge/edge.js';
import { StaticPlanSource } from '../../../src/edge/plan-source.js';
import { haproxyPlaneEntry } from './haproxy-plane.js';

export interface DataPlane {
  readonly name: string;
  /** Starts serving `plan`; resolves to the base URL clients use. */
  start(plan: TrafficPlanSpec): Promise<string>;
  /** Replaces the plan; resolves once new requests follow it. */
  update(plan: TrafficPlanSpec): Promise<void>;
  /** Whether the data plane currently considers a Prod healthy, when it can tell. */
  healthy?(prod: string): boolean | undefined;
  /** When (epoch ms) the data plane last changed its mind about a Prod's health, when it can tell. */
  healthChangedAt?(prod: string): number | undefined;
  stop(): Promise<void>;
}

/** Behaviours of the traffic rules that not every data plane can express. */
export type Behaviour = 'update-on-open-connections' | 'request-body-timeout' | 'connection-named-headers';

export interface DataPlaneEntry {
  name: string;
  make: () => DataPlane;
  /** Why the plane cannot run here at all (e.g. its binary is missing): every test of it skips with this. */
  unavailable?: string | undefined;
  /** What the plane cannot express, with the reason. */
  cannot?: Partial<Record<Behaviour, string>>;
}

/** Test options for a test that needs `behaviours`: a skip with the plane's reason when it lacks one. */
export function needs(dp: DataPlaneEntry, ...behaviours: Behaviour[]): { skip?: string } {
  for (const b of behaviours) {
    const why = dp.cannot?.[b];
    if (why !== undefined) return { skip: `${dp.name} cannot express ${b}: ${why}` };
  }
  return {};
}

/**
 * The client to use right after `update`: `agent` itself, or, on a plane that cannot apply an update to
 * client connections that are already open, a new one (that behaviour is tested on its own, see `needs`).
 */
export function clientAfterUpdate(dp: DataPlaneEntry, agent: Agent): Agent {
  return dp.cannot?.['update-on-open-connections'] !== undefined ? client() : agent;
}

export class DroverEdgeDataPlane implements DataPlane {
  readonly name = 'drover-edge';
  private readonly source = new StaticPlanSource();
  edge: Edge | undefined;

  async start(plan: TrafficPlanSpec): Promise<string> {
    this.source.set([plan]);
    this.edge = new Edge({ source: this.source, listen: { host: '127.0.0.1', port: 0 }, adminListen: { host: '127.0.0.1', port: 0 } });
    const { url } = await this.edge.start();
    return url;
  }

  async update(plan: TrafficPlanSpec): Promise<void> {
    this.source.set([plan]);
  }

  healthy(prod: string): boolean | undefined {
    return this.edge?.healthState()[prod];
  }

  healthChangedAt(prod: string): number | undefined {
    return this.edge?.healthChangedAt(prod);
  }

  async stop(): Promise<void> {
    await this.edge?.stop();
  }
}

/** Data planes the suite runs against. */
export const dataPlanes: DataPlaneEntry[] = [{ name: 'drover-edge', make: () => new DroverEdgeDataPlane() }, haproxyPlaneEntry()];

// ---- plans ------------------------------------------------------------------------------------------

export function endpoint(prod: string, url: string, domain: string, extra: Partial<PlanEndpoint> = {}): PlanEndpoint {
  return { prod, url, cluster: `${domain}-1`, domain, version: 'v1', role: 'normal', state: 'active', failoverTarget: true, ...extra };
}

export function plan(parts: { endpoints: PlanEndpoint[]; groups?: PlanGroup[]; tenants?: PlanTenant[] } & Partial<TrafficPlanSpec>): TrafficPlanSpec {
  return {
    fleet: 'web',
    revision: 1,
    failMode: 'failClosed',
    affinity: 'clientIp',
    tenantHeader: 'x-drover-tenant',
    addProdHeader: true,
    failoverToDraining: false,
    healthCheck: { path: '/healthz', intervalMs: 100, timeoutMs: 200, unhealthyThreshold: 2, healthyThreshold: 2 },
    passive: { connectErrors: 1, consecutive5xx: 5 },
    tenants: [],
    groups: [],
    ...parts,
  };
}

// ---- clients ----------------------------------------------------------------------------------------

export interface Answer {
  status: number;
  upstream: string | undefined;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

export function client(opts: { localAddress?: string; connections?: number } = {}): Agent {
  return new Agent({ keepAliveTimeout: 30_000, connections: opts.connections ?? 64, ...(opts.localAddress ? { localAddress: opts.localAddress } : {}) });
}

export async function get(agent: Agent, base: string, path = '/', headers: Record<string, string> = {}, method = 'GET', body?: string): Promise<Answer> {
  const r = await request(base + path, { dispatcher: agent, method: method as 'GET', headers, ...(body !== undefined ? { body } : {}) });
  const text = await r.body.text();
  const up = r.headers['x-upstream'];
  return { status: r.statusCode, upstream: typeof up === 'string' ? up : undefined, body: text, headers: r.headers };
}

/** Sends `n` requests, `concurrency` at a time; counts answers by upstream (status ≠ 200 counted as `status:N`). */
export async function distribution(agent: Agent, base: string, n: number, concurrency = 32, headers: Record<string, string> = {}): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  let sent = 0;
  const worker = async () => {
    while (sent < n) {
      sent++;
      const a = await get(agent, base, '/', headers);
      const key = a.status === 200 ? (a.upstream ?? '?') : `status:${a.status}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return counts;
}

// ---- upstreams as real child processes -------------------------------------------------------------

export interface ChildUpstream {
  name: string;
  url: string;
  child: ChildProcess;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

const upstreamMain = fileURLToPath(new URL('./upstream-main.ts', import.meta.url));

export async function spawnUpstream(name: string): Promise<ChildUpstream> {
  const child = spawn(process.execPath, ['--import', 'tsx', upstreamMain, name], { stdio: ['ignore', 'pipe', 'inherit'] });
  const rl = createInterface({ input: child.stdout });
  const [line] = (await Promise.race([
    once(rl, 'line'),
    once(child, 'exit').then(() => {
      throw new Error(`upstream ${name} exited before listening`);
    }),
  ])) as [string];
  rl.close();
  const { url } = JSON.parse(line) as { url: string };
  return {
    name,
    url,
    child,
    kill: async (signal: NodeJS.Signals = 'SIGKILL') => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill(signal);
      await exited;
    },
  };
}
