/**
 * The operator journey of issue 11 on real processes, shared by the e2e test (journey.test.ts) and the
 * benchmark (bench/journey.ts): `drover up` (three local clusters, six Prods of the example app, the
 * edge) with traffic through the edge to every tenant, then, through the CLI as an operator types it:
 *
 *   release v2 → cluster replace onprem --with kobe (a new `drover agent`) → chaos kill-cluster (the
 *   cluster of the non-redundant tenant `shop`) → chaos restore → cluster drain (another cluster) → a template change (app env) in the middle of a release v3
 *
 * Failed requests are counted per step (TenantTraffic); each step waits until the control plane has
 * done what the step asks (or a deadline), then a short tail so late failures count against their step.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Fleet } from '../../../src/api/kinds/fleet.js';
import type { Release } from '../../../src/api/kinds/release.js';
import type { RemoteStore } from '../../../src/client/remote-store.js';
import { mutate } from '../../../src/release/successor.js';
import { clustersFile, droverBin, UpRun } from '../../helpers/drover-up.js';
import { TenantTraffic, type StepCount } from '../../helpers/tenant-traffic.js';
import { waitFor } from '../../helpers/wait-for.js';

export const tenants = [
  { name: 'shop', redundancy: 1 },
  { name: 'cafe', redundancy: 1 },
  { name: 'bigmart', redundancy: 2 },
  { name: 'megastore', redundancy: 2 },
] as const;

export const journeySteps = ['release v2', 'cluster replace', 'chaos kill-cluster', 'chaos restore', 'cluster drain', 'template change mid-release'] as const;
export type JourneyStep = (typeof journeySteps)[number];

export interface StepResult extends StepCount {
  ms: number;
  /** What the step's command said or did, for the report. */
  note: string;
}

function journeyFile(): string {
  const tenant = (t: (typeof tenants)[number]) => `---
apiVersion: drover.dev/v1alpha1
kind: Tenant
metadata: { name: ${t.name} }
spec: { fleet: web, users: 10, redundancy: ${t.redundancy}, match: { hosts: [${t.name}.web.localhost] } }
`;
  return `${clustersFile(6, 4)}${tenants.map(tenant).join('')}`;
}

export class Journey {
  readonly up = new UpRun(journeyFile());
  store!: RemoteStore;
  traffic!: TenantTraffic;
  private agent: ChildProcess | undefined;
  readonly results: StepResult[] = [];
  /** What `drover cluster replace` reported: Prods moved and its exit code. */
  replaced: { moved: number; code: number; out: string } | undefined;

  constructor(private readonly opts: { tailMs?: number; everyMs?: number } = {}) {}

  async start(): Promise<void> {
    this.store = await this.up.running(120_000);
    const edge = await waitFor('the edge URL', () => /^edge:[^\n]*?(http:\/\/127\.0\.0\.1:\d+)/m.exec(this.up.output)?.[1], { timeoutMs: 30_000 });
    await waitFor('every tenant on a Ready Prod', () => this.served(), { timeoutMs: 60_000, intervalMs: 200 });
    this.traffic = new TenantTraffic(edge, Object.fromEntries(tenants.map((t) => [t.name, `${t.name}.web.localhost`])), this.opts.everyMs ?? 25);
    this.traffic.start();
    await new Promise((r) => setTimeout(r, 1000));
    this.traffic.next('steady');
  }

  async stop(): Promise<void> {
    await this.traffic?.stop();
    this.agent?.kill('SIGTERM');
    await this.up.stop();
    this.up.cleanup();
  }

  async cleanupAfterFailure(): Promise<void> {
    this.agent?.kill('SIGKILL');
    this.up.cleanup();
  }

  private async served(): Promise<boolean> {
    const prods = new Map((await this.store.list('Prod')).items.map((p) => [p.metadata.name, p]));
    const ts = (await this.store.list('Tenant')).items;
    return ts.length === tenants.length && ts.every((t) => (t.status?.prods ?? []).some((n) => prods.get(n)?.status?.phase === 'Ready'));
  }

