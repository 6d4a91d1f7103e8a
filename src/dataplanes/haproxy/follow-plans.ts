/**
 * HAProxy driven by traffic plans: `drover edge --data-plane haproxy`. Follows the same `PlanSource` as
 * the Node edge (API watch or file), renders every new set of plans and applies it by hitless reload.
 * While a reload runs, newer plans wait and only the latest is applied next, so a burst of plan changes
 * costs at most two reloads. A plan HAProxy refuses is logged and the running config keeps serving
 * (static stability, as the edge keeps its last plan).
 */
import type { TrafficPlanSpec } from '../../api/kinds/traffic-plan.js';
import type { PlanSource } from '../../edge/plan-source.js';
import { renderHaproxyConfig, type HaproxyRenderOptions } from './render.js';
import { HaproxyProcess } from './process.js';

export interface HaproxyEdgeOptions {
  source: PlanSource;
  listen: { host: string; port: number };
  binary?: string;
  nbthread?: number;
  log?: (msg: string) => void;
}

export class HaproxyEdge {
  readonly haproxy: HaproxyProcess;
  private readonly log: (msg: string) => void;
  private started = false;
  private applying: Promise<void> | undefined;
  private pending: readonly TrafficPlanSpec[] | undefined;
  private first: readonly TrafficPlanSpec[] = [];
  /** The plans the running config was rendered from. */
  applied: readonly TrafficPlanSpec[] = [];
  lastError: string | undefined;

  constructor(private readonly opts: HaproxyEdgeOptions) {
    this.log = opts.log ?? (() => {});
    this.haproxy = new HaproxyProcess({ ...(opts.binary !== undefined ? { binary: opts.binary } : {}), log: (line) => this.log(`haproxy: ${line}`) });
  }

  private render(plans: readonly TrafficPlanSpec[]): string {
    const o: HaproxyRenderOptions = { listen: this.opts.listen, stateFile: this.haproxy.stateFile, ...(this.opts.nbthread !== undefined ? { nbthread: this.opts.nbthread } : {}) };
    return renderHaproxyConfig(plans, o);
  }

  /** Starts HAProxy on the first plans the source has (none: it answers 503 until a plan arrives). */
  async start(): Promise<string> {
    await this.opts.source.start((plans) => {
      if (!this.started) this.first = plans;
      else this.offer(plans);
    });
    await this.haproxy.start(this.render(this.first));
    this.applied = this.first;
    this.started = true;
    return `http://${this.opts.listen.host.includes(':') ? `[${this.opts.listen.host}]` : this.opts.listen.host}:${this.opts.listen.port}`;
  }

  private offer(plans: readonly TrafficPlanSpec[]): void {
    this.pending = plans;
    if (this.applying) return;
    this.applying = (async () => {
      while (this.pending) {
        const next = this.pending;
        this.pending = undefined;
        try {
          await this.haproxy.reload(this.render(next));
          this.applied = next;
          this.lastError = undefined;
          this.log(`applied ${next.length} plan(s): ${next.map((p) => `${p.fleet}@${p.revision}`).join(', ') || '(none)'}`);
        } catch (e) {
          this.lastError = e instanceof Error ? e.message : String(e);
          this.log(`kept the running config; could not apply the new plans: ${this.lastError}`);
        }
      }
      this.applying = undefined;
    })();
  }

  /** Resolves once every plan offered so far has been applied (or refused). */
  async settled(): Promise<void> {
    while (this.applying) await this.applying;
  }

  async stop(): Promise<void> {
    await this.opts.source.stop();
    await this.settled();
    await this.haproxy.stop();
  }
}
