/** Minimal valid Fleet and Prod documents for driver and agent tests. */
import { fileURLToPath } from 'node:url';
import { Fleet } from '../../src/api/kinds/fleet.js';
import { Prod } from '../../src/api/kinds/prod.js';

export const exampleAppPath = fileURLToPath(new URL('../../examples/app/server.mjs', import.meta.url));

export function fleetDoc(name: string, app: { command: string; args?: string[]; env?: Record<string, string> }, extra: Record<string, unknown> = {}): Fleet {
  return Fleet.parse({
    apiVersion: 'drover.dev/v1alpha1',
    kind: 'Fleet',
    metadata: { name },
    spec: { prods: 1, version: 'v1', app: { healthPath: '/healthz', ...app }, warmup: { requests: 2 }, ...extra },
  });
}

export function prodDoc(name: string, fleet: string, cluster: string, extra: Record<string, unknown> = {}): Prod {
  return Prod.parse({
    apiVersion: 'drover.dev/v1alpha1',
    kind: 'Prod',
    metadata: { name },
    spec: { fleet, cluster, version: 'v1', ...extra },
  });
}
