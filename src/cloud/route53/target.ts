/**
 * Route 53 as a CloudTarget: reads the record name and its ownership record (2 calls per sync), writes
 * one ChangeResourceRecordSets batch for the zone. Ownership and batching: src/cloud/route53/records.ts.
 */
import type { ResourceRecordSet, Route53Client } from '@aws-sdk/client-route-53';
import type { Route53Spec } from '../../api/kinds/cloud-traffic.js';
import type { RetryPolicy } from '../aws-call.js';
import type { CloudTarget, Observation } from '../target.js';
import { r53Resource, recordFields, recordsState, type DesiredRoute53 } from './compile.js';
import { planNameChanges, readOwnedName, writeBatch, type OwnedName } from './records.js';

export interface Route53Observation extends Observation {
  owned: OwnedName;
}

const sameRecord = (a: ResourceRecordSet, b: ResourceRecordSet): boolean => JSON.stringify(recordFields(a)) === JSON.stringify(recordFields(b));

export function route53Target(client: Route53Client, spec: Route53Spec, ownerId: string, resourceRef: string, desired: DesiredRoute53, retry?: RetryPolicy): CloudTarget<Route53Observation> {
  const desiredState = recordsState(desired.records);
  return {
    provider: 'route53',
    desired: desiredState,
    notes: desired.notes,
    failStatic: desired.failStatic,

    async observe(meter) {
      const owned = await readOwnedName(meter, client, spec.hostedZoneId, spec.recordName, spec.type, ownerId, retry);
      const resources = new Set([...Object.keys(desiredState), ...owned.records.map(r53Resource)]);
      if (owned.ownership.state === 'foreign') {
        return { owned, state: {}, writable: new Set(), claims: new Set(), notOwned: notOwnedLines(Object.keys(desiredState), `record/${owned.name}/${spec.type}`, owned.ownership.reason) };
      }
      const claims = owned.ownership.state === 'free' ? resources : new Set<string>();
      return { owned, state: recordsState(owned.records), writable: resources, claims, notOwned: [] };
    },

    async apply(meter, observed) {
      const changes = planNameChanges(observed.owned, desired.records, ownerId, resourceRef, sameRecord);
      await writeBatch(meter, client, spec.hostedZoneId, changes, `drover ${resourceRef}`, retry);
    },
  };
}

function notOwnedLines(resources: readonly string[], fallback: string, reason: string): string[] {
  return (resources.length > 0 ? resources : [fallback]).map((r) => `${r}: ${reason}`);
}
