/**
 * A template change on a running `drover up`, as an operator makes it: a `drover up` file with tenants
 * over the fleet, a traffic loop over every tenant through the edge, and a watcher that records how many
 * rollout successors were in flight at once. Shared by test/e2e/up/template-rollout.test.ts and
 * bench/template-rollout.ts.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import type { Prod } from '../../src/api/kinds/prod.js';
import { fleetTemplate } from '../../src/api/template.js';
import type { RemoteStore } from '../../src/client/remote-store.js';
import { clustersFile, type UpRun } from './drover-up.js';
import { exampleAppPath } from './fixtures.js';
import { waitFor } from './wait-for.js';

export const tenants = ['qa', 'alpha', 'bravo', 'charlie', 'delta', 'echo'] as const;
export const hostOf = (t: string) => `${t}.web.test`;

/** Three clusters of capacity 4, a fleet of 6 Prods (one test Prod) and six tenants (qa is the test tenant; two are redundant). */
export function rolloutUpFile(): string {
  const base = clustersFile(6).replace('  prods: 6\n', '  prods: 6\n  testProds: 1\n');
  const tenant = (name: string, users: number, redundancy: number, test = false) => `---
apiVersion: drover.dev/v1alpha1
kind: Tenant
metadata: { name: ${name} }
spec: { fleet: web, users: ${users}, redundancy: ${redundancy}, test: ${test}, match: { hosts: [${hostOf(name)}] } }
`;
  return `${base}${tenant('qa', 1, 1, true)}${tenant('alpha', 10, 1)}${tenant('bravo', 20, 2)}${tenant('charlie', 30, 1)}${tenant('delta', 40, 2)}${tenant('echo', 50, 1)}`;
}

/** The fleet document of `rolloutUpFile` with another app (what `drover apply -f` is given). */
export function fleetDoc(app: { args?: string[]; env?: Record<string, string> }): string {
  return `apiVersion: drover.dev/v1alpha1
kind: Fleet
metadata: { name: web }
spec:
  prods: 6
  testProds: 1
  version: v1
  app:
    command: ${JSON.stringify(process.execPath)}
    args: ${JSON.stringify(app.args ?? [exampleAppPath])}
    env: ${JSON.stringify(app.env ?? {})}
    healthPath: /healthz
  warmup: { requests: 2 }
`;
}

export async function applyFleet(up: UpRun, app: { args?: string[]; env?: Record<string, string> }): Promise<void> {
  const file = join(up.dir, `fleet-${Date.now()}.yaml`);
  writeFileSync(file, fleetDoc(app));
  await up.drover('apply', '-f', file);
}

export function edgeUrl(up: UpRun): string {
  const m = /^edge:[^\n]*?(http:\/\/127\.0\.0\.1:\d+)/im.exec(up.output);
  if (!m?.[1]) throw new Error(`drover up printed no edge URL:\n${up.output}`);
  return m[1];
}

export interface TrafficCounts {
  ok: number;
  failed: number;
  /** Failures per tenant, with the first few answers for the report. */
  failures: Map<string, string[]>;
}

/** Sequential requests per tenant through the edge from a few loopback sources until `stop()`. */
export class TrafficLoop {
  readonly counts: TrafficCounts = { ok: 0, failed: 0, failures: new Map() };
  private on = true;
  private readonly loops: Promise<void>[] = [];
  private readonly sources = ['127.0.0.1', '127.0.0.2', '127.0.0.3'].map((localAddress) => new Agent({ localAddress }));

  constructor(
    private readonly url: string,
    private readonly everyMs = 20,
  ) {
    for (const t of tenants) this.loops.push(this.loop(t));
  }

  /** Counts since the last reset. */
  reset(): void {
    this.counts.ok = 0;
    this.counts.failed = 0;
    this.counts.failures.clear();
  }

  private async loop(tenant: string): Promise<void> {
    for (let i = 0; this.on; i++) {
      const at = Date.now();
      let failure: string | undefined;
      try {
        const res = await request(`${this.url}/`, { dispatcher: this.sources[i % this.sources.length], headers: { host: hostOf(tenant) }, headersTimeout: 5000, bodyTimeout: 5000 });
        const body = await res.body.text();
        if (res.statusCode !== 200) failure = `${res.statusCode} ${body.slice(0, 120)}`;
      } catch (e) {
        failure = e instanceof Error ? e.message : String(e);
      }
      if (failure === undefined) this.counts.ok++;
      else {
        this.counts.failed++;
        const list = this.counts.failures.get(tenant) ?? [];
        if (list.length < 3) list.push(failure);
        this.counts.failures.set(tenant, list);
      }
      await new Promise((r) => setTimeout(r, Math.max(0, this.everyMs - (Date.now() - at))));
    }
  }

  /** Resolves once every tenant got a 200 since the call. */
  async everyTenantServed(timeoutMs = 60_000): Promise<void> {
    const seen = new Set<string>();
    await waitFor(
      'every tenant served through the edge',
      async () => {
        for (const t of tenants) {
          if (seen.has(t)) continue;
          const res = await request(`${this.url}/`, { headers: { host: hostOf(t) }, headersTimeout: 2000 }).catch(() => undefined);
          if (res?.statusCode === 200) seen.add(t);
          await res?.body.text().catch(() => '');
        }
        return seen.size === tenants.length;
      },
      { timeoutMs, intervalMs: 100 },
    );
  }

  async stop(): Promise<TrafficCounts> {
    this.on = false;
    await Promise.all(this.loops);
    await Promise.all(this.sources.map((s) => s.close()));
    return this.counts;
  }
}

/** Polls the fleet's Prods during a rollout and keeps the most successors seen in flight at once. */
export class RolloutWatch {
  maxInFlight = 0;
  private on = true;
  private readonly done: Promise<void>;

  constructor(private readonly store: RemoteStore) {
    this.done = this.poll();
  }

  private async poll(): Promise<void> {
    while (this.on) {
      const ps = (await this.store.list('Prod').catch(() => ({ items: [] as Prod[] }))).items.filter((p) => p.spec.fleet === 'web' && !p.spec.retire);
      const live = new Set(ps.map((p) => p.metadata.name));
      const inFlight = ps.filter((p) => p.spec.replaces !== undefined && live.has(p.spec.replaces)).length;
      this.maxInFlight = Math.max(this.maxInFlight, inFlight);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  async stop(): Promise<void> {
    this.on = false;
    await this.done;
  }
}

/** Six web Prods, all Ready, none retiring, all on the Fleet's current template; resolves to them. */
export async function settledOn(store: RemoteStore, hash?: string): Promise<Prod[] | undefined> {
  const fleet = await store.get('Fleet', 'web');
  if (!fleet) return undefined;
  const want = hash ?? fleetTemplate(fleet).hash;
  const ps = (await store.list('Prod')).items.filter((p) => p.spec.fleet === 'web');
  const ok = ps.length === 6 && ps.every((p) => !p.spec.retire && p.status?.phase === 'Ready' && p.spec.template?.hash === want);
  return ok ? ps : undefined;
}
