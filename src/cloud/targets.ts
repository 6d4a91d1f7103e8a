/** The CloudTarget for a CloudTraffic's provider, from its compiled desired state (loads the AWS SDK). */
import { cloudOwnerId, type CloudTraffic } from '../api/kinds/cloud-traffic.js';
import type { RetryPolicy } from './aws-call.js';
import type { AwsClients } from './clients.js';
import type { CompiledCloud } from './compile.js';
import { globalAcceleratorTarget } from './global-accelerator/target.js';
import { route53Target } from './route53/target.js';
import { regionOfArn, targetGroupTarget } from './target-group/target.js';
import type { CloudTarget } from './target.js';

/** Undefined when the spec has no provider (the schema forbids it). */
export function cloudTarget(ct: CloudTraffic, compiled: CompiledCloud, clients: AwsClients, retry?: RetryPolicy): CloudTarget | undefined {
  const owner = cloudOwnerId(ct);
  if (compiled.provider === 'globalAccelerator' && ct.spec.globalAccelerator) {
    return globalAcceleratorTarget(clients.globalAccelerator(), ct.spec.globalAccelerator, owner, compiled.ga, retry);
  }
  if (compiled.provider === 'route53' && ct.spec.route53) {
    return route53Target(clients.route53(), ct.spec.route53, owner, `cloudtraffic/${ct.metadata.name}`, compiled.r53, retry);
  }
  if (compiled.provider === 'targetGroup' && ct.spec.targetGroup) {
    const tg = ct.spec.targetGroup;
    return targetGroupTarget(clients.elbv2(regionOfArn(tg.targetGroupArn)), tg, compiled.tg, ct.status?.registered, retry);
  }
  return undefined;
}
