/**
 * A CloudTraffic's desired cloud state from its fleet's plan, whatever the provider. Pure and free of the
 * AWS SDK at run time (the CLI's `drover cloud diff` uses it).
 */
import type { Cluster } from '../api/kinds/cluster.js';
import type { CloudState, CloudTrafficSpec } from '../api/kinds/cloud-traffic.js';
import type { TrafficPlanSpec } from '../api/kinds/traffic-plan.js';
import { compileGlobalAccelerator, gaDesiredState, type DesiredGa } from './global-accelerator/compile.js';
import { compileRoute53, route53DesiredState, type DesiredRoute53 } from './route53/compile.js';
import { compileTargetGroup, targetGroupDesiredState, type DesiredTargetGroup } from './target-group/compile.js';

export type CompiledCloud =
  | { provider: 'globalAccelerator'; state: CloudState; notes: string[]; failStatic: boolean; ga: DesiredGa }
  | { provider: 'route53'; state: CloudState; notes: string[]; failStatic: boolean; r53: DesiredRoute53 }
  | { provider: 'targetGroup'; state: CloudState; notes: string[]; failStatic: boolean; tg: DesiredTargetGroup };

export function compileCloud(spec: CloudTrafficSpec, plan: TrafficPlanSpec, clusters: readonly Cluster[]): CompiledCloud {
  if (spec.globalAccelerator) {
    const ga = compileGlobalAccelerator(spec.globalAccelerator, plan, clusters);
    return { provider: 'globalAccelerator', state: gaDesiredState(ga), notes: ga.notes, failStatic: ga.failStatic, ga };
  }
  if (spec.route53) {
    const r53 = compileRoute53(spec.route53, plan, clusters);
    return { provider: 'route53', state: route53DesiredState(r53), notes: r53.notes, failStatic: r53.failStatic, r53 };
  }
  if (spec.targetGroup) {
    const tg = compileTargetGroup(spec.targetGroup, plan, clusters);
    return { provider: 'targetGroup', state: targetGroupDesiredState(tg), notes: tg.notes, failStatic: tg.failStatic, tg };
  }
  // The schema requires exactly one provider; an object that bypassed it steers nothing.
  return { provider: 'targetGroup', state: {}, notes: ['no provider set'], failStatic: false, tg: { targets: new Map(), notes: [], failStatic: false } };
}
