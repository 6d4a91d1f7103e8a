/**
 * HAProxy as a conformance data plane: the plan is rendered to haproxy.cfg (`renderHaproxyConfig`) and run
 * by a real `haproxy` (`HaproxyProcess`, master-worker); updates are hitless reloads. Its health view is
 * HAProxy's own: server up/down lines from its log as they happen, and `show stat` polled for the state a
 * reload restored.
 */
import type { TrafficPlanSpec } from '../../../src/api/kinds/traffic-plan.js';
import { findHaproxy, HAPROXY_LIMITS, HaproxyProcess, renderHaproxyConfig } from '../../../src/dataplanes/haproxy/index.js';
import type { DataPlane, DataPlaneEntry } from './harness.js';
import { freePort } from '../../../src/drivers/local/net.js';

export class HaproxyDataPlane implements DataPlane {
  readonly name = 'haproxy';
  proc: HaproxyProcess | undefined;
  private port = 0;
  private fleet = '';
  private readonly state = new Map<string, boolean>();
  private readonly changedAt = new Map<string, number>();
  private poller: NodeJS.Timeout | undefined;

  async start(plan: TrafficPlanSpec): Promise<string> {
    const proc = new HaproxyProcess();
    this.proc = proc;
    this.port = await freePort();
    this.fleet = plan.fleet;
    proc.onServerEvent((e) => {
      if (e.backend !== `fleet_${this.fleet}`) return;
      if (this.state.get(e.server) !== e.up) this.changedAt.set(e.server, e.at);
      this.state.set(e.server, e.up);
    });
    await proc.start(this.render(plan));
    await this.refresh();
    this.poller = setInterval(() => void this.refresh().catch(() => {}), 100);
    this.poller.unref();
    return `http://127.0.0.1:${this.port}`;
  }

  async update(plan: TrafficPlanSpec): Promise<void> {
    this.fleet = plan.fleet;
    await this.proc!.reload(this.render(plan));
    await this.refresh();
  }

  healthy(prod: string): boolean | undefined {
    return this.state.get(prod);
  }

  healthChangedAt(prod: string): number | undefined {
    return this.changedAt.get(prod);
  }

  async stop(): Promise<void> {
    clearInterval(this.poller);
    await this.proc?.stop();
  }

  private render(plan: TrafficPlanSpec): string {
    return renderHaproxyConfig(plan, { listen: { host: '127.0.0.1', port: this.port }, stateFile: this.proc!.stateFile });
  }

  private async refresh(): Promise<void> {
    for (const s of await this.proc!.serverStates()) if (s.backend === `fleet_${this.fleet}`) this.state.set(s.server, s.up);
  }
}

export function haproxyPlaneEntry(): DataPlaneEntry {
  return {
    name: 'haproxy',
    make: () => new HaproxyDataPlane(),
    unavailable:
      findHaproxy() === undefined
        ? 'the haproxy binary is missing: install it with `apt-get install haproxy` (Debian/Ubuntu); `npm test` (scripts/test.mjs) installs it when run as root, as in CI'
        : undefined,
    cannot: { 'update-on-open-connections': HAPROXY_LIMITS['update-on-open-connections'], 'connection-named-headers': HAPROXY_LIMITS['connection-named-headers'] },
  };
}

