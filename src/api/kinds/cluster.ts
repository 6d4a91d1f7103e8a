import { z } from 'zod';
import { baseStatus, dnsName } from '../meta.js';
import { resourceSchema } from '../resource.js';

export const ClusterProvider = z.enum(['local', 'kubernetes', 'eks']);
export const ClusterPhase = z.enum(['Ready', 'NotReady', 'Unknown']);

export const ClusterSpec = z
  .object({
    provider: ClusterProvider.default('local'),
    region: z.string().min(1).default('local'),
    /** Failure domain; defaults to the region (see `clusterDomain`). */
    domain: z.string().min(1).optional(),
    capacity: z.object({ prods: z.number().int().min(0).default(10) }).strict().default({}),
    /** No new Prods are placed here. */
    cordoned: z.boolean().default(false),
    /** Tenants move off this cluster's Prods (keeping redundancy where capacity allows). Implies cordoned. */
    draining: z.boolean().default(false),
    /** Kubernetes minor version, e.g. "1.31"; checked against the EKS support calendar. */
    version: z.string().regex(/^\d+\.\d+$/, 'must be a Kubernetes minor version such as "1.31"').optional(),
    kubernetes: z
      .object({
        context: z.string().min(1),
        kubeconfig: z.string().optional(),
        /** Host name of an ingress in front of this cluster's Services, if Prods are reached that way. */
        ingressHost: z.string().optional(),
      })
      .strict()
      .optional(),
    /**
     * The cloud load balancer in front of this cluster's Prods, for CloudTraffic: Global Accelerator
     * targets its `arn`; Route 53 aliases its `dnsName` + `hostedZoneId`, or points at `address`.
     */
    loadBalancer: z
      .object({ arn: z.string().min(1).optional(), dnsName: z.string().min(1).optional(), hostedZoneId: z.string().min(1).optional(), address: z.string().min(1).optional() })
      .strict()
      .optional(),
    /** How long without a heartbeat before the cluster is NotReady. */
    heartbeatGraceMs: z.number().int().positive().default(3000),
    /**
     * How long this cluster may stay NotReady before its Prods are replaced elsewhere (unreachable is not
     * gone: traffic moves at once, destruction waits). Default: the control plane's (5 minutes).
     */
    evictionTimeoutMs: z.number().int().positive().optional(),
  })
  .strict();

export const ClusterStatus = z
  .object({
    ...baseStatus,
    phase: ClusterPhase.default('Unknown'),
    lastHeartbeat: z.string().optional(),
    prods: z.number().int().default(0),
    agent: z.object({ pid: z.number().int().optional(), url: z.string().optional(), startedAt: z.string().optional() }).strict().optional(),
    nodes: z.object({ ready: z.number().int(), total: z.number().int() }).strict().optional(),
    serverVersion: z.string().optional(),
    message: z.string().optional(),
  })
  .strict();

export const Cluster = resourceSchema('Cluster', ClusterSpec, ClusterStatus);
export type Cluster = z.infer<typeof Cluster>;
export type ClusterSpec = z.infer<typeof ClusterSpec>;
export type ClusterStatus = z.infer<typeof ClusterStatus>;

export function clusterDomain(c: { spec: ClusterSpec }): string {
  return c.spec.domain ?? c.spec.region;
}

export const clusterName = dnsName;
