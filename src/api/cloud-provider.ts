/** Which cloud layer a CloudTraffic steers, without its schema (the CLI's table reads it with no zod loaded). */
// Structural types, not kinds/cloud-traffic.ts's: that module re-exports this (no import cycle).
export function cloudProvider(spec: { globalAccelerator?: unknown; route53?: unknown }): 'globalAccelerator' | 'route53' | 'targetGroup' {
  return spec.globalAccelerator ? 'globalAccelerator' : spec.route53 ? 'route53' : 'targetGroup';
}
