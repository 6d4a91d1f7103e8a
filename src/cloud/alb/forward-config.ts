/**
 * The forward action of an ALB rule or listener as a migration sees it (pure: read, judge, rewrite).
 *
 * Rules of the rewrite:
 * - Only the forward action changes, and in it only `ForwardConfig`: the legacy group at 100−p, the fleet
 *   group at p (both listed even at weight 0, so a rollback is one weight change), stickiness as asked.
 *   Its `TargetGroupArn` is dropped: ELBv2 accepts it beside a ForwardConfig only when that names the same
 *   single group.
 * - Every other action (authenticate-oidc/cognito before the forward, its `Order`) is passed back as read:
 *   ModifyRule/ModifyListener replace the whole action list. An OIDC action comes back without its client
 *   secret (Describe never returns it), so it is passed back with `UseExistingClientSecret: true`.
 * - A forward naming any target group besides the two given is refused: that rule is not the migration's.
 * - Weights are read as shares: legacy 1 / fleet 1 is 50 %, whatever scale someone wrote by hand.
 */
import type { Action, TargetGroupStickinessConfig } from '@aws-sdk/client-elastic-load-balancing-v2';

export interface ForwardGroups {
  legacyTargetGroupArn: string;
  fleetTargetGroupArn: string;
}

export interface ForwardObserved {
  legacyWeight: number;
  fleetWeight: number;
  /** 0 when stickiness is off. */
  stickinessSeconds: number;
  /** Both groups listed in ForwardConfig with integer weights (as Drover writes them). */
  canonical: boolean;
}

export type ForwardRead = { ok: true; index: number; observed: ForwardObserved } | { ok: false; code: 'NoForwardAction' | 'ForeignTargetGroups'; message: string };

/** ELBv2's default when a rule's stickiness is on and no duration is given (1 hour; 1 s – 7 days). */
export const DEFAULT_STICKINESS_SECONDS = 3600;
export const MAX_STICKINESS_SECONDS = 604_800;

export function readForward(actions: readonly Action[], groups: ForwardGroups): ForwardRead {
  const index = actions.findIndex((a) => a.Type === 'forward');
  const fwd = actions[index];
  if (!fwd) {
    const kinds = actions.map((a) => a.Type ?? '?').join(', ') || 'none';
    return { ok: false, code: 'NoForwardAction', message: `no forward action to weigh (actions: ${kinds}); point the migration at a rule or listener that forwards to the legacy target group` };
  }
  const tuples = fwd.ForwardConfig?.TargetGroups ?? (fwd.TargetGroupArn ? [{ TargetGroupArn: fwd.TargetGroupArn, Weight: 1 }] : []);
  const mine = new Set([groups.legacyTargetGroupArn, groups.fleetTargetGroupArn]);
  const foreign = tuples.map((t) => t.TargetGroupArn ?? '?').filter((arn) => !mine.has(arn));
  if (foreign.length > 0) {
    return {
      ok: false,
      code: 'ForeignTargetGroups',
      message: `the forward action also sends to ${foreign.join(', ')}; Drover only weighs a forward between the legacy and the fleet target group (give a rule of its own to the migration, or remove the other groups)`,
    };
  }
  // A single-group forward without ForwardConfig, or a tuple without Weight, weighs 1 (ELBv2's default).
  const weight = (arn: string) => tuples.filter((t) => t.TargetGroupArn === arn).reduce((s, t) => s + (t.Weight ?? 1), 0);
  const legacyWeight = weight(groups.legacyTargetGroupArn);
  const fleetWeight = weight(groups.fleetTargetGroupArn);
  const sticky = fwd.ForwardConfig?.TargetGroupStickinessConfig;
  const listed = (arn: string) => (fwd.ForwardConfig?.TargetGroups ?? []).filter((t) => t.TargetGroupArn === arn && t.Weight !== undefined).length === 1;
  return {
    ok: true,
    index,
    observed: {
      legacyWeight,
      fleetWeight,
      stickinessSeconds: sticky?.Enabled ? (sticky.DurationSeconds ?? DEFAULT_STICKINESS_SECONDS) : 0,
      canonical: tuples.length === 2 && listed(groups.legacyTargetGroupArn) && listed(groups.fleetTargetGroupArn),
    },
  };
}

/** The fleet's share (0–100) of what the weights send; 0 when nothing is weighted. */
export function fleetShare(o: { legacyWeight: number; fleetWeight: number }): number {
  const total = o.legacyWeight + o.fleetWeight;
  return total === 0 ? 0 : (100 * o.fleetWeight) / total;
}

export interface ForwardDesired {
  legacyWeight: number;
  fleetWeight: number;
  stickinessSeconds: number;
}

/** Weights legacy=100−p, fleet=p; p rounded to a whole percent (ELBv2 weights are integers 0–999). */
export function desiredForward(fleetPercent: number, stickinessSeconds: number | undefined): ForwardDesired {
  const p = Math.round(fleetPercent);
  return { legacyWeight: 100 - p, fleetWeight: p, stickinessSeconds: stickinessSeconds ?? DEFAULT_STICKINESS_SECONDS };
}

export function inSync(o: ForwardObserved, d: ForwardDesired): boolean {
  return o.canonical && o.legacyWeight === d.legacyWeight && o.fleetWeight === d.fleetWeight && o.stickinessSeconds === d.stickinessSeconds;
}

function stickiness(seconds: number): TargetGroupStickinessConfig {
  return seconds > 0 ? { Enabled: true, DurationSeconds: seconds } : { Enabled: false };
}

/** The action list to write back: the forward action rewritten, every other one as read (see the header). */
export function rewriteActions(actions: readonly Action[], index: number, groups: ForwardGroups, d: ForwardDesired): Action[] {
  return actions.map((a, i): Action => {
    if (i === index) {
      const { TargetGroupArn: _single, ForwardConfig: _old, ...rest } = a;
      return {
        ...rest,
        ForwardConfig: {
          TargetGroups: [
            { TargetGroupArn: groups.legacyTargetGroupArn, Weight: d.legacyWeight },
            { TargetGroupArn: groups.fleetTargetGroupArn, Weight: d.fleetWeight },
          ],
          TargetGroupStickinessConfig: stickiness(d.stickinessSeconds),
        },
      };
    }
    if (a.AuthenticateOidcConfig) {
      const { ClientSecret: _secret, ...oidc } = a.AuthenticateOidcConfig;
      return { ...a, AuthenticateOidcConfig: { ...oidc, UseExistingClientSecret: true } };
    }
    return a;
  });
}
