/**
 * CloudTraffic: steer a cloud traffic layer (AWS Global Accelerator, Route 53, an ELBv2 target group)
 * from the same traffic plan that steers Drover's edge, so that one decision reaches every layer.
 * The controller (src/controllers/cloud-traffic-controller.ts) compiles the fleet's plan into the desired
 * cloud state (src/cloud/), reads what the cloud holds, and writes only the difference, only to what
 * Drover owns.
 */
import { z } from 'zod';
import { baseStatus, dnsName, Duration } from '../meta.js';
import { resourceSchema } from '../resource.js';

// Zod-free, so that `drover get cloudtraffics` loads no schemas; re-exported for the readers that import it here.
export { cloudProvider } from '../cloud-provider.js';

/** Passed through to UpdateEndpointGroup when set; unset fields are left as the endpoint group has them. */
export const GaHealthCheck = z
  .object({
    port: z.number().int().min(1).max(65535).optional(),
    protocol: z.enum(['TCP', 'HTTP', 'HTTPS']).optional(),
    path: z.string().startsWith('/').optional(),
    /** GA accepts 10 or 30 seconds. */
    intervalSeconds: z.union([z.literal(10), z.literal(30)]).optional(),
    thresholdCount: z.number().int().min(1).max(10).optional(),
  })
  .strict();
export type GaHealthCheck = z.infer<typeof GaHealthCheck>;

export const GaEndpointGroupSpec = z
  .object({
    /** The AWS region of the endpoint group (GA allows one group per region per listener). */
    region: z.string().min(1),
    /** Drover clusters behind this group; default: the clusters whose `spec.region` is this region. */
    clusters: z.array(dnsName).optional(),
    /** Or every cluster of these failure domains. */
    domains: z.array(z.string().min(1)).optional(),
    healthCheck: GaHealthCheck.optional(),
  })
  .strict();
export type GaEndpointGroupSpec = z.infer<typeof GaEndpointGroupSpec>;

export const GlobalAcceleratorSpec = z
  .object({
    listenerArn: z.string().regex(/^arn:aws[a-z-]*:globalaccelerator::\d{12}:accelerator\/[^/]+\/listener\/[^/]+$/, 'must be a Global Accelerator listener ARN (arn:aws:globalaccelerator::ACCOUNT:accelerator/ID/listener/ID)'),
    endpointGroups: z.array(GaEndpointGroupSpec).min(1),
    clientIPPreservation: z.boolean().optional(),
    /**
     * Claim the listed endpoint groups by tagging their accelerator (GA tags accelerators only). Without
     * it Drover manages only groups whose ownership tag already names this CloudTraffic's owner id.
     */
    adopt: z.boolean().default(false),
  })
  .strict();
export type GlobalAcceleratorSpec = z.infer<typeof GlobalAcceleratorSpec>;

/** Route 53's health checker regions (at least 3 when set). */
export const Route53CheckerRegion = z.enum(['us-east-1', 'us-west-1', 'us-west-2', 'eu-west-1', 'ap-southeast-1', 'ap-southeast-2', 'ap-northeast-1', 'sa-east-1']);

/**
 * A Route 53 health check Drover creates and owns per cluster record (src/cloud/route53/health-checks.ts),
 * aimed at the cluster's `spec.loadBalancer.address` (IP), else its `dnsName`. Type and interval cannot be
 * changed on a check: changing them replaces it (new check, records repointed, old one deleted); the other
 * settings are updated in place.
 */
export const Route53HealthCheck = z
  .object({
    type: z.enum(['HTTP', 'HTTPS', 'TCP']).default('HTTP'),
    /** HTTP/HTTPS: the path requested (2xx/3xx is healthy). Default `/`. */
    path: z.string().startsWith('/').max(255).optional(),
    /** Default 80 (HTTP), 443 (HTTPS); required for TCP. */
    port: z.number().int().min(1).max(65535).optional(),
    /** Route 53 accepts 10 or 30 seconds. */
    intervalSeconds: z.union([z.literal(10), z.literal(30)]).default(30),
    failureThreshold: z.number().int().min(1).max(10).default(3),
    regions: z.array(Route53CheckerRegion).min(3, 'Route 53 needs at least 3 checker regions').optional(),
  })
  .strict()
  .refine((h) => h.type !== 'TCP' || h.port !== undefined, { message: 'a TCP health check needs `port`', path: ['port'] })
  .refine((h) => h.type !== 'TCP' || h.path === undefined, { message: 'a TCP health check has no `path`; remove it or use type HTTP/HTTPS', path: ['path'] });
