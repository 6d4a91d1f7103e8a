/**
 * The plans the edge executes and what follows from them: one `Upstream` per Prod, and the routing table
 * the request passes read. Plans and health changes rebuild the table; requests only read it. A plan
 * change never touches client connections: in-flight requests keep the upstream they started on, and a
 * Prod removed from the plan is closed once its last request ends (traffic rule 6).
 */
import type { TrafficPlanSpec } from '../api/kinds/traffic-plan.js';
import type { HealthSettings } from './health.js';
import { legacyUpstreams } from './legacy-split.js';
import type { EdgeMetrics } from './metrics.js';
import { RouteTable } from './routing.js';
import { Upstream, type UpstreamSettings } from './upstream.js';

export class PlanState {
  private readonly upstreams = new Map<string, Upstream>();
  private plans: TrafficPlanSpec[] = [];
  private current = new RouteTable<Upstream>([], new Map(), () => false);

  constructor(
    private readonly settings: UpstreamSettings,
    private readonly metrics: EdgeMetrics,
    private readonly log: (msg: string) => void,
  ) {}

  /** The routing table in force. */
  get table(): RouteTable<Upstream> {
    return this.current;
  }

  /** The plans in use (as `/plan` shows them). */
  currentPlans(): readonly TrafficPlanSpec[] {
    return this.plans;
  }

  /** Health of every endpoint, by Prod name. */
  healthState(): Record<string, boolean> {
    const out: Record<string, boolean> = {};
    for (const [n, u] of this.upstreams) out[n] = u.health.healthy;
    return out;
  }

  /** When the Prod's health last changed (Date.now()), if it ever did. */
  healthChangedAt(prod: string): number | undefined {
    return this.upstreams.get(prod)?.healthChangedAt;
  }

  apply(plans: readonly TrafficPlanSpec[]): void {
    const wanted = new Map<string, { pe: { url: string; cluster: string }; settings: HealthSettings }>();
    for (const plan of plans) {
      const settings: HealthSettings = { healthCheck: plan.healthCheck, passive: plan.passive };
      for (const pe of plan.endpoints) if (!wanted.has(pe.prod)) wanted.set(pe.prod, { pe, settings });
      // A Migration's legacy endpoints are upstreams like Prods (health, retries, /stats, /metrics); each is
      // its own "cluster", so that a retry prefers another legacy endpoint to the fleet.
      for (const l of legacyUpstreams(plan)) if (!wanted.has(l.name)) wanted.set(l.name, { pe: { url: l.url, cluster: l.name }, settings: l.settings });
      this.metrics.revision(plan.fleet, plan.revision);
    }
    // Traffic rule 6: a Prod that leaves the plan drains — no new requests; closed after its last one.
    for (const [name, u] of this.upstreams) {
      const w = wanted.get(name);
      if (w && w.pe.url === u.url && w.pe.cluster === u.cluster) continue;
      this.upstreams.delete(name);
      this.retire(u);
    }
    for (const [name, { pe, settings }] of wanted) {
      const existing = this.upstreams.get(name);
      if (existing) {
        const before = existing.health.settings.healthCheck;
        existing.health.settings = settings;
        if (before.intervalMs !== settings.healthCheck.intervalMs) existing.checker.start();
        continue;
      }
      const u = new Upstream(name, pe.cluster, pe.url, settings, this.metrics.prod(name), this.settings, (up, healthy) => this.onHealth(up, healthy));
      this.upstreams.set(name, u);
      u.checker.start();
    }
    this.plans = [...plans];
    this.rebuild();
    this.log(`applied ${plans.length} plan(s): ${plans.map((p) => `${p.fleet}@${p.revision}`).join(', ') || '(none)'}`);
  }

  /** Stops every health checker and closes every pool (the edge is stopping). */
  close(): void {
    for (const u of this.upstreams.values()) {
      u.checker.close();
      u.close();
    }
    this.upstreams.clear();
  }

  private retire(u: Upstream): void {
    u.removed = true;
    u.checker.close();
    if (u.inflight === 0) u.close();
  }

  private onHealth(u: Upstream, healthy: boolean): void {
    u.healthChangedAt = Date.now();
    u.metrics.setHealthy(healthy);
    if (this.upstreams.get(u.name) !== u) return;
    this.log(`${u.name} is now ${healthy ? 'healthy' : 'unhealthy'}`);
    this.rebuild();
  }

  private rebuild(): void {
    this.current = new RouteTable(this.plans, this.upstreams, (u) => u.health.healthy);
  }
}
