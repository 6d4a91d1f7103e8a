/**
 * Global Accelerator as a CloudTarget: reads the listener's endpoint groups and the accelerator's tags
 * (2 calls per sync), writes one UpdateEndpointGroup per changed group.
 *
 * Ownership: GA can tag accelerators only (not listeners or endpoint groups), so the endpoint group is
 * claimed by a tag on its accelerator, one per group: `drover.dev/owner/<listener-id>/<region>` =
 * the CloudTraffic's owner id. Drover writes a group only when that tag names it; `adopt: true` adds the
 * tag with Drover's first write to an untagged group; a group tagged for another owner is never touched.
 * Inside an owned group, endpoints that are not a Drover cluster's load balancer (and never were) are
 * passed back unchanged: UpdateEndpointGroup replaces the whole endpoint list.
 */
import {
  ListEndpointGroupsCommand,
  ListTagsForResourceCommand,
  TagResourceCommand,
  UpdateEndpointGroupCommand,
  type EndpointConfiguration,
  type EndpointGroup,
  type GlobalAcceleratorClient,
  type UpdateEndpointGroupRequest,
} from '@aws-sdk/client-global-accelerator';
import type { CloudState, GlobalAcceleratorSpec } from '../../api/kinds/cloud-traffic.js';
import { awsCall, type RetryPolicy } from '../aws-call.js';
import type { CloudTarget, Observation } from '../target.js';
import { endpointsIn, gaDesiredState, gaObservedFields, gaResource, healthFieldNames, type DesiredGa, type ObservedGroup } from './compile.js';

export const GA_OWNER_TAG_PREFIX = 'drover.dev/owner/';

export function acceleratorArnOf(listenerArn: string): string {
  const i = listenerArn.indexOf('/listener/');
  return i < 0 ? listenerArn : listenerArn.slice(0, i);
}

export function ownerTagKey(listenerArn: string, region: string): string {
  const id = listenerArn.slice(listenerArn.lastIndexOf('/') + 1);
  return `${GA_OWNER_TAG_PREFIX}${id}/${region}`;
}

export interface GaObservation extends Observation {
  groups: Map<string, EndpointGroup>;
}

function observedGroup(g: EndpointGroup): ObservedGroup {
  const health: ObservedGroup['health'] = {};
  if (g.HealthCheckPort !== undefined) health.healthCheckPort = g.HealthCheckPort;
  if (g.HealthCheckProtocol !== undefined) health.healthCheckProtocol = g.HealthCheckProtocol;
  if (g.HealthCheckPath !== undefined) health.healthCheckPath = g.HealthCheckPath;
  if (g.HealthCheckIntervalSeconds !== undefined) health.healthCheckIntervalSeconds = g.HealthCheckIntervalSeconds;
  if (g.ThresholdCount !== undefined) health.thresholdCount = g.ThresholdCount;
  return {
    arn: g.EndpointGroupArn ?? '',
    region: g.EndpointGroupRegion ?? '',
    trafficDial: g.TrafficDialPercentage ?? 100,
    endpoints: (g.EndpointDescriptions ?? []).map((e) => ({
      id: e.EndpointId ?? '',
      weight: e.Weight ?? 128,
      ...(e.ClientIPPreservationEnabled !== undefined ? { clientIPPreservation: e.ClientIPPreservationEnabled } : {}),
    })),
    health,
  };
}

/** The UpdateEndpointGroup request that gives `group` the desired dial, weights and health settings. */
export function updateRequest(
  spec: GlobalAcceleratorSpec,
  desired: DesiredGa['groups'][number],
  group: EndpointGroup,
  previouslyManaged: ReadonlySet<string>,
): UpdateEndpointGroupRequest {
  const seen = observedGroup(group);
  const configs: EndpointConfiguration[] = [];
  for (const [id, weight] of desired.endpoints) {
    const cur = seen.endpoints.find((e) => e.id === id);
    const ipp = spec.clientIPPreservation ?? cur?.clientIPPreservation;
    configs.push({ EndpointId: id, Weight: weight, ...(ipp !== undefined ? { ClientIPPreservationEnabled: ipp } : {}) });
  }
  // Endpoints Drover does not manage stay as they are (the list replaces the group's endpoints).
  for (const e of seen.endpoints) {
    if (desired.endpoints.has(e.id) || previouslyManaged.has(e.id)) continue;
    configs.push({ EndpointId: e.id, Weight: e.weight, ...(e.clientIPPreservation !== undefined ? { ClientIPPreservationEnabled: e.clientIPPreservation } : {}) });
  }
  const hc = desired.healthCheck;
  return {
    EndpointGroupArn: seen.arn,
    EndpointConfigurations: configs,
    TrafficDialPercentage: desired.trafficDial,
    ...(hc?.port !== undefined ? { HealthCheckPort: hc.port } : {}),
    ...(hc?.protocol !== undefined ? { HealthCheckProtocol: hc.protocol } : {}),
    ...(hc?.path !== undefined ? { HealthCheckPath: hc.path } : {}),
    ...(hc?.intervalSeconds !== undefined ? { HealthCheckIntervalSeconds: hc.intervalSeconds } : {}),
    ...(hc?.thresholdCount !== undefined ? { ThresholdCount: hc.thresholdCount } : {}),
  };
}

