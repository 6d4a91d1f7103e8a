/**
 * drover up timings (run: `npx tsx bench/up.ts [runs]`, after `npx tsc -p tsconfig.build.json`):
 * - up → all Prods Ready: from spawning `drover up` (3 local clusters, 6 Prods of the example app,
 *   warm-up 2 answers) until the store shows every Prod Ready;
 * - cluster kill → NotReady, and → replacement Prods Ready: from SIGKILLing one cluster's agent and
 *   workloads (the library call behind `drover chaos kill-cluster`) until the Cluster is NotReady, and
 *   until six Prods are Ready again, none on the killed cluster.
 * Prints one line per run and the medians as JSON.
 */
import type { Cluster } from '../src/api/kinds/cluster.js';
import type { Prod } from '../src/api/kinds/prod.js';
import { readConfig } from '../src/cli/config.js';
import { RemoteStore } from '../src/client/remote-store.js';
import { killCluster } from '../src/up/chaos.js';
import { clustersFile, UpRun } from '../test/helpers/drover-up.js';
import { waitFor } from '../test/helpers/wait-for.js';

interface Sample {
  upToReadyMs: number;
  killToNotReadyMs: number;
  killToReplacedMs: number;
}

async function once(): Promise<Sample> {
  const t0 = performance.now();
  const up = new UpRun(clustersFile(6));
  try {
    const store = await waitFor('config', () => {
      const cfg = readConfig(up.config);
      return cfg.server ? new RemoteStore({ server: cfg.server, ...(cfg.token ? { token: cfg.token } : {}) }) : undefined;
    }, { timeoutMs: 60_000, intervalMs: 20 });
    up.store = store;
    const ready = async (except?: string) => {
      const ps = (await store.list<Prod>('Prod')).items;
      return ps.length === 6 && ps.every((p) => p.status?.phase === 'Ready' && p.spec.cluster !== except);
    };
    await waitFor('all Ready', () => ready(), { timeoutMs: 60_000, intervalMs: 20 });
    const upToReadyMs = performance.now() - t0;
    await waitFor('summary', () => up.output.includes('drover up is running'), { timeoutMs: 30_000, intervalMs: 20 });

    const victim = 'tokyo';
    const k0 = performance.now();
    await killCluster(store, victim);
    await waitFor('NotReady', async () => (await store.get<Cluster>('Cluster', victim))?.status?.phase === 'NotReady', { timeoutMs: 30_000, intervalMs: 20 });
    const killToNotReadyMs = performance.now() - k0;
    await waitFor('replaced', () => ready(victim), { timeoutMs: 60_000, intervalMs: 20 });
    const killToReplacedMs = performance.now() - k0;
    return { upToReadyMs, killToNotReadyMs, killToReplacedMs };
  } finally {
    await up.stop();
    up.cleanup();
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.floor(s.length / 2)] ?? NaN);
}

const runs = Number(process.argv[2] ?? 3);
const samples: Sample[] = [];
for (let i = 0; i < runs; i++) {
  const s = await once();
  samples.push(s);
  console.log(`run ${i + 1}: up→Ready ${Math.round(s.upToReadyMs)}ms, kill→NotReady ${Math.round(s.killToNotReadyMs)}ms, kill→replaced ${Math.round(s.killToReplacedMs)}ms`);
}
console.log(
  JSON.stringify({
    runs,
    upToReadyMs: median(samples.map((s) => s.upToReadyMs)),
    killToNotReadyMs: median(samples.map((s) => s.killToNotReadyMs)),
    killToReplacedMs: median(samples.map((s) => s.killToReplacedMs)),
  }),
);