export type Route53HealthCheck = z.infer<typeof Route53HealthCheck>;

export const Route53Spec = z
  .object({
    hostedZoneId: z.string().min(1),
    recordName: z.string().min(1),
    routing: z.enum(['weighted', 'failover']).default('weighted'),
    /** A (alias to the load balancer, or its `address`), AAAA, or CNAME (to its `dnsName`). */
    type: z.enum(['A', 'AAAA', 'CNAME']).default('A'),
    ttl: z.number().int().min(0).max(2147483647).default(60),
    evaluateTargetHealth: z.boolean().default(true),
    /** Existing Route 53 health check ids per cluster (bring your own), attached to that cluster's record; never modified. */
    healthCheckIds: z.record(z.string()).default({}),
    /** Health checks Drover creates, owns and deletes, one per cluster record not in `healthCheckIds`. */
    healthCheck: Route53HealthCheck.optional(),
  })
  .strict();
export type Route53Spec = z.infer<typeof Route53Spec>;

/**
 * An ELBv2 target group (target type `ip`, or `instance` with node ports) shared by several clusters: Drover
 * registers the serving Prods' endpoints of every Ready, uncordoned, undrained cluster of the fleet, and deregisters only targets it
 * registered itself (`status.registered`); targets registered by anyone else are never deregistered, only
 * listed in `status.notOwned`. One DescribeTargetHealth per sync; one RegisterTargets and one
 * DeregisterTargets per change (≤ 500 targets a call). Compiler: src/cloud/target-group/.
 */
export const TargetGroupSpec = z
  .object({
    targetGroupArn: z.string().regex(/^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:targetgroup\//, 'must be an ELBv2 target group ARN (arn:aws:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME/ID)'),
    /** Port registered for each target; default: the port of each Prod's endpoint. */
    port: z.number().int().min(1).max(65535).optional(),
    /** Passed with each registration: `all` for IPs outside the target group's VPC (peered, on premises). */
    availabilityZone: z.string().min(1).optional(),
    /**
     * The target group's target type. `instance`: the Prods are reached through a port on the cluster's
     * nodes (Kubernetes Services of type NodePort: a Prod's endpoint port is its node port; local clusters:
     * its host port); each serving Prod is registered on every instance of its cluster in `instanceIds`.
     */
    targetType: z.enum(['ip', 'instance']).default('ip'),
    /** instance: EC2 instance ids of each cluster's nodes, by cluster name (nothing reports them to Drover). */
    instanceIds: z.record(z.array(z.string().regex(/^i-[0-9a-f]{8,17}$/, 'an EC2 instance id (i-0123456789abcdef0)')).min(1)).default({}),
  })
  .strict()
  .refine((t) => t.targetType === 'instance' || Object.keys(t.instanceIds).length === 0, { message: '`instanceIds` needs `targetType: instance`', path: ['instanceIds'] })
  .refine((t) => t.targetType === 'ip' || t.availabilityZone === undefined, { message: '`availabilityZone` applies to ip targets only; remove it for `targetType: instance`', path: ['availabilityZone'] });
export type TargetGroupSpec = z.infer<typeof TargetGroupSpec>;

export const CloudTrafficMode = z.enum(['apply', 'dryRun']);

export const CloudTrafficSpec = z
  .object({
    fleet: dnsName,
    /** dryRun: compute and show the change (status, Events, `drover cloud diff`), write nothing to AWS. */
    mode: CloudTrafficMode.default('dryRun'),
    /** Full sync (read AWS, diff, write) at least this often; plan changes sync at once. */
    syncPeriod: Duration.default('60s'),
    /** Who Drover is in ownership tags and TXT records (two control planes on one zone need two ids). */
    ownerId: z.string().min(1).max(100).regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, ".", "_" and "-"').optional(),
    globalAccelerator: GlobalAcceleratorSpec.optional(),
    route53: Route53Spec.optional(),
    targetGroup: TargetGroupSpec.optional(),
  })
  .strict()
  .refine((s) => [s.globalAccelerator, s.route53, s.targetGroup].filter((x) => x !== undefined).length === 1, {
    message: 'set exactly one of `globalAccelerator`, `route53` or `targetGroup`',
  });
export type CloudTrafficSpec = z.infer<typeof CloudTrafficSpec>;

export const CloudProvider = z.enum(['globalAccelerator', 'route53', 'targetGroup']);
export type CloudProvider = z.infer<typeof CloudProvider>;

/** One cloud resource as flat fields (`weight[arn…]`, `trafficDial`, …): what status, diffs and the CLI show. */
const Scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);
export const CloudResourceState = z.record(Scalar);
/** Resource id (e.g. `endpointGroup/eu-west-1`, `record/www.example.com./drover-tokyo`) → its fields. */
export const CloudState = z.record(CloudResourceState);
export type CloudState = z.infer<typeof CloudState>;

