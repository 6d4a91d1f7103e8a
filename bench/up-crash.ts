/**
 * `drover up` SIGKILL → failed user requests until the next `drover up` is serving (issue 12).
 * Run: `npx tsc -p tsconfig.build.json && npx tsx bench/up-crash.ts [runs] [downMs]`.
 *
 * Per run: `drover up` (3 local clusters, 6 Prods of the example app, 6 tenants of redundancy 1 and 2);
 * once every Prod is Ready, GET / through the edge for every tenant at 100 req/s in all (keep-alive); then
 * SIGKILL `up`, keep the traffic going for `downMs` (default 20 s, the control plane is down), start
 * `drover up` again on the same data dir, and keep going 5 s after it printed its summary. Counts failed
 * requests while `up` was dead, until the new one serves, and after; whether the Ready Prods are the same
 * ones; and whether its Ctrl-C left any process. Both runs get the same API and edge ports (picked free
 * once), as a user running `drover up` twice with the defaults would.
 */
import type { Prod } from '../src/api/kinds/prod.js';
import { freePort } from '../src/drivers/local/net.js';
import { isAlive } from '../src/drivers/local/process-table.js';
import { clustersFile, processesIn, tenantHosts, tenantsFile, UpRun } from '../test/helpers/drover-up.js';
import { TrafficLoop } from '../test/helpers/traffic-loop.js';
import { waitFor } from '../test/helpers/wait-for.js';

const tenants = ['tiny-cafe', 'corner-shop', 'bigmart', 'megastore', 'acme', 'zeta'];
const fileText = clustersFile(6, 4) + tenantsFile(tenants, (i) => 10 * (i + 1));

interface Sample {
  requests: number;
  failedWhileDown: number;
  failedUntilServing: number;
  failedAfter: number;
  restartToServingMs: number;
  killToServingMs: number;
  prodsReplaced: number;
  processesLeft: number;
}

async function readyProds(up: UpRun): Promise<string[]> {
  const ps = (await up.store!.list<Prod>('Prod')).items;
  return ps.filter((p) => p.status?.phase === 'Ready').map((p) => p.metadata.name).sort();
}

async function once(downMs: number): Promise<Sample> {
  const ports = { port: await freePort(), edgePort: await freePort() };
  const first = new UpRun(fileText, ports);
  let second: UpRun | undefined;
  try {
    await first.running(120_000);
    const before = await waitFor('6 Prods Ready', async () => {
      const r = await readyProds(first);
      return r.length === 6 && r;
    }, { timeoutMs: 60_000 });
    const edge = /^edge: (http:\/\/127\.0\.0\.1:\d+)$/m.exec(first.output)?.[1];
    if (!edge) throw new Error('no edge URL in the output of drover up');
    const traffic = new TrafficLoop(edge, tenantHosts(tenants), 100);
    await waitFor('traffic flowing', () => traffic.ok >= 50, { timeoutMs: 30_000 });
    const pids = first.processes();
    const killedAt = Date.now();
    first.child.kill('SIGKILL');
    await first.exited;
    await first.store?.close();
    await new Promise((r) => setTimeout(r, downMs));
    const failedWhileDown = traffic.failed.length;
    const restartAt = Date.now();
    second = new UpRun(fileText, { dir: first.dir, ...ports });
    await second.running(120_000);
    const servingAt = Date.now();
    const failedUntilServing = traffic.failed.length;
    await new Promise((r) => setTimeout(r, 5000));
    await traffic.stop();
    const after = await readyProds(second);
    const all = [...new Set([...pids, ...second.processes()])];
    await second.stop();
    await waitFor('processes gone', () => all.every((p) => !isAlive(p)), { timeoutMs: 15_000 }).catch(() => undefined);
    return {
      requests: traffic.total,
      failedWhileDown,
      failedUntilServing,
      failedAfter: traffic.failed.length - failedUntilServing,
      restartToServingMs: servingAt - restartAt,
      killToServingMs: servingAt - killedAt,
      prodsReplaced: before.filter((n) => !after.includes(n)).length,
      processesLeft: all.filter((p) => isAlive(p)).length + processesIn(first.dir).length,
    };
  } finally {
    await second?.stop().catch(() => undefined);
    second?.cleanup();
    await first.stop().catch(() => undefined);
    first.cleanup();
  }
}

const runs = Number(process.argv[2] ?? 1);
const downMs = Number(process.argv[3] ?? 20_000);
for (let i = 0; i < runs; i++) {
  const s = await once(downMs);
  console.log(`run ${i + 1}: ${JSON.stringify(s)}`);
}
