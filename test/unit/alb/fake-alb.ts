/**
 * A stateful ALB behind aws-sdk-client-mock, answering DescribeRules, DescribeListeners, ModifyRule and
 * ModifyListener with the shapes of the ELBv2 API reference, and refusing what ELBv2 refuses:
 * ModifyRule on a listener's default rule (OperationNotPermitted: "use ModifyListener"), a forward action
 * whose TargetGroupArn and ForwardConfig name different groups (ValidationError), weights outside 0–999,
 * stickiness on without a duration in 1–604800 s, an unknown rule or listener (RuleNotFound,
 * ListenerNotFound). A listener's default actions are its default rule's actions, as in ELBv2.
 */
import {
  DescribeListenersCommand,
  DescribeRulesCommand,
  ElasticLoadBalancingV2Client,
  ModifyListenerCommand,
  ModifyRuleCommand,
  type Action,
  type Listener,
  type Rule,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { mockClient } from 'aws-sdk-client-mock';

export const ACCOUNT = '123456789012';
export const REGION = 'eu-west-1';
const base = `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}`;
export const LB = 'app/game-alb/50dc6c495c0c9188';
export const LISTENER = `${base}:listener/${LB}/f2f7dc8efc522ab2`;
export const RULE = `${base}:listener-rule/${LB}/f2f7dc8efc522ab2/9683b2d02a6cabee`;
export const DEFAULT_RULE = `${base}:listener-rule/${LB}/f2f7dc8efc522ab2/0d2b5e1e3b6ad4a1`;
export const LEGACY_TG = `${base}:targetgroup/legacy-ec2/73e2d6bc24d8a067`;
export const FLEET_TG = `${base}:targetgroup/drover-eks/3bb63f11dfb0faf9`;
export const OTHER_TG = `${base}:targetgroup/batch-api/09aa4b13ad1c3e4f`;

export function awsError(name: string, message: string, httpStatusCode = 400, fault: 'client' | 'server' = 'client'): Error {
  return Object.assign(new Error(message), { name, $fault: fault, $metadata: { httpStatusCode, requestId: 'req-1' } });
}

/** A forward to one group as DescribeRules shows it: TargetGroupArn and a ForwardConfig of that one group. */
export function forwardTo(arn: string): Action {
  return { Type: 'forward', TargetGroupArn: arn, Order: 1, ForwardConfig: { TargetGroups: [{ TargetGroupArn: arn, Weight: 1 }], TargetGroupStickinessConfig: { Enabled: false } } };
}

export function weighted(groups: [string, number][], stickySeconds = 0, order = 1): Action {
  return {
    Type: 'forward',
    Order: order,
    ForwardConfig: {
      TargetGroups: groups.map(([TargetGroupArn, Weight]) => ({ TargetGroupArn, Weight })),
      TargetGroupStickinessConfig: stickySeconds > 0 ? { Enabled: true, DurationSeconds: stickySeconds } : { Enabled: false },
    },
  };
}

export const CONDITIONS = [
  { Field: 'host-header', Values: ['play.example.com'], HostHeaderConfig: { Values: ['play.example.com'] } },
  { Field: 'path-pattern', Values: ['/api/*'], PathPatternConfig: { Values: ['/api/*'] } },
];

function checkActions(actions: readonly Action[] | undefined): void {
  for (const a of actions ?? []) {
    if (a.Type !== 'forward') continue;
    const tgs = a.ForwardConfig?.TargetGroups ?? [];
    if (a.TargetGroupArn && a.ForwardConfig && (tgs.length !== 1 || tgs[0]?.TargetGroupArn !== a.TargetGroupArn)) {
      throw awsError('ValidationError', 'You cannot specify multiple target groups in a forward action when you specify TargetGroupArn');
    }
    for (const t of tgs) if ((t.Weight ?? 1) < 0 || (t.Weight ?? 1) > 999) throw awsError('ValidationError', 'Target group weight must be between 0 and 999');
    const s = a.ForwardConfig?.TargetGroupStickinessConfig;
    if (s?.Enabled && (s.DurationSeconds === undefined || s.DurationSeconds < 1 || s.DurationSeconds > 604_800)) {
      throw awsError('ValidationError', 'Target group stickiness duration must be between 1 and 604800 seconds');
    }
  }
}

/** As ELBv2 stores a forward it was given: one group → TargetGroupArn is filled in too. */
function stored(actions: readonly Action[]): Action[] {
  return actions.map((a) => {
    const tgs = a.ForwardConfig?.TargetGroups ?? [];
    const only = tgs[0];
    return a.Type === 'forward' && tgs.length === 1 && only?.TargetGroupArn ? { ...structuredClone(a), TargetGroupArn: only.TargetGroupArn } : structuredClone(a);
  });
}

export class FakeAlb {
  readonly client = new ElasticLoadBalancingV2Client({ region: REGION, credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
  readonly mock = mockClient(this.client);
  readonly rules = new Map<string, Rule>();
  readonly listeners = new Map<string, Listener>();

  constructor(ruleActions: Action[] = [forwardTo(LEGACY_TG)], listenerActions: Action[] = [forwardTo(LEGACY_TG)]) {
    this.rules.set(RULE, { RuleArn: RULE, Priority: '10', Conditions: structuredClone(CONDITIONS), Actions: ruleActions, IsDefault: false });
    this.rules.set(DEFAULT_RULE, { RuleArn: DEFAULT_RULE, Priority: 'default', Conditions: [], Actions: listenerActions, IsDefault: true });
    this.listeners.set(LISTENER, {
      ListenerArn: LISTENER,
      LoadBalancerArn: `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:loadbalancer/${LB}`,
      Port: 443,
      Protocol: 'HTTPS',
      Certificates: [{ CertificateArn: `arn:aws:acm:${REGION}:${ACCOUNT}:certificate/5c9d6e0f` }],
      SslPolicy: 'ELBSecurityPolicy-TLS13-1-2-2021-06',
      DefaultActions: listenerActions,
    });

    this.mock.on(DescribeRulesCommand).callsFake((input: { RuleArns?: string[] }) => {
      const rules = (input.RuleArns ?? []).map((arn) => {
        const r = this.rules.get(arn);
        if (!r) throw awsError('RuleNotFoundException', 'One or more rules not found');
        return structuredClone(r);
      });
      return { Rules: rules };
    });
    this.mock.on(DescribeListenersCommand).callsFake((input: { ListenerArns?: string[] }) => {
      const ls = (input.ListenerArns ?? []).map((arn) => {
        const l = this.listeners.get(arn);
        if (!l) throw awsError('ListenerNotFoundException', 'One or more listeners not found');
        return structuredClone(l);
      });
      return { Listeners: ls };
    });
    this.mock.on(ModifyRuleCommand).callsFake((input: { RuleArn: string; Actions?: Action[]; Conditions?: unknown[] }) => {
      const r = this.rules.get(input.RuleArn);
      if (!r) throw awsError('RuleNotFoundException', 'One or more rules not found');
      if (r.IsDefault) throw awsError('OperationNotPermittedException', 'Default rule cannot be modified. Use ModifyListener to modify the default actions.');
      checkActions(input.Actions);
      if (input.Actions) r.Actions = stored(input.Actions);
      if (input.Conditions) r.Conditions = structuredClone(input.Conditions) as Rule['Conditions'];
      return { Rules: [structuredClone(r)] };
    });
    this.mock.on(ModifyListenerCommand).callsFake((input: { ListenerArn: string; DefaultActions?: Action[] }) => {
      const l = this.listeners.get(input.ListenerArn);
      if (!l) throw awsError('ListenerNotFoundException', 'One or more listeners not found');
      checkActions(input.DefaultActions);
      if (input.DefaultActions) {
        l.DefaultActions = stored(input.DefaultActions);
        this.rules.get(DEFAULT_RULE)!.Actions = stored(input.DefaultActions);
      }
      return { Listeners: [structuredClone(l)] };
    });
  }

  /** Someone changes the rule by hand (console, CLI). */
  setRuleActions(actions: Action[]): void {
    this.rules.get(RULE)!.Actions = actions;
  }

  ruleForward(): Action | undefined {
    return this.rules.get(RULE)?.Actions?.find((a) => a.Type === 'forward');
  }

  listenerForward(): Action | undefined {
    return this.listeners.get(LISTENER)?.DefaultActions?.find((a) => a.Type === 'forward');
  }

  /** Operation names in call order, e.g. ['DescribeRules', 'ModifyRule', 'DescribeRules']. */
  calls(): string[] {
    return this.mock.calls().map((c) => (c.args[0] as { constructor: { name: string } }).constructor.name.replace(/Command$/, ''));
  }
}
