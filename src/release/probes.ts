/**
 * Synthetic probes for release gates: while a wave bakes, requests at a steady rate to each of the wave's
 * new Prods, so that the gates can decide when users are too few (no traffic at all, or one client whose
 * address affinity keeps it on one Prod of each redundant tenant).
 *
 * Where they go, and why there: straight to the Prod's endpoint (`status.endpoint`, the address the edge
 * forwards to) with the Host header (or tenant header) of one of the Prod's tenants, so that the app sees
 * the request a user of that tenant would send, and nothing in the edge changes. They are counted here,
 * apart from users: the edge's `/stats` and metrics stay the users' own.
 *
 * What counts as an error: a 5xx answer, or a request that got no answer from a Prod that answered other
 * probes in the window. A Prod that never answered a probe is "unreachable" (the control plane may simply
 * have no route to it, e.g. a cluster-internal address), which the gates treat as no data, not as a bad
 * version.
 *
 * Level-based like the controller that drives it: `sync(key, want)` makes the probes of one key (a
 * Release) match `want`; a key nobody syncs for `leaseMs` stops by itself, so probes never outlive the
 * controller that wanted them (restart, lost leadership). Timers are unref'd.
 */
import { Agent, request } from 'undici';
import type { ProdWindowStats } from '../traffic/stats.js';
import type { ProdStatsMap } from './gates/edge-stats.js';

export interface ProbeTarget {
  prod: string;
  /** Base URL of the Prod (its `status.endpoint`). */
  url: string;
  /** Headers a user of one of its tenants would send (host, or the tenant header). */
  headers: Record<string, string>;
}

export interface ProbeRequest {
  targets: readonly ProbeTarget[];
  /** Requests per second per target. */
  ratePerProd: number;
  path: string;
  timeoutMs: number;
  /** Sent as `x-drover-probe`, so that a Prod's logs can tell probes from users. */
  label: string;
}

export interface ProbeResults {
  /** Per reachable Prod over the window (same shape as the edge's stats). */
  stats: ProdStatsMap;
  /** Prods that did not answer any probe in the window. */
  unreachable: string[];
}

export interface ProbeRunner {
  /** Makes the probes of `key` match `want` (undefined: none). Probes that change targets start over. */
  sync(key: string, want: ProbeRequest | undefined): void;
  /** How long the probes of `key` have run as they are now, or undefined when none run. */
  coverageMs(key: string): number | undefined;
  /** The fewest probes any reachable target has had since the probes of `key` started (undefined: none reachable). */
  fewestRequests(key: string): number | undefined;
  /** Counts over the last `windowMs`, or since the probes of `key` started when omitted. */
  results(key: string, windowMs?: number): ProbeResults;
  close(): Promise<void>;
}

type Outcome = 'ok' | 'error' | 'failed';
interface Sample {
  at: number;
  ms: number;
  outcome: Outcome;
}

interface Run {
  signature: string;
  startedAt: number;
  renewedAt: number;
  samples: Map<string, Sample[]>;
  timers: NodeJS.Timeout[];
  inFlight: Map<string, number>;
}

const MAX_SAMPLES = 20_000;
const MAX_IN_FLIGHT = 4;

