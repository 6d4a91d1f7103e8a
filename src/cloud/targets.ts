/** The CloudTarget for a CloudTraffic's provider, from its compiled desired state (loads the AWS SDK). */
import { cloudOwnerId, type CloudTraffic } from '../api/kinds/cloud-traffic.js';
import type { CallMeter, RetryPolicy } from './aws-call.js';
import type { AwsClients } from './clients.js';
import type { CompiledCloud } from './compile.js';
import { globalAcceleratorTarget } from './global-accelerator/target.js';
import { releaseRoute53HealthChecks, route53Target, type Route53TargetOptions } from './route53/target.js';
import { regionOfArn, targetGroupTarget } from './target-group/target.js';
import type { CloudTarget } from './target.js';

/** Undefined when the spec has no provider (the schema forbids it). */
export function cloudTarget(ct: CloudTraffic, compiled: CompiledCloud, clients: AwsClients, retry?: RetryPolicy): CloudTarget | undefined {
  const owner = cloudOwnerId(ct);
  if (compiled.provider === 'globalAccelerator' && ct.spec.globalAccelerator) {
    return globalAcceleratorTarget(clients.globalAccelerator(), ct.spec.globalAccelerator, owner, compiled.ga, retry);
  }
  if (compiled.provider === 'route53' && ct.spec.route53) {
    return route53Target(clients.route53(), ct.spec.route53, compiled.r53, route53Options(ct, retry));
  }
  if (compiled.provider === 'targetGroup' && ct.spec.targetGroup) {
    const tg = ct.spec.targetGroup;
    return targetGroupTarget(clients.elbv2(regionOfArn(tg.targetGroupArn)), tg, compiled.tg, ct.status?.registered, retry);
  }
  return undefined;
}

function route53Options(ct: CloudTraffic, retry: RetryPolicy | undefined): Route53TargetOptions {
  return {
    // A stored object always has a uid; one that was never stored owns nothing anyone else could.
    owner: { kind: 'CloudTraffic', uid: ct.metadata.uid ?? `unstored-${ct.metadata.name}`, name: ct.metadata.name, ownerId: cloudOwnerId(ct) },
    resourceRef: `cloudtraffic/${ct.metadata.name}`,
    ...(ct.status?.healthChecks ? { recordedChecks: ct.status.healthChecks } : {}),
    ...(retry ? { retry } : {}),
  };
}

/**
 * The finalizer's work for a CloudTraffic being deleted: what Drover created in AWS for it and only for it
 * (Route 53 health checks) is deleted; the steering itself (weights, records) stays as it is. Returns the
 * ids deleted.
 */
export async function releaseCloudResources(ct: CloudTraffic, clients: AwsClients, meter: CallMeter, retry?: RetryPolicy): Promise<string[]> {
  if (!ct.spec.route53) return [];
  return releaseRoute53HealthChecks(meter, clients.route53(), ct.spec.route53, route53Options(ct, retry));
}