export function globalAcceleratorTarget(
  client: GlobalAcceleratorClient,
  spec: GlobalAcceleratorSpec,
  ownerId: string,
  desired: DesiredGa,
  retry?: RetryPolicy,
): CloudTarget<GaObservation> {
  const desiredState = gaDesiredState(desired);
  const byRegion = new Map(desired.groups.map((g) => [g.region, g] as const));
  const managedOf = (region: string, lastApplied: CloudState | undefined): Set<string> =>
    new Set([...(byRegion.get(region)?.endpoints.keys() ?? []), ...endpointsIn(lastApplied?.[gaResource(region)])]);

  return {
    provider: 'globalAccelerator',
    desired: desiredState,
    notes: desired.notes,
    failStatic: desired.failStatic,

    async observe(meter, lastApplied) {
      const groups = new Map<string, EndpointGroup>();
      let token: string | undefined;
      do {
        const page = await awsCall(meter, 'ListEndpointGroups', 'read', () => client.send(new ListEndpointGroupsCommand({ ListenerArn: spec.listenerArn, MaxResults: 100, ...(token ? { NextToken: token } : {}) })), retry);
        for (const g of page.EndpointGroups ?? []) if (g.EndpointGroupRegion) groups.set(g.EndpointGroupRegion, g);
        token = page.NextToken;
      } while (token);
      const tagged = await awsCall(meter, 'ListTagsForResource', 'read', () => client.send(new ListTagsForResourceCommand({ ResourceArn: acceleratorArnOf(spec.listenerArn) })), retry);
      const tags = new Map((tagged.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? ''] as const));

      const state: CloudState = {};
      const writable = new Set<string>();
      const claims = new Set<string>();
      const notOwned: string[] = [];
      for (const g of desired.groups) {
        const resource = gaResource(g.region);
        const found = groups.get(g.region);
        if (!found) {
          notOwned.push(`${resource}: the listener has no endpoint group in ${g.region}; Drover steers groups, it does not create them`);
          continue;
        }
        const key = ownerTagKey(spec.listenerArn, g.region);
        const owner = tags.get(key);
        if (owner === ownerId) writable.add(resource);
        else if (owner === undefined && spec.adopt) {
          writable.add(resource);
          claims.add(resource);
        } else {
          notOwned.push(
            owner === undefined
              ? `${resource}: not owned by Drover (no tag ${key} on the accelerator); set globalAccelerator.adopt: true to claim it`
              : `${resource}: owned by "${owner}" (tag ${key}), not by "${ownerId}"`,
          );
          continue;
        }
        state[resource] = gaObservedFields(observedGroup(found), managedOf(g.region, lastApplied), healthFieldNames(desiredState[resource]));
      }
      return { state, writable, claims, notOwned, groups };
    },

    async apply(meter, observed, changes, lastApplied) {
      const regions = changes.filter((c) => c.resource.startsWith('endpointGroup/')).map((c) => c.resource.slice('endpointGroup/'.length));
      const toClaim = regions.filter((r) => observed.claims.has(gaResource(r)));
      if (toClaim.length > 0) {
        const Tags = toClaim.map((r) => ({ Key: ownerTagKey(spec.listenerArn, r), Value: ownerId }));
        await awsCall(meter, 'TagResource', 'write', () => client.send(new TagResourceCommand({ ResourceArn: acceleratorArnOf(spec.listenerArn), Tags })), retry);
      }
      for (const region of regions) {
        const d = byRegion.get(region);
        const g = observed.groups.get(region);
        if (!d || !g) continue;
        const req = updateRequest(spec, d, g, managedOf(region, lastApplied));
        await awsCall(meter, 'UpdateEndpointGroup', 'write', () => client.send(new UpdateEndpointGroupCommand(req)), retry);
      }
    },
  };
}
