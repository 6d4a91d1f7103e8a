import { z } from 'zod';
import { baseStatus, dnsName } from '../meta.js';
import { resourceSchema } from '../resource.js';
import { AppSpec } from './fleet.js';

export const ProdPhase = z.enum(['Pending', 'Provisioning', 'WarmingUp', 'Ready', 'Draining', 'Retired', 'Failed']);
export type ProdPhase = z.infer<typeof ProdPhase>;
export const ProdRole = z.enum(['normal', 'test']);

/**
 * The immutable template revision a Prod runs (src/api/template.ts): a copy of its Fleet's `spec.app` at
 * the Prod's version, and the hash of (app, version). Set when the Prod is created and never changed:
 * a different template means a different Prod (a successor).
 */
export const ProdTemplate = z
  .object({
    hash: z.string().regex(/^[0-9a-f]{6,64}$/, 'a hex hash'),
    app: AppSpec,
  })
  .strict();
export type ProdTemplate = z.infer<typeof ProdTemplate>;

export const ProdSpec = z
  .object({
    fleet: dnsName,
    cluster: dnsName,
    version: z.string().min(1),
    /** What this Prod runs; absent only on Prods stored before template revisions (the fleet controller stamps them). */
    template: ProdTemplate.optional(),
    role: ProdRole.default('normal'),
    /** Set by the fleet/release controllers to take a Prod out of service; the agent then stops it. */
    retire: z.boolean().default(false),
    /** Extra environment for this Prod's workload only (releases use it, e.g. for feature flags). */
    env: z.record(z.string()).default({}),
    /**
     * Blue/green replacement of one Prod by another (releases, cluster replace): this Prod is the
     * successor of the Prod named here. It is not counted against the fleet's `prods` while its
     * predecessor exists. The traffic plan sends the predecessor's tenants to it only once `takeover`
     * is true and it is Ready; the predecessor then drains but stays up, so flipping `takeover` back
     * is a one-step rollback. When the predecessor is retired, the scheduler hands its tenants to the
     * successor (not counted as moves).
     */
    replaces: dnsName.optional(),
    takeover: z.boolean().default(false),
  })
  .strict();

export const ProdStatus = z
  .object({
    ...baseStatus,
    phase: ProdPhase.default('Pending'),
    endpoint: z.string().optional(),
    version: z.string().optional(),
    readySince: z.string().optional(),
    restarts: z.number().int().default(0),
    message: z.string().optional(),
    /** Consecutive successful warm-up answers so far. */
    warmupPassed: z.number().int().default(0),
  })
  .strict();

export const Prod = resourceSchema('Prod', ProdSpec, ProdStatus);
export type Prod = z.infer<typeof Prod>;
export type ProdSpec = z.infer<typeof ProdSpec>;
export type ProdStatus = z.infer<typeof ProdStatus>;
