/**
 * CloudWatch clients from the SDK's standard configuration (as src/cloud/clients.ts builds the others):
 * credentials from the default chain, the endpoint from AWS_ENDPOINT_URL_CLOUDWATCH or AWS_ENDPOINT_URL so
 * that an emulator can stand in, `maxAttempts: 1` because src/cloud/aws-call.ts retries. Metrics are
 * regional: the region of the load balancer they describe, else AWS_REGION.
 */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';

const clients = new Map<string, CloudWatchClient>();

/** Made on first use per region and kept (a connection pool and cached credentials each). */
export function cloudWatchClient(region: string | undefined): CloudWatchClient {
  const key = region ?? '';
  let c = clients.get(key);
  if (!c) {
    c = new CloudWatchClient({ ...(region ? { region } : {}), maxAttempts: 1 });
    clients.set(key, c);
  }
  return c;
}
