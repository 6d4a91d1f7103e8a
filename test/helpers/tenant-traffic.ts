/**
 * Steady loopback traffic through the edge to every tenant (by Host header), with failed requests counted
 * per labelled step: a journey switches `step` before each operator action and reads the counts after.
 * Requests come from several loopback source addresses so client-IP affinity spreads them over both
 * Prods of a redundant tenant. Failed = a network error, a timeout, or any status other than 2xx.
 */
import { Agent, request } from 'undici';

export interface StepCount {
  step: string;
  ok: number;
  failed: number;
  /** Failed requests by tenant, then by status ("ECONNRESET", "503", …). */
  failures: Record<string, Record<string, number>>;
  /** When counting under this label started, and the first and last failure (performance.now() ms). */
  startedAt: number;
  firstFailureAt?: number;
  lastFailureAt?: number;
}

export class TenantTraffic {
  private readonly sources = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4'].map((localAddress) => new Agent({ localAddress, connections: 4 }));
  private readonly counts = new Map<string, StepCount>();
  private running = false;
  private loops: Promise<void>[] = [];
  step = 'start';

  /**
   * @param edgeUrl where the edge listens
   * @param hosts tenant name → Host header
   * @param everyMs pause between two requests of one tenant's loop
   */
  constructor(
    private readonly edgeUrl: string,
    private readonly hosts: Record<string, string>,
    private readonly everyMs = 25,
  ) {}

  start(): void {
    this.running = true;
    this.loops = Object.entries(this.hosts).map(([tenant, host], i) => this.loop(tenant, host, i));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    await Promise.all(this.sources.map((a) => a.close()));
  }

  /** Starts counting under a new label and returns the counts of the previous one. */
  next(step: string): StepCount {
    const prev = this.count(this.step);
    this.step = step;
    return prev;
  }

  count(step: string): StepCount {
    let c = this.counts.get(step);
    if (!c) {
      c = { step, ok: 0, failed: 0, failures: {}, startedAt: performance.now() };
      this.counts.set(step, c);
    }
    return c;
  }

  all(): StepCount[] {
    return [...this.counts.values()];
  }

  private async loop(tenant: string, host: string, offset: number): Promise<void> {
    for (let n = offset; this.running; n++) {
      const c = this.count(this.step);
      let outcome: string;
      try {
        const res = await request(`${this.edgeUrl}/`, { dispatcher: this.sources[n % this.sources.length], headers: { host }, headersTimeout: 5000, bodyTimeout: 5000 });
        await res.body.dump();
        outcome = res.statusCode >= 200 && res.statusCode < 300 ? 'ok' : String(res.statusCode);
      } catch (e) {
        outcome = (e as { code?: string }).code ?? (e instanceof Error ? e.name : 'error');
      }
      if (outcome === 'ok') c.ok++;
      else {
        c.failed++;
        c.firstFailureAt ??= performance.now();
        c.lastFailureAt = performance.now();
        const t = (c.failures[tenant] ??= {});
        t[outcome] = (t[outcome] ?? 0) + 1;
      }
      await new Promise((r) => setTimeout(r, this.everyMs));
    }
  }
}
