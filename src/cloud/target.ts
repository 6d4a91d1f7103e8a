/**
 * What every cloud provider adapter gives the controller: the desired state compiled from the plan, a
 * read of what the cloud holds (restricted to what Drover owns, with the refusals), and a write of a
 * change. The decision between them is pure (src/controllers/cloud-traffic-decide.ts).
 */
import type { CloudChange, CloudProvider, CloudState } from '../api/kinds/cloud-traffic.js';
import type { CallMeter } from './aws-call.js';

export interface Observation {
  /** What the cloud holds of the resources Drover owns (or may claim), as flat fields. */
  state: CloudState;
  /** Resources Drover may write: owned, or free to claim (`claims`). */
  writable: ReadonlySet<string>;
  /** Resources Drover will claim with its first write (GA: tag the accelerator; Route 53: add the TXT record). */
  claims: ReadonlySet<string>;
  /** Why Drover will not touch a resource it would otherwise change ("endpointGroup/eu-west-1: owned by x"). */
  notOwned: string[];
  /** targetGroup: the targets Drover registered that the group still holds (the next `status.registered`). */
  registered?: string[];
  /** route53: Drover's health checks, cluster → id (the next `status.healthChecks`). */
  healthChecks?: Record<string, string>;
}

/** What a write learnt that the status records (route53: the ids of the health checks after it). */
export interface ApplyResult {
  healthChecks?: Record<string, string>;
}

export interface CloudTarget<O extends Observation = Observation> {
  readonly provider: CloudProvider;
  /** The plan compiled for this provider. */
  readonly desired: CloudState;
  /** Things the user should know about the compilation (a cluster without a load balancer…). */
  readonly notes: readonly string[];
  /** Every cluster looked lost at once: plan weights kept (see src/cloud/cluster-weights.ts). */
  readonly failStatic: boolean;
  observe(meter: CallMeter, lastApplied: CloudState | undefined): Promise<O>;
  /** Makes `changes` (all on writable resources) in as few calls as the API allows. */
  apply(meter: CallMeter, observed: O, changes: readonly CloudChange[], lastApplied: CloudState | undefined): Promise<void | ApplyResult>;
}
