/** Which cloud layer a CloudTraffic steers, without its schema (the CLI's table reads it with no zod loaded). */
import type { CloudProvider, CloudTrafficSpec } from './kinds/cloud-traffic.js';

export function cloudProvider(spec: Pick<CloudTrafficSpec, 'globalAccelerator' | 'route53'>): CloudProvider {
  return spec.globalAccelerator ? 'globalAccelerator' : spec.route53 ? 'route53' : 'targetGroup';
}