export const CloudChange = z
  .object({
    action: z.enum(['create', 'update', 'delete']),
    resource: z.string(),
    fields: z.array(z.object({ name: z.string(), from: Scalar.optional(), to: Scalar.optional() }).strict()),
  })
  .strict();
export type CloudChange = z.infer<typeof CloudChange>;

export const CloudTrafficStatus = z
  .object({
    ...baseStatus,
    provider: CloudProvider.optional(),
    /** The desired state Drover last wrote (apply), or would have written (dryRun). */
    lastApplied: CloudState.optional(),
    lastAppliedTime: z.string().optional(),
    /**
     * dryRun: the state AWS would hold had every planned change been applied — the baseline of the next
     * change when AWS cannot be read (no credentials), so the change a plan makes is still shown.
     */
    simulated: CloudState.optional(),
    /** What AWS held at the last sync; absent with `observedSource: unknown` when it could not be read. */
    observed: CloudState.optional(),
    observedSource: z.enum(['aws', 'unknown']).optional(),
    /** Fields changed in AWS by someone else since Drover wrote them (reverted in apply mode). */
    drift: z.array(CloudChange).default([]),
    /** The change of the last sync that changed something (applied, or only planned in dryRun). */
    planned: z.array(CloudChange).default([]),
    plannedTime: z.string().optional(),
    /**
     * targetGroup: the targets (`ip:port`) Drover registered and the target group still holds; the only
     * ones it ever deregisters.
     */
    registered: z.array(z.string()).optional(),
    /**
     * route53: the health checks Drover created and owns, cluster → id (deleted by the finalizer
     * FINALIZER_HEALTH_CHECKS with the CloudTraffic).
     */
    healthChecks: z.record(z.string()).optional(),
    /** Resources Drover refused to touch because it does not own them: `<resource>: <reason>` (targetGroup: targets registered by others). */
    notOwned: z.array(z.string()).default([]),
    lastError: z.object({ code: z.string(), message: z.string(), time: z.string() }).strict().optional(),
    lastSyncTime: z.string().optional(),
    /** AWS API calls of the last sync. */
    lastSyncCalls: z.object({ reads: z.number().int(), writes: z.number().int() }).strict().optional(),
  })
  .strict();
export type CloudTrafficStatus = z.infer<typeof CloudTrafficStatus>;

export const CloudTraffic = resourceSchema('CloudTraffic', CloudTrafficSpec, CloudTrafficStatus);
export type CloudTraffic = z.infer<typeof CloudTraffic>;

/** Held while Drover owns Route 53 health checks for a CloudTraffic: deleting it deletes them first. */
export const FINALIZER_HEALTH_CHECKS = 'drover.dev/route53-health-checks';

/** The owner id in tags and TXT records: the spec's, else `drover-<name>`. */
export function cloudOwnerId(ct: { metadata: { name: string }; spec: CloudTrafficSpec }): string {
  return ct.spec.ownerId ?? `drover-${ct.metadata.name}`;
}
