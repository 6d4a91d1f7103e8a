/**
 * An ELBv2 target group shared by several clusters, as a CloudTarget: one DescribeTargetHealth per sync
 * (the API returns every target of the group in one answer), then one RegisterTargets and one
 * DeregisterTargets for the difference (split at 500 targets a call).
 *
 * Ownership, per target (ELBv2 cannot tag a target): Drover owns exactly the targets it registered itself
 * and the group still holds (`status.registered`, pruned by each read). Every other target is foreign:
 * listed in `notOwned`, never deregistered, even when the plan wants it (it is already registered: nothing
 * to do). This is what aws-load-balancer-controller lacks when clusters share a group (each cluster's
 * controller deregisters the others' targets).
 *
 * A target in state `draining` is being deregistered already: it counts as absent (deregistering it again
 * every sync would make an idle sync write), and registering it again is how it comes back.
 * Fail static: the targets Drover registered are kept even when the plan no longer wants them.
 */
import {
  DeregisterTargetsCommand,
  DescribeTargetHealthCommand,
  RegisterTargetsCommand,
  type ElasticLoadBalancingV2Client,
  type TargetDescription,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { CloudState, TargetGroupSpec } from '../../api/kinds/cloud-traffic.js';
import { awsCall, type RetryPolicy } from '../aws-call.js';
import type { CloudTarget, Observation } from '../target.js';
import { targetFields, targetGroupDesiredState, targetId, tgResource, TARGET_PREFIX, type DesiredTargetGroup } from './compile.js';

/** Targets per RegisterTargets/DeregisterTargets call. */
export const TARGETS_PER_CALL = 500;

export interface TargetGroupObservation extends Observation {
  /** Drover's targets the group still holds: the next `status.registered` before this sync's writes. */
  registered: string[];
  /** What the group holds, by target id (draining ones left out), as DescribeTargetHealth gave it. */
  present: Map<string, TargetDescription>;
}

/** The region in a target group ARN (arn:aws:elasticloadbalancing:REGION:ACCOUNT:targetgroup/…). */
export function regionOfArn(arn: string): string | undefined {
  return arn.split(':')[3] || undefined;
}

export function chunks<T>(items: readonly T[], size = TARGETS_PER_CALL): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export function targetGroupTarget(
  client: ElasticLoadBalancingV2Client,
  spec: TargetGroupSpec,
  desired: DesiredTargetGroup,
  registered: readonly string[] | undefined,
  retry?: RetryPolicy,
): CloudTarget<TargetGroupObservation> {
  const desiredState = targetGroupDesiredState(desired);
  const mine = new Set(registered ?? []);
  return {
    provider: 'targetGroup',
    desired: desiredState,
    notes: desired.notes,
    failStatic: desired.failStatic,

    async observe(meter) {
      const res = await awsCall(meter, 'DescribeTargetHealth', 'read', () => client.send(new DescribeTargetHealthCommand({ TargetGroupArn: spec.targetGroupArn })), retry);
      const present = new Map<string, TargetDescription>();
      for (const d of res.TargetHealthDescriptions ?? []) {
        const t = d.Target;
        if (!t?.Id || d.TargetHealth?.State === 'draining') continue;
        present.set(targetId(t.Id, t.Port ?? 0), t);
      }
      const held = [...present.keys()].filter((id) => mine.has(id)).sort();
      const state: CloudState = {};
      const writable = new Set<string>();
      const notOwned: string[] = [];
      for (const id of held) {
        // Fail static: what Drover registered stays registered, so it is neither diffed nor written.
        if (desired.failStatic && !desired.targets.has(id)) continue;
        state[tgResource(id)] = targetFields();
        writable.add(tgResource(id));
      }
      for (const id of [...present.keys()].sort()) {
        if (mine.has(id)) continue;
        notOwned.push(`${tgResource(id)}: registered by someone else${desired.targets.has(id) ? ' (a target Drover wants, already serving)' : ''}; Drover never deregisters it`);
      }
      const claims = new Set<string>();
      for (const id of desired.targets.keys()) {
        if (present.has(id)) continue;
        writable.add(tgResource(id));
        claims.add(tgResource(id));
      }
      return { state, writable, claims, notOwned, registered: held, present };
    },

    async apply(meter, observed, changes) {
      // The zone goes only where the user set it (`all` outside the VPC): inside it, ELBv2 infers it.
      const zone = spec.availabilityZone ? { AvailabilityZone: spec.availabilityZone } : {};
      const ids = (action: 'create' | 'delete'): string[] =>
        changes.filter((c) => c.action === action && c.resource.startsWith(TARGET_PREFIX)).map((c) => c.resource.slice(TARGET_PREFIX.length));
      const register = ids('create').flatMap((id): TargetDescription[] => {
        const d = desired.targets.get(id);
        return d ? [{ Id: d.id, Port: d.port, ...zone }] : [];
      });
      // Only Drover's own targets are ever deregistered: foreign ones are not writable (see observe), and
      // this filter holds that even if a change said otherwise.
      const deregister = ids('delete').flatMap((id): TargetDescription[] => {
        const seen = observed.present.get(id);
        return seen?.Id && observed.registered.includes(id) ? [{ Id: seen.Id, ...(seen.Port !== undefined ? { Port: seen.Port } : {}), ...zone }] : [];
      });
      // Register first: the group never serves with fewer targets than it needs in between.
      for (const Targets of chunks(register)) {
        await awsCall(meter, 'RegisterTargets', 'write', () => client.send(new RegisterTargetsCommand({ TargetGroupArn: spec.targetGroupArn, Targets })), retry);
      }
      for (const Targets of chunks(deregister)) {
        await awsCall(meter, 'DeregisterTargets', 'write', () => client.send(new DeregisterTargetsCommand({ TargetGroupArn: spec.targetGroupArn, Targets })), retry);
      }
    },
  };
}
