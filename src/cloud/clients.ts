/**
 * The AWS SDK v3 clients CloudTraffic uses, built from the SDK's standard configuration: credentials from
 * the default chain (environment, shared config/credentials files and AWS_PROFILE, SSO, IRSA web identity,
 * container and instance metadata), endpoints from AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_<SERVICE> (e.g.
 * AWS_ENDPOINT_URL_GLOBAL_ACCELERATOR, AWS_ENDPOINT_URL_ROUTE_53) so that an emulator can stand in.
 *
 * Regions: Global Accelerator's API lives only in us-west-2 and Route 53's is global (us-east-1), whatever
 * AWS_REGION says; ELBv2 is regional (AWS_REGION, or the region in the target group's ARN).
 * `maxAttempts: 1`: retries are src/cloud/aws-call.ts's (see there why).
 */
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { GlobalAcceleratorClient } from '@aws-sdk/client-global-accelerator';
import { Route53Client } from '@aws-sdk/client-route-53';

export interface AwsClients {
  globalAccelerator(): GlobalAcceleratorClient;
  route53(): Route53Client;
  elbv2(region: string | undefined): ElasticLoadBalancingV2Client;
}

/** Clients made on first use and kept (each holds a connection pool and cached credentials). */
export function defaultAwsClients(): AwsClients {
  let ga: GlobalAcceleratorClient | undefined;
  let r53: Route53Client | undefined;
  const elb = new Map<string, ElasticLoadBalancingV2Client>();
  return {
    globalAccelerator: () => (ga ??= new GlobalAcceleratorClient({ region: 'us-west-2', maxAttempts: 1 })),
    route53: () => (r53 ??= new Route53Client({ region: 'us-east-1', maxAttempts: 1 })),
    elbv2: (region) => {
      const key = region ?? '';
      let c = elb.get(key);
      if (!c) {
        c = new ElasticLoadBalancingV2Client({ ...(region ? { region } : {}), maxAttempts: 1 });
        elb.set(key, c);
      }
      return c;
    },
  };
}
