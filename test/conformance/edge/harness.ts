/**
 * The conformance suite's seams: a `DataPlane` is anything that executes a traffic plan (the Drover
 * edge here; HAProxy or a cloud adapter later). The suite only starts it with a plan, updates the
 * plan, sends HTTP to its base URL and reads which upstream answered (the upstreams' own `x-upstream`
 * header), so any data plane can be run through the same tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import type { PlanEndpoint, PlanGroup, PlanTenant, TrafficPlanSpec } from '../../../src/api/kinds/traffic-plan.js';
import { Edge } from '../../../src/edge/edge.js';
import { StaticPlanSource } from '../../../src/edge/plan-source.js';

export interface DataPlane {
  readonly name: string;
  /** Starts serving `plan`; resolves to the base URL clients use. */
  start(plan: TrafficPlanSpec): Promise<string>;
  /** Replaces the plan; resolves once new requests follow it. */
  update(plan: TrafficPlanSpec): Promise<void>;
  /** Whether the data plane currently considers a Prod healthy, when it can tell. */
  healthy?(prod: string): boolean | undefined;
  stop(): Promise<void>;
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

  async stop(): Promise<void> {
    await this.edge?.stop();
  }
}

/** Data planes the suite runs against; HAProxy joins here once it has an adapter. */
export const dataPlanes: { name: string; make: () => DataPlane }[] = [{ name: 'drover-edge', make: () => new DroverEdgeDataPlane() }];

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

/** Polls `cond` until it holds or the deadline passes (then fails with `what`). */
export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 5000, everyMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
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
