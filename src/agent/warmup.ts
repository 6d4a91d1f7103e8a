/**
 * Warm-up before a Prod serves: N consecutive successful answers of the warm-up path (the fleet's
 * `warmup.path`, else its health path). Progress is per workload instance — endpoint and restart count —
 * so a restarted workload warms up again, and a Prod already Ready on the same instance (the agent itself
 * restarted) is not sent back to WarmingUp.
 */
import type { Fleet } from '../api/kinds/fleet.js';
import type { Prod } from '../api/kinds/prod.js';
import { prodApp } from '../api/template.js';
import type { WorkloadObservation } from '../drivers/driver.js';
import { probe } from '../drivers/local/net.js';
import type { WarmupProgress } from './prod-status.js';

interface Run {
  instance: string;
  progress: WarmupProgress;
  abort: AbortController;
}

export class Warmups {
  private readonly runs = new Map<string, Run>();

  constructor(
    private readonly opts: { intervalMs: number; timeoutMs: number; onProgress: () => void },
  ) {}

  progress(prod: Prod, obs: WorkloadObservation, fleet: Fleet): WarmupProgress {
    const name = prod.metadata.name;
    const target = fleet.spec.warmup.requests;
    if (obs.state !== 'Running' || !obs.endpoint) {
      this.forget(name);
      return { passed: 0, target, done: false };
    }
    const instance = `${obs.endpoint}#${obs.restarts}`;
    const cur = this.runs.get(name);
    if (cur && cur.instance === instance) return cur.progress;
    this.forget(name);
    const s = prod.status;
    const alreadyReady = s?.phase === 'Ready' && s.endpoint === obs.endpoint && s.restarts === obs.restarts;
    const run: Run = { instance, progress: { passed: alreadyReady ? target : 0, target, done: alreadyReady }, abort: new AbortController() };
    this.runs.set(name, run);
    if (!alreadyReady) void this.warm(run, `${obs.endpoint}${fleet.spec.warmup.path ?? prodApp(prod, fleet).healthPath}`);
    return run.progress;
  }

  forget(name: string): void {
    this.runs.get(name)?.abort.abort();
    this.runs.delete(name);
  }

  close(): void {
    for (const name of [...this.runs.keys()]) this.forget(name);
  }

  private async warm(run: Run, url: string): Promise<void> {
    const p = run.progress;
    while (!run.abort.signal.aborted && p.passed < p.target) {
      const r = await probe(url, this.opts.timeoutMs);
      if (run.abort.signal.aborted) return;
      p.passed = r.ok ? p.passed + 1 : 0;
      this.opts.onProgress();
      if (p.passed < p.target) await new Promise((res) => setTimeout(res, this.opts.intervalMs));
    }
    if (!run.abort.signal.aborted) {
      p.done = true;
      this.opts.onProgress();
    }
  }
}
