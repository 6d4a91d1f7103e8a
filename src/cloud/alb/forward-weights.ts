/**
 * A Migration on an ALB: the share of users its rule (or listener) forwards to the fleet's target group,
 * set by the weights of the forward action's `ForwardConfig`. One call per step when in sync (DescribeRules
 * or DescribeListeners); when not, one ModifyRule or ModifyListener and one read back.
 *
 * - Level-based: what the ALB holds is read every time and compared with the step's weights; a write
 *   happens only when they differ (weights, the two groups listed, stickiness).
 * - Drift: weights that no longer match the last step Drover applied mean someone changed them by hand;
 *   reported in `drift` (the caller makes it an Event), then set back to the step's weights.
 * - Refusal: a forward that names other target groups is not the migration's and is never written
 *   (`ForeignTargetGroups`, permanent), nor is a rule or listener without a forward action.
 * - The rule's conditions, transforms, priority and every other action are left as they are: ModifyRule
 *   gets only `Actions`, ModifyListener only `DefaultActions` (src/cloud/alb/forward-config.ts).
 * - The default rule of a listener (`IsDefault`) cannot be modified by ModifyRule: its actions are the
 *   listener's default actions, written with ModifyListener.
 * - Every call goes through awsCall (throttling and 5xx retried with backoff and full jitter; AccessDenied,
 *   RuleNotFound, ListenerNotFound, ValidationError… permanent, reported once). Errors come back as a
 *   result, not thrown: the migration controller pauses on `permanent` and retries the others next pass.
 */