  private async drover(...args: string[]): Promise<{ code: number; out: string }> {
    try {
      const r = await this.up.drover(...args);
      return { code: 0, out: `${r.stdout}${r.stderr}` };
    } catch (e) {
      const x = e as { code?: number; stdout?: string; stderr?: string };
      return { code: typeof x.code === 'number' ? x.code : 1, out: `${x.stdout ?? ''}${x.stderr ?? ''}` };
    }
  }

  /** Runs one step with its failed requests counted under its name. */
  async step(name: JourneyStep, fn: () => Promise<string>): Promise<StepResult> {
    this.traffic.next(name);
    const t0 = performance.now();
    let note: string;
    try {
      note = await fn();
    } finally {
      await new Promise((r) => setTimeout(r, this.opts.tailMs ?? 1000));
    }
    const ms = Math.round(performance.now() - t0);
    this.traffic.next(`after ${name}`);
    const result = { ...this.traffic.count(name), ms, note };
    this.results.push(result);
    return result;
  }

  /** Redundant tenants whose Ready Prods are in fewer than two failure domains, with those domains. */
  async singleDomainTenants(): Promise<{ tenant: string; domains: string[] }[]> {
    const clusters = new Map((await this.store.list('Cluster')).items.map((c) => [c.metadata.name, c.spec.domain ?? c.spec.region]));
    const prods = new Map((await this.store.list('Prod')).items.map((p) => [p.metadata.name, p]));
    const out: { tenant: string; domains: string[] }[] = [];
    for (const t of (await this.store.list('Tenant')).items) {
      if (t.spec.redundancy !== 2) continue;
      const domains = [...new Set((t.status?.prods ?? []).map((n) => prods.get(n)).filter((p) => p?.status?.phase === 'Ready').map((p) => clusters.get(p!.spec.cluster) ?? '?'))];
      if (domains.length < 2) out.push({ tenant: t.metadata.name, domains });
    }
    return out;
  }

  /** Waits for a release to end; promotes a wave its gates found inconclusive (issue 11 item 7). */
  private async finishRelease(name: string, timeoutMs = 120_000): Promise<Release> {
    return waitFor(
      `release ${name} to end`,
      async () => {
        const r = await this.store.get('Release', name);
        const phase = r?.status?.phase;
        if (phase === 'Paused') await this.drover('release', 'promote', name);
        return phase === 'Succeeded' || phase === 'RolledBack' || phase === 'Failed' || phase === 'Aborted' ? r : undefined;
      },
      { timeoutMs, intervalMs: 250 },
    );
  }

  async releaseV2(): Promise<StepResult> {
    return this.step('release v2', async () => {
      const s = await this.drover('release', 'start', 'web', '--version', 'v2', '--bake', '1s', '--name', 'web-v2', '--max-parallel', '2');
      if (s.code !== 0) throw new Error(`release start failed: ${s.out}`);
      const r = await this.finishRelease('web-v2');
      await waitFor('every tenant served', () => this.served(), { timeoutMs: 30_000, intervalMs: 200 });
      return `release ${r.status?.phase ?? '?'}`;
    });
  }

  /** Returns the step and how many Prods the replace said it moved. */
  async replace(): Promise<StepResult & { moved: number; code: number }> {
    let moved = -1;
    let code = -1;
    const r = await this.step('cluster replace', async () => {
      const { DROVER_TOKEN: _t, DROVER_SERVER: _s, ...env } = process.env;
      this.agent = spawn(process.execPath, [droverBin, 'agent', '--cluster', 'kobe', '--region', 'kobe', '--capacity', '4'], {
        cwd: this.up.dir,
        env: { ...env, DROVER_CONFIG: this.up.config },
        stdio: 'ignore',
      });
      await waitFor('kobe Ready', async () => (await this.store.get('Cluster', 'kobe'))?.status?.phase === 'Ready', { timeoutMs: 30_000, intervalMs: 200 });
      const out = await this.drover('cluster', 'replace', 'onprem', '--with', 'kobe', '--timeout', '60');
      code = out.code;
      moved = Number(/(\d+) Prods? moved/.exec(out.out)?.[1] ?? (out.code === 0 ? 0 : -1));
      this.replaced = { moved, code, out: out.out.trim() };
      await waitFor('every tenant served', () => this.served(), { timeoutMs: 30_000, intervalMs: 200 });
      return `exit ${out.code}: ${out.out.trim().split('\n').at(-1) ?? ''}`;
    });
    return { ...r, moved, code };
  }

