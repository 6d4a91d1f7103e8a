/**
 * LoadBalancerMirror: an OpenStack Octavia load balancer gets an AWS Network Load Balancer twin (targets
 * reached over Direct Connect) and a weighted Route 53 split between the two, so that either side can fail
 * and the other keeps serving (talk 004, "Defend"). The controller (src/controllers/mirror-*.ts) reads the
 * Octavia LB (src/cloud/octavia/), compiles the NLB it should have (src/cloud/nlb/compile.ts), reads what
 * AWS holds, and writes only the difference — only to what Drover created (tags).
 *
 * No secrets in objects: the Octavia credentials are a clouds.yaml file and cloud name on the control
 * plane's host, or its OS_* environment, as the OpenStack clients take them.
 */
import { z } from 'zod';
import { baseStatus, Duration } from '../meta.js';
import { resourceSchema } from '../resource.js';
import { CloudChange, CloudState } from './cloud-traffic.js';

export const OctaviaSource = z
  .object({
    loadBalancerId: z.string().uuid('must be an Octavia load balancer id (a UUID, `openstack loadbalancer list`)'),
    /** A cloud of a clouds.yaml (default search path as the OpenStack clients: ./, ~/.config/openstack, /etc/openstack). */
    cloud: z
      .object({
        name: z.string().min(1),
        /** Path of the clouds.yaml; default: the standard search path (OS_CLIENT_CONFIG_FILE first). */
        configPath: z.string().min(1).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();
export type OctaviaSource = z.infer<typeof OctaviaSource>;

export const NlbTarget = z
  .object({
    region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region such as eu-west-1'),
    /** Subnets of one VPC, one per Availability Zone the NLB spans. */
    subnets: z.array(z.string().regex(/^subnet-[0-9a-f]+$/, 'must be a subnet id (subnet-…)')).min(1),
    scheme: z.enum(['internet-facing', 'internal']).default('internet-facing'),
    /** Names of the NLB and its target groups start with it (ELBv2 names: 32 characters at most). */
    namePrefix: z.string().regex(/^[A-Za-z0-9]([A-Za-z0-9-]{0,13})$/, 'letters, digits and "-", at most 14 characters, not starting with "-"').default('drover'),
    tags: z.record(z.string().max(256)).default({}),
    /**
     * Availability Zone given with each target registration: `all` (default) because the members are
     * outside the VPC (on premises, over Direct Connect).
     */
    targetAvailabilityZone: z.string().min(1).default('all'),
  })
  .strict();
export type NlbTarget = z.infer<typeof NlbTarget>;

const HealthCheckSide = z
  .object({
    type: z.enum(['HTTP', 'HTTPS', 'TCP']).default('TCP'),
    port: z.number().int().min(1).max(65535).optional(),
    resourcePath: z.string().startsWith('/').optional(),
    requestInterval: z.union([z.literal(10), z.literal(30)]).optional(),
    failureThreshold: z.number().int().min(1).max(10).optional(),
  })
  .strict();
export type HealthCheckSide = z.infer<typeof HealthCheckSide>;

export const MirrorWeights = z
  .object({
    source: z.number().int().min(0).max(100).default(90),
    target: z.number().int().min(0).max(100).default(10),
  })
  .strict();

export const MirrorRoute53 = z
  .object({
    hostedZoneId: z.string().min(1),
    recordName: z.string().min(1),
    weights: MirrorWeights.default({}),
    /** The address the source record points at; default: the Octavia LB's VIP (its floating IP if it has one is yours to set). */
    sourceAddress: z.string().ip({ version: 'v4' }).optional(),
    ttl: z.number().int().min(0).default(60),
    /** Route 53 health checks on both sides; a failing side's record drops out and the other takes 100 %. */
    healthChecks: z.object({ source: HealthCheckSide.optional(), target: HealthCheckSide.optional() }).strict().optional(),
  })
  .strict();
export type MirrorRoute53 = z.infer<typeof MirrorRoute53>;

export const LoadBalancerMirrorSpec = z
  .object({
    source: z
      .object({
        octavia: OctaviaSource.optional(),
        /** A Service of type LoadBalancer on a Drover cluster (src/cloud/service-source/): ports → listeners, ready endpoints → targets. */
        service: z.object({ cluster: z.string().min(1), namespace: z.string().min(1), name: z.string().min(1) }).strict().optional(),
      })
      .strict()
      .refine((s) => (s.octavia ? 1 : 0) + (s.service ? 1 : 0) === 1, { message: 'set exactly one of `octavia` or `service`' }),
    target: z.object({ nlb: NlbTarget }).strict(),
    dns: z.object({ route53: MirrorRoute53 }).strict().optional(),
    syncPeriod: Duration.default('30s'),
    /** Who Drover is in tags and TXT records (default `drover-<name>`). */
    ownerId: z.string().min(1).max(100).regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, ".", "_" and "-"').optional(),
  })
  .strict()
  .superRefine((s, ctx) => {
    const w = s.dns?.route53.weights;
    if (w && w.source + w.target !== 100) {
      ctx.addIssue({ code: 'custom', path: ['dns', 'route53', 'weights'], message: `source ${w.source} + target ${w.target} = ${w.source + w.target}: the weights must sum to 100 (e.g. source: 90, target: 10)` });
    }
  });
export type LoadBalancerMirrorSpec = z.infer<typeof LoadBalancerMirrorSpec>;

/** Something of the source that the NLB cannot carry as is: said, never silently dropped. */
export const MirrorNote = z.object({ resource: z.string(), severity: z.enum(['refused', 'approximated']), message: z.string() }).strict();
export type MirrorNote = z.infer<typeof MirrorNote>;

export const LoadBalancerMirrorStatus = z
  .object({
    ...baseStatus,
    /** What was read from the source at the last sync. */
    source: z
      .object({
        name: z.string(),
        vipAddress: z.string(),
        operatingStatus: z.string(),
        provisioningStatus: z.string(),
        listeners: z.number().int(),
        pools: z.number().int(),
        members: z.number().int(),
      })
      .strict()
      .optional(),
    /** ARNs of what Drover built (and will delete through the finalizer). */
    built: z
      .object({
        loadBalancerArn: z.string().optional(),
        dnsName: z.string().optional(),
        canonicalHostedZoneId: z.string().optional(),
        vpcId: z.string().optional(),
        /** target group name → ARN */
        targetGroups: z.record(z.string()).default({}),
        /** `PROTOCOL:port` → listener ARN */
        listeners: z.record(z.string()).default({}),
      })
      .strict()
      .default({}),
    targets: z.object({ desired: z.number().int(), registered: z.number().int(), healthy: z.number().int() }).strict().optional(),
    inSync: z.boolean().optional(),
    /** What AWS held at the last sync, as flat fields per resource (the shape CloudTraffic uses). */
    observed: CloudState.optional(),
    /** Changes the last sync found and did not make (a failed write, a resource not Drover's): `drover mirror diff`. */
    pending: z.array(CloudChange).default([]),
    /** The change of the last sync that changed something. */
    lastDiff: z.array(CloudChange).default([]),
    lastDiffTime: z.string().optional(),
    notes: z.array(MirrorNote).default([]),
    dns: z
      .object({
        weights: z.object({ source: z.number().int(), target: z.number().int() }).strict(),
        healthCheckIds: z.record(z.string()).default({}),
        notOwned: z.string().optional(),
      })
      .strict()
      .optional(),
    /** Health of each side as the mirror sees it (Octavia's operating status; the NLB's healthy targets). */
    health: z.object({ source: z.string(), target: z.string() }).strict().optional(),
    lastError: z.object({ code: z.string(), message: z.string(), field: z.string().optional(), time: z.string() }).strict().optional(),
    lastSyncTime: z.string().optional(),
    lastSyncCalls: z.object({ octavia: z.number().int(), awsReads: z.number().int(), awsWrites: z.number().int() }).strict().optional(),
  })
  .strict();
export type LoadBalancerMirrorStatus = z.infer<typeof LoadBalancerMirrorStatus>;

export const LoadBalancerMirror = resourceSchema('LoadBalancerMirror', LoadBalancerMirrorSpec, LoadBalancerMirrorStatus);
export type LoadBalancerMirror = z.infer<typeof LoadBalancerMirror>;

/** Removed from a mirror once what Drover built in AWS is deleted. */
export const MIRROR_FINALIZER = 'drover.dev/nlb-mirror';

export function mirrorOwnerId(m: { metadata: { name: string }; spec: { ownerId?: string | undefined } }): string {
  return m.spec.ownerId ?? `drover-${m.metadata.name}`;
}