export function createProbeRunner(opts: { now?: () => number; leaseMs?: number } = {}): ProbeRunner {
  const now = opts.now ?? Date.now;
  const leaseMs = opts.leaseMs ?? 20_000;
  const runs = new Map<string, Run>();
  const agent = new Agent({ keepAliveTimeout: 5_000, connections: MAX_IN_FLIGHT });
  const reaper = setInterval(() => {
    for (const [key, run] of runs) if (now() - run.renewedAt > leaseMs) stop(key, run);
  }, Math.min(leaseMs, 5_000));
  reaper.unref();

  function stop(key: string, run: Run): void {
    for (const t of run.timers) clearInterval(t);
    runs.delete(key);
  }

  function record(run: Run, prod: string, s: Sample): void {
    const list = run.samples.get(prod) ?? [];
    list.push(s);
    if (list.length > MAX_SAMPLES) list.splice(0, list.length - MAX_SAMPLES);
    run.samples.set(prod, list);
  }

  async function probeOnce(run: Run, t: ProbeTarget, want: ProbeRequest): Promise<void> {
    const busy = run.inFlight.get(t.prod) ?? 0;
    if (busy >= MAX_IN_FLIGHT) return;
    run.inFlight.set(t.prod, busy + 1);
    const started = performance.now();
    let outcome: Outcome;
    try {
      const res = await request(new URL(want.path, t.url).toString(), {
        method: 'GET',
        dispatcher: agent,
        headers: { ...t.headers, 'user-agent': 'drover-release-probe', 'x-drover-probe': want.label },
        headersTimeout: want.timeoutMs,
        bodyTimeout: want.timeoutMs,
      });
      await res.body.dump();
      outcome = res.statusCode >= 500 ? 'error' : 'ok';
    } catch {
      outcome = 'failed';
    } finally {
      run.inFlight.set(t.prod, (run.inFlight.get(t.prod) ?? 1) - 1);
    }
    if (runs.get(keyOf(run)) === run) record(run, t.prod, { at: now(), ms: performance.now() - started, outcome });
  }

  const keys = new WeakMap<Run, string>();
  const keyOf = (run: Run) => keys.get(run) ?? '';

  return {
    sync(key, want) {
      const cur = runs.get(key);
      if (!want || want.targets.length === 0) {
        if (cur) stop(key, cur);
        return;
      }
      const signature = JSON.stringify([want.targets, want.ratePerProd, want.path, want.timeoutMs, want.label]);
      if (cur && cur.signature === signature) {
        cur.renewedAt = now();
        return;
      }
      if (cur) stop(key, cur);
      const run: Run = { signature, startedAt: now(), renewedAt: now(), samples: new Map(), timers: [], inFlight: new Map() };
      keys.set(run, key);
      runs.set(key, run);
      const everyMs = Math.max(10, Math.round(1000 / want.ratePerProd));
      for (const t of want.targets) {
        const timer = setInterval(() => void probeOnce(run, t, want), everyMs);
        timer.unref();
        run.timers.push(timer);
      }
    },
    coverageMs(key) {
      const run = runs.get(key);
      return run ? now() - run.startedAt : undefined;
    },
    fewestRequests(key) {
      const counts = [...(runs.get(key)?.samples.values() ?? [])].filter((all) => all.some((s) => s.outcome !== 'failed')).map((all) => all.length);
      return counts.length === 0 ? undefined : Math.min(...counts);
    },
    results(key, windowMs) {
      const run = runs.get(key);
      const stats: ProdStatsMap = new Map();
      const unreachable: string[] = [];
      if (!run) return { stats, unreachable };
      const since = windowMs === undefined ? -Infinity : now() - windowMs;
      for (const [prod, all] of run.samples) {
        const window = all.filter((s) => s.at >= since);
        if (!window.some((s) => s.outcome !== 'failed')) {
          unreachable.push(prod);
          continue;
        }
        stats.set(prod, summarize(prod, window));
      }
      return { stats, unreachable: unreachable.sort() };
    },
    async close() {
      clearInterval(reaper);
      for (const [key, run] of runs) stop(key, run);
      await agent.close();
    },
  };
}

function summarize(prod: string, samples: readonly Sample[]): ProdWindowStats {
  const ms = samples.map((s) => s.ms).sort((a, b) => a - b);
  const q = (p: number) => ms[Math.min(ms.length - 1, Math.max(0, Math.ceil(p * ms.length) - 1))] ?? 0;
  return { prod, requests: samples.length, errors: samples.filter((s) => s.outcome !== 'ok').length, latencyMs: { p50: q(0.5), p90: q(0.9), p99: q(0.99) } };
}

/** Default probe rate: twice the largest `minRequests` of the stats gates within one bake, 1–20 per second. */
export function defaultProbeRate(bakeMs: number, minRequests: readonly number[]): number {
  const need = 2 * Math.max(20, ...minRequests);
  return Math.min(20, Math.max(1, Math.ceil(need / Math.max(1, bakeMs / 1000))));
}
