/**
 * User traffic for end-to-end tests and benchmarks: one loop per host name sending GET / through an edge
 * (Host header), paced, counting successes (200 from a Prod) and keeping every failure with its time.
 */
import { Agent, request } from 'node:http';

export interface Outcome {
  ok: boolean;
  prod?: string;
  why?: string;
}

/** One request to `edge` for `host`; ok when a Prod answered 200. */
export function getVia(edge: string, host: string, agent: Agent): Promise<Outcome> {
  const u = new URL(edge);
  return new Promise((resolve) => {
    const req = request({ host: u.hostname, port: u.port, path: '/', agent, timeout: 5000, headers: { host } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        if (res.statusCode !== 200) return resolve({ ok: false, why: `HTTP ${res.statusCode}: ${body.slice(0, 200)}` });
        try {
          resolve({ ok: true, prod: (JSON.parse(body) as { prod: string }).prod });
        } catch {
          resolve({ ok: false, why: `not the app's answer: ${body.slice(0, 200)}` });
        }
      });
      res.on('error', (e) => resolve({ ok: false, why: e.message }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ ok: false, why: e.message }));
    req.end();
  });
}

export class TrafficLoop {
  ok = 0;
  readonly failed: { at: number; host: string; why: string }[] = [];
  private running = true;
  private readonly agent: Agent;
  readonly done: Promise<void>;

  /** `ratePerSec` in all, spread over the hosts (each loop waits its share between requests). */
  constructor(edge: string, hosts: readonly string[], ratePerSec = 100) {
    this.agent = new Agent({ keepAlive: true, maxSockets: hosts.length });
    const gapMs = (1000 * hosts.length) / ratePerSec;
    this.done = Promise.all(
      hosts.map(async (host) => {
        while (this.running) {
          const t = Date.now();
          const r = await getVia(edge, host, this.agent);
          if (r.ok) this.ok++;
          else this.failed.push({ at: Date.now(), host, why: r.why ?? '?' });
          await new Promise((res) => setTimeout(res, Math.max(0, gapMs - (Date.now() - t))));
        }
      }),
    ).then(() => undefined);
  }

  get total(): number {
    return this.ok + this.failed.length;
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
    this.agent.destroy();
  }
}