  /**
   * The cluster that killing hurts most: one running the only Prod of a non-redundant tenant (among the
   * clusters `drover up` runs, since only those `chaos restore` can bring back).
   */
  async victim(): Promise<string> {
    for (const t of tenants.filter((x) => x.redundancy === 1)) {
      const name = (await this.store.get('Tenant', t.name))?.status?.prods[0];
      const cluster = name ? (await this.store.get('Prod', name))?.spec.cluster : undefined;
      if (cluster && ['tokyo', 'osaka', 'onprem'].includes(cluster)) return cluster;
    }
    return 'tokyo';
  }

  async killCluster(victim: string): Promise<StepResult> {
    return this.step('chaos kill-cluster', async () => {
      const out = await this.drover('chaos', 'kill-cluster', victim);
      await waitFor(`${victim} NotReady`, async () => (await this.store.get('Cluster', victim))?.status?.phase === 'NotReady', { timeoutMs: 30_000, intervalMs: 100 });
      await waitFor('every tenant served elsewhere', async () => {
        const prods = new Map((await this.store.list('Prod')).items.map((p) => [p.metadata.name, p]));
        const ts = (await this.store.list('Tenant')).items;
        return ts.every((t) => (t.status?.prods ?? []).some((n) => prods.get(n)?.status?.phase === 'Ready' && prods.get(n)?.spec.cluster !== victim));
      }, { timeoutMs: 60_000, intervalMs: 200 });
      return `${out.out.trim()} (${victim} ran the only Prod of a non-redundant tenant)`;
    });
  }

  async restoreCluster(victim: string): Promise<StepResult> {
    return this.step('chaos restore', async () => {
      const out = await this.drover('chaos', 'restore', victim);
      await waitFor(`${victim} Ready`, async () => (await this.store.get('Cluster', victim))?.status?.phase === 'Ready', { timeoutMs: 30_000, intervalMs: 100 });
      return out.out.trim().split('\n').at(-1) ?? '';
    });
  }

  async drain(cluster: string): Promise<StepResult & { code: number }> {
    let code = -1;
    const r = await this.step('cluster drain', async () => {
      const out = await this.drover('cluster', 'drain', cluster, '--timeout', '60');
      code = out.code;
      return `exit ${out.code}: ${out.out.trim().split('\n').slice(-2).join(' | ')}`;
    });
    return { ...r, code };
  }

  /** A release v3 and, once its first wave is under way, an env change of the fleet's app. */
  async templateChangeMidRelease(): Promise<StepResult> {
    return this.step('template change mid-release', async () => {
      const s = await this.drover('release', 'start', 'web', '--version', 'v3', '--bake', '1s', '--name', 'web-v3', '--max-parallel', '2');
      if (s.code !== 0) throw new Error(`release start failed: ${s.out}`);
      await waitFor('release v3 under way', async () => {
        const r = await this.store.get('Release', 'web-v3');
        return (r?.status?.waves ?? []).some((w) => w.state === 'Updating' || w.state === 'Baking') || r?.status?.phase === 'Succeeded';
      }, { timeoutMs: 60_000, intervalMs: 100 });
      await mutate<Fleet>(this.store, 'Fleet', 'web', (f) => void (f.spec.app.env = { ...f.spec.app.env, GREETING: 'hello' }));
      const r = await this.finishRelease('web-v3');
      await waitFor('every tenant served', () => this.served(), { timeoutMs: 60_000, intervalMs: 200 });
      return `release ${r.status?.phase ?? '?'}, env changed mid-release`;
    });
  }
}

/** The cluster to drain: one of the original three, neither the replaced one nor the one just killed. */
export function drainTarget(victim: string): string {
  return ['tokyo', 'osaka', 'kobe'].find((c) => c !== victim) ?? 'osaka';
}

/** Runs every step in order (the bench and ad-hoc runs); the test runs them one `it` each. */
export async function runJourney(j: Journey): Promise<StepResult[]> {
  await j.releaseV2();
  await j.replace();
  const victim = await j.victim();
  await j.killCluster(victim);
  await j.restoreCluster(victim);
  await j.drain(drainTarget(victim));
  await j.templateChangeMidRelease();
  return j.results;
}
