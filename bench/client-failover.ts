/**
 * What a replica's death costs a client of several replicas (issue 18, client side): an API server over
 * a memory store with three replica proxies in front (test/helpers/replica-proxy.ts); per round, the
 * replica in use is killed and we time (1) the next GET, against a GET with every replica up, and (2) the
 * delay of a watch event for a write made right after the kill, against one with no kill.
 *
 *   npx tsx bench/client-failover.ts [--rounds 30]
 */
import { RemoteStore } from '../src/client/remote-store.js';
import { startApiServer } from '../src/server/api-server.js';
import { MemoryStore } from '../src/store/memory/memory-store.js';
import type { WatchEvent } from '../src/store/store.js';
import { tenant } from '../test/helpers/fixtures.js';
import { startReplicaProxy } from '../test/helpers/replica-proxy.js';

const rounds = Number(process.argv[process.argv.indexOf('--rounds') + 1] || 30);
const TOKEN = 'bench-client-failover-token';
const mem = new MemoryStore({ historySize: 100_000 });
const api = await startApiServer({ store: mem, listen: '127.0.0.1:0', tokens: [{ token: TOKEN, role: 'admin' }], processMetrics: false, log: () => {} });
const direct = new RemoteStore({ server: api.url, token: TOKEN });
await direct.create(tenant('probe'));

const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
const res = { getUp: [] as number[], getKilled: [] as number[], watchUp: [] as number[], watchKilled: [] as number[] };

for (let i = 0; i < rounds; i++) {
  const proxies = await Promise.all([0, 1, 2].map(() => startReplicaProxy(api.url)));
  const c = new RemoteStore({ server: proxies.map((p) => p.url), token: TOKEN });
  await c.get('Tenant', 'probe');
  let t0 = process.hrtime.bigint();
  await c.get('Tenant', 'probe');
  res.getUp.push(ms(t0));

  const ac = new AbortController();
  const waiters = new Map<string, (ev: WatchEvent) => void>();
  const from = await direct.revision();
  const watching = (async () => {
    for await (const ev of c.watch({ kind: 'Tenant', resourceVersion: from, signal: ac.signal })) waiters.get(ev.object.metadata.name)?.(ev);
  })();
  const timedWrite = async (name: string, before?: () => Promise<void>): Promise<number> => {
    const seen = new Promise<void>((r) => waiters.set(name, () => r()));
    const start = process.hrtime.bigint();
    await before?.();
    await direct.create(tenant(name));
    await seen;
    return ms(start);
  };
  res.watchUp.push(await timedWrite(`up-${i}`));
  res.watchKilled.push(await timedWrite(`killed-${i}`, () => proxies[0]!.kill()));
  // The watch moved to the second replica; the requests' next call finds the first gone too.
  t0 = process.hrtime.bigint();
  await c.get('Tenant', 'probe');
  res.getKilled.push(ms(t0));
  ac.abort();
  await watching;
  await c.close();
  for (const p of proxies) await p.kill();
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
const row = (name: string, xs: number[]) => `| ${name} | ${pct(xs, 50).toFixed(1)} | ${pct(xs, 90).toFixed(1)} | ${Math.max(...xs).toFixed(1)} |`;
console.log(`rounds: ${rounds}\n\n| what | p50 ms | p90 ms | max ms |\n|---|--:|--:|--:|`);
console.log(row('GET, every replica up', res.getUp));
console.log(row('GET after the replica in use was killed', res.getKilled));
console.log(row('write → watch event, every replica up', res.watchUp));
console.log(row('kill replica + write → watch event (resumed on the next)', res.watchKilled));
await direct.close();
await api.close({ graceMs: 100 });
await mem.close();
