import { z } from 'zod';
import { baseStatus, dnsName } from '../meta.js';
import { resourceSchema } from '../resource.js';

/** `shop.example.com` or a wildcard `*.example.com` (one leftmost label). */
const hostPattern = z
  .string()
  .regex(/^(\*\.)?([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)*[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a host name, optionally starting with "*."');

export const TenantSpec = z
  .object({
    fleet: dnsName,
    users: z.number().int().min(0).default(0),
    redundancy: z.union([z.literal(1), z.literal(2)]).default(1),
    match: z
      .object({
        hosts: z.array(hostPattern).default([]),
        header: z.object({ name: z.string().min(1).optional(), value: z.string().min(1) }).strict().optional(),
      })
      .strict()
      .default({}),
    test: z.boolean().default(false),
    /** Prods this tenant must be on (by name); the scheduler honours them when they exist and can serve. */
    pin: z.array(dnsName).default([]),
    selector: z
      .object({
        regions: z.array(z.string()).optional(),
        domains: z.array(z.string()).optional(),
        clusterLabels: z.record(z.string()).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export const TenantStatus = z
  .object({
    ...baseStatus,
    prods: z.array(z.string()).default([]),
    domains: z.array(z.string()).default([]),
    reason: z.string().optional(),
  })
  .strict();

export const Tenant = resourceSchema('Tenant', TenantSpec, TenantStatus);
export type Tenant = z.infer<typeof Tenant>;
export type TenantSpec = z.infer<typeof TenantSpec>;
