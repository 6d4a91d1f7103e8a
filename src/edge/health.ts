/**
 * Endpoint health (traffic rule 3): a small state machine fed by active checks and by what requests
 * see (passive). Unhealthy after `unhealthyThreshold` failed checks in a row, or at once after
 * `passive.connectErrors` connect errors in a row, or after `passive.consecutive5xx` 5xx answers in a
 * row; healthy again only after `healthyThreshold` passed active checks in a row.
 */
import http from 'node:http';
import type { TrafficPlanSpec } from '../api/kinds/traffic-plan.js';

export type HealthSettings = Pick<TrafficPlanSpec, 'healthCheck' | 'passive'>;

export type HealthCause = 'active' | 'connect' | '5xx' | 'recovered';

export class EndpointHealth {
  healthy = true;
  private failStreak = 0;
  private passStreak = 0;
  private connectStreak = 0;
  private fiveXXStreak = 0;

  constructor(
    public settings: HealthSettings,
    private readonly onChange: (healthy: boolean, cause: HealthCause) => void,
  ) {}

  private set(healthy: boolean, cause: HealthCause): void {
    if (this.healthy === healthy) return;
    this.healthy = healthy;
    this.failStreak = 0;
    this.passStreak = 0;
    this.connectStreak = 0;
    this.fiveXXStreak = 0;
    this.onChange(healthy, cause);
  }

  activeResult(ok: boolean): void {
    if (ok) {
      this.failStreak = 0;
      this.passStreak++;
      if (!this.healthy && this.passStreak >= this.settings.healthCheck.healthyThreshold) this.set(true, 'recovered');
    } else {
      this.passStreak = 0;
      this.failStreak++;
      if (this.healthy && this.failStreak >= this.settings.healthCheck.unhealthyThreshold) this.set(false, 'active');
    }
  }

  connectError(): void {
    this.connectStreak++;
    if (this.healthy && this.connectStreak >= this.settings.passive.connectErrors) this.set(false, 'connect');
  }

  response(status: number): void {
    this.connectStreak = 0;
    if (status >= 500) {
      this.fiveXXStreak++;
      if (this.healthy && this.fiveXXStreak >= this.settings.passive.consecutive5xx) this.set(false, '5xx');
    } else this.fiveXXStreak = 0;
  }
}

/** Periodic active checks of one endpoint: GET <url><path>, healthy on 2xx/3xx within the timeout. */
export class ActiveChecker {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

  constructor(
    private readonly baseUrl: URL,
    private readonly health: EndpointHealth,
  ) {}

  start(): void {
    this.stop();
    const { intervalMs } = this.health.settings.healthCheck;
    this.timer = setInterval(() => this.check(), intervalMs);
    this.timer.unref();
    this.check();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  close(): void {
    this.stop();
    this.agent.destroy();
  }

  private check(): void {
    if (this.running) return;
    this.running = true;
    const { path, timeoutMs } = this.health.settings.healthCheck;
    const base = this.baseUrl.pathname.replace(/\/$/, '');
    let settled = false;
    const done = (ok: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      this.running = false;
      if (this.timer) this.health.activeResult(ok);
    };
    const req = http.get(
      { host: this.baseUrl.hostname, port: this.baseUrl.port, path: base + path, agent: this.agent, headers: { 'user-agent': 'drover-edge-health' } },
      (res) => {
        res.resume();
        const ok = (res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 400;
        res.on('end', () => done(ok));
        res.on('error', () => done(false));
      },
    );
    const timer = setTimeout(() => {
      req.destroy();
      done(false);
    }, timeoutMs);
    timer.unref();
    req.on('error', () => done(false));
  }
}
