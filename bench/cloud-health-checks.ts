/**
 * AWS calls per sync of a Route 53 CloudTraffic whose health checks Drover owns (issue 16: "1 per changed
 * group, 0 when idle"), for N clusters: the first sync, an idle sync, a cluster lost (weights only), a
 * setting changed in place, the interval changed (every check replaced), and the finalizer. The controller
 * runs in-process against the mocked Route 53 of the unit tests (FakeZone: aws-sdk-client-mock behind the
 * API reference's behaviour), so the counts are the controller's, not the network's.
 * Run: `npx tsx bench/cloud-health-checks.ts [clusters…]` (default 4 40).
 */
import type { CloudTraffic, Cluster } from '../src/api/index.js';
import { mutate } from '../src/store/mutate.js';
import { cluster, policy, prod, r53CloudTraffic } from '../test/unit/cloud/cloud-fixtures.js';
import { cloudHarness } from '../test/unit/cloud/cloud-harness.js';
import { clientsOf, FakeZone } from '../test/unit/cloud/fake-aws.js';

const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);

async function run(n: number): Promise<void> {
  const clusters: Cluster[] = [];
  for (let i = 0; i < n; i++) clusters.push(cluster(`c${i}`, i % 2 === 0 ? 'ap-northeast-1' : 'ap-northeast-3', i % 2 === 0 ? 'tokyo' : 'osaka'));
  const zone = new FakeZone();
  const h = await cloudHarness(r53CloudTraffic({ healthCheck: { type: 'HTTPS', path: '/healthz' } }), {
    clients: clientsOf(undefined, zone),
    clusters,
    prods: clusters.map((c, i) => prod(`p${i}`, c.metadata.name)),
    pol: policy([{ domain: 'tokyo', trafficDial: 100 }, { domain: 'osaka', trafficDial: 100 }]),
  });
  const rows: [string, string][] = [];
  const step = async (what: string, act: () => Promise<unknown>): Promise<void> => {
    zone.mock.resetHistory();
    await act();
    const byOp = new Map<string, number>();
    for (const c of zone.mock.calls()) {
      const op = (c.args[0] as { constructor: { name: string } }).constructor.name.replace(/Command$/, '');
      byOp.set(op, (byOp.get(op) ?? 0) + 1);
    }
    rows.push([what, [...byOp].map(([op, k]) => `${op} ${k}`).join(', ') || 'none']);
  };
  const spec = async (change: (o: CloudTraffic) => void) => mutate<CloudTraffic>(h.store, 'CloudTraffic', 'web-dns', change);
  await step('first sync', () => h.sync());
  await step('idle sync', () => h.sync());
  await step('heartbeat (no change, within the period)', () => h.pass());
  await step('one cluster NotReady', async () => {
    await h.setPhase('c0', 'NotReady');
    await h.pass();
  });
  await step('path changed (in place)', async () => {
    await spec((o) => (o.spec.route53!.healthCheck = { ...o.spec.route53!.healthCheck!, path: '/ready' }));
    await h.pass();
  });
  await step('interval 30 → 10 s (replaced)', async () => {
    await spec((o) => (o.spec.route53!.healthCheck = { ...o.spec.route53!.healthCheck!, intervalSeconds: 10 }));
    await h.pass();
  });
  await step('CloudTraffic deleted (finalizer)', async () => {
    await h.store.delete('CloudTraffic', 'web-dns');
    await h.pass();
  });
  console.log(`\n${n} clusters (${n} health checks):`);
  console.log('| step | Route 53 calls |\n|---|---|');
  for (const [what, calls] of rows) console.log(`| ${what} | ${calls} |`);
  if (zone.healthChecks.size !== 0) throw new Error(`${zone.healthChecks.size} health checks left after the finalizer`);
}

for (const n of sizes.length > 0 ? sizes : [4, 40]) await run(n);
