/**
 * The edge in this process (from src/, so two checkouts can be compared) in front of one Prod: the
 * conformance suite's upstream as a child process, a plan with that one endpoint, no admin port.
 */
import { Edge } from '../../src/edge/edge.js';
import { StaticPlanSource } from '../../src/edge/plan-source.js';
import { endpoint, plan, spawnUpstream } from '../../test/conformance/edge/harness.js';

export interface OneProdEdge {
  /** The edge's URL. */
  url: string;
  stop(): Promise<void>;
}

export async function startOneProdEdge(): Promise<OneProdEdge> {
  const up = await spawnUpstream('a1');
  const source = new StaticPlanSource([
    plan({
      endpoints: [endpoint('a1', up.url, 'tokyo')],
      groups: [{ domain: 'tokyo', trafficDial: 100, endpoints: [{ prod: 'a1', weight: 1 }] }],
      healthCheck: { path: '/healthz', intervalMs: 1000, timeoutMs: 2000, unhealthyThreshold: 10, healthyThreshold: 1 },
    }),
  ]);
  const edge = new Edge({ source, listen: { host: '127.0.0.1', port: 0 }, adminListen: false });
  const { url } = await edge.start();
  return {
    url,
    async stop() {
      await edge.stop();
      await up.kill('SIGKILL');
    },
  };
}