import {
  DescribeListenersCommand,
  DescribeRulesCommand,
  ModifyListenerCommand,
  ModifyRuleCommand,
  type Action,
  type ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { AwsCallError, awsCall, CallMeter, type RetryPolicy } from '../aws-call.js';
import { defaultAwsClients, type AwsClients } from '../clients.js';
import { albArnsProblems, listenerArnOfRule, regionOfAlbArn } from './arns.js';
import { desiredForward, fleetShare, inSync, MAX_STICKINESS_SECONDS, readForward, rewriteActions, type ForwardDesired } from './forward-config.js';

export interface AlbForwardTarget {
  region?: string;
  listenerArn?: string;
  ruleArn?: string;
  legacyTargetGroupArn: string;
  fleetTargetGroupArn: string;
  stickinessSeconds?: number;
}

export interface AlbCalls {
  reads: number;
  writes: number;
  retries: number;
}

export type AlbSyncResult =
  | { ok: true; changed: boolean; observed: { legacyWeight: number; fleetWeight: number; stickinessSeconds: number }; drift?: string; calls?: AlbCalls }
  | { ok: false; permanent: boolean; code: string; message: string; calls?: AlbCalls };

export interface AlbSyncDeps {
  /** Default: a client for the target's region (or its ARN's) from the standard SDK configuration. */
  client?: ElasticLoadBalancingV2Client;
  retry?: RetryPolicy;
  /** Counts this sync's calls; `calls` in the result reports the same. */
  meter?: CallMeter;
}

let shared: AwsClients | undefined;

/** The client for this target: its region, else the region in its rule/listener ARN. */
export function albClient(target: AlbForwardTarget): ElasticLoadBalancingV2Client {
  const arn = target.ruleArn ?? target.listenerArn;
  return (shared ??= defaultAwsClients()).elbv2(target.region ?? (arn ? regionOfAlbArn(arn) : undefined));
}

/** Where the forward action lives: a rule, or a listener's default actions. */
interface Place {
  read(meter: CallMeter): Promise<Action[]>;
  write(meter: CallMeter, actions: Action[]): Promise<void>;
  describe: string;
}

function place(client: ElasticLoadBalancingV2Client, target: AlbForwardTarget, retry: RetryPolicy | undefined): Place {
  const listenerPlace = (listenerArn: string): Place['write'] => async (meter, actions) => {
    await awsCall(meter, 'ModifyListener', 'write', () => client.send(new ModifyListenerCommand({ ListenerArn: listenerArn, DefaultActions: actions })), retry);
  };
  if (target.ruleArn) {
    const ruleArn = target.ruleArn;
    let isDefault = false;
    return {
      describe: `rule ${ruleArn}`,
      async read(meter) {
        const res = await awsCall(meter, 'DescribeRules', 'read', () => client.send(new DescribeRulesCommand({ RuleArns: [ruleArn] })), retry);
        const rule = res.Rules?.find((r) => r.RuleArn === ruleArn) ?? res.Rules?.[0];
        if (!rule) throw new AwsCallError('DescribeRules', 'RuleNotFound', 'permanent', `no rule ${ruleArn}`, 1);
        isDefault = rule.IsDefault === true;
        return rule.Actions ?? [];
      },
      async write(meter, actions) {
        if (isDefault) return listenerPlace(listenerArnOfRule(ruleArn))(meter, actions);
        await awsCall(meter, 'ModifyRule', 'write', () => client.send(new ModifyRuleCommand({ RuleArn: ruleArn, Actions: actions })), retry);
      },
    };
  }
  const listenerArn = target.listenerArn ?? '';
  return {
    describe: `listener ${listenerArn}`,
    async read(meter) {
      const res = await awsCall(meter, 'DescribeListeners', 'read', () => client.send(new DescribeListenersCommand({ ListenerArns: [listenerArn] })), retry);
      const listener = res.Listeners?.find((l) => l.ListenerArn === listenerArn) ?? res.Listeners?.[0];
      if (!listener) throw new AwsCallError('DescribeListeners', 'ListenerNotFound', 'permanent', `no listener ${listenerArn}`, 1);
      return listener.DefaultActions ?? [];
    },
    write: listenerPlace(listenerArn),
  };
}

function inputProblem(target: AlbForwardTarget, fleetPercent: number): string | undefined {
  const problems = albArnsProblems(target);
  if (!Number.isFinite(fleetPercent) || fleetPercent < 0 || fleetPercent > 100) problems.push(`fleetPercent ${fleetPercent} must be within 0–100`);
  const s = target.stickinessSeconds;
  if (s !== undefined && (!Number.isInteger(s) || s < 0 || s > MAX_STICKINESS_SECONDS)) problems.push(`stickinessSeconds ${s} must be 0 (off) or 1–${MAX_STICKINESS_SECONDS} (ELBv2's limit, 7 days)`);
  return problems.length > 0 ? problems.join('; ') : undefined;
}

const describeWeights = (o: { legacyWeight: number; fleetWeight: number }) => `legacy ${o.legacyWeight} / fleet ${o.fleetWeight} (fleet ${fleetShare(o).toFixed(1)}%)`;

/**
 * Sets the forward action of `target` to send `fleetPercent` % to the fleet's group; `lastAppliedFleetPercent`
 * is the share Drover set last (undefined before the first step), against which drift is judged.
 */
export async function syncAlbForwardWeights(target: AlbForwardTarget, fleetPercent: number, lastAppliedFleetPercent: number | undefined, deps: AlbSyncDeps = {}): Promise<AlbSyncResult> {
  const meter = deps.meter ?? new CallMeter();
  const calls = (): AlbCalls => ({ reads: meter.reads, writes: meter.writes, retries: meter.retries });
  const bad = inputProblem(target, fleetPercent);
  if (bad) return { ok: false, permanent: true, code: 'ValidationError', message: bad, calls: calls() };
  const where = place(deps.client ?? albClient(target), target, deps.retry);
  const desired: ForwardDesired = desiredForward(fleetPercent, target.stickinessSeconds);
  try {
    const actions = await where.read(meter);
    const seen = readForward(actions, target);
    if (!seen.ok) return { ok: false, permanent: true, code: seen.code, message: `${where.describe}: ${seen.message}`, calls: calls() };
    const share = fleetShare(seen.observed);
    // Against what was written (whole percents), within half a percent: a hand-written 1/2 reads 33.3 %.
    const drift =
      lastAppliedFleetPercent !== undefined && Math.abs(share - Math.round(lastAppliedFleetPercent)) >= 0.5
        ? `${where.describe} holds ${describeWeights(seen.observed)}, Drover last set fleet ${lastAppliedFleetPercent}%: changed outside Drover`
        : undefined;
    const withDrift = drift ? { drift } : {};
    const { canonical: _c, ...observed } = seen.observed;
    if (inSync(seen.observed, desired)) return { ok: true, changed: false, observed, ...withDrift, calls: calls() };

    await where.write(meter, rewriteActions(actions, seen.index, target, desired));
    const back = readForward(await where.read(meter), target);
    if (!back.ok) return { ok: false, permanent: false, code: back.code, message: `${where.describe} after the write: ${back.message}`, calls: calls() };
    const { canonical: _c2, ...after } = back.observed;
    if (!inSync(back.observed, desired)) {
      return {
        ok: false,
        permanent: false,
        code: 'ReadBackMismatch',
        message: `${where.describe} holds ${describeWeights(after)} (stickiness ${after.stickinessSeconds}s) after setting ${describeWeights(desired)} (stickiness ${desired.stickinessSeconds}s); a concurrent change? retried next pass`,
        calls: calls(),
      };
    }
    return { ok: true, changed: true, observed: after, ...withDrift, calls: calls() };
  } catch (e) {
    if (!(e instanceof AwsCallError)) throw e;
    const permanent = e.errorClass === 'permanent' || e.errorClass === 'credentials';
    const after = e.attempts > 1 ? ` (after ${e.attempts} attempts)` : '';
    return { ok: false, permanent, code: e.code, message: `${where.describe}: ${e.message}${after}`, calls: calls() };
  }
}
