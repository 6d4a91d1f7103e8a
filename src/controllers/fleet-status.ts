/** The Fleet's status as the fleet plan writes it: counts, versions and its four conditions. */
import type { Fleet } from '../api/kinds/fleet.js';
import type { Prod } from '../api/kinds/prod.js';
import type { Shortfall } from '../scheduler/place-prods.js';
import { setCondition } from './conditions.js';
import type { FleetStatus } from './fleet-plan-types.js';
import type { StallReason } from './fleet-rollout.js';

export const fleetConditionReasons = {
  AllProdsReady: 'AllProdsReady',
  ProdsNotReady: 'ProdsNotReady',
  RollingVersion: 'RollingVersion',
  ReleaseActive: 'ReleaseActive',
  Stable: 'Stable',
  Placed: 'Placed',
  Unplaceable: 'Unplaceable',
  InsufficientCapacity: 'InsufficientCapacity',
  RolloutStalled: 'RolloutStalled',
  NotStalled: 'NotStalled',
} as const;

export function fleetStatus(
  fleet: Fleet,
  counted: readonly Prod[],
  s: {
    rolling: boolean;
    releaseActive: boolean;
    unplaceable: Shortfall | undefined;
    nowMs: number;
    templateHash: string;
    updated: number;
    stall: { reason: StallReason; message: string } | undefined;
  },
): FleetStatus {
  const now = new Date(s.nowMs).toISOString();
  const gen = fleet.metadata.generation;
  const ready = counted.filter((p) => p.status?.phase === 'Ready').length;
  const versions: Record<string, number> = {};
  for (const p of counted) {
    const v = p.status?.version ?? p.spec.version;
    versions[v] = (versions[v] ?? 0) + 1;
  }
  const R = fleetConditionReasons;
  let conditions = setCondition(
    fleet.status?.conditions,
    ready >= fleet.spec.prods
      ? { type: 'Available', status: 'True', reason: R.AllProdsReady, message: `${ready} of ${fleet.spec.prods} Prods Ready` }
      : { type: 'Available', status: 'False', reason: R.ProdsNotReady, message: `${ready} of ${fleet.spec.prods} Prods Ready` },
    now,
    gen,
  );
  conditions = setCondition(
    conditions,
    s.releaseActive
      ? { type: 'Progressing', status: 'True', reason: R.ReleaseActive, message: 'a Release is changing this fleet' }
      : s.stall
        ? { type: 'Progressing', status: 'False', reason: R.RolloutStalled, message: s.stall.message }
        : s.rolling
          ? {
              type: 'Progressing',
              status: 'True',
              reason: R.RollingVersion,
              message: `replacing Prods one at a time to template ${s.templateHash} (version ${fleet.spec.version}): ${s.updated} of ${counted.length} done`,
            }
          : { type: 'Progressing', status: 'False', reason: R.Stable, message: '' },
    now,
    gen,
  );
  conditions = setCondition(
    conditions,
    s.stall
      ? { type: 'RolloutStalled', status: 'True', reason: s.stall.reason, message: s.stall.message }
      : { type: 'RolloutStalled', status: 'False', reason: R.NotStalled, message: '' },
    now,
    gen,
  );
  conditions = setCondition(
    conditions,
    s.unplaceable !== undefined
      ? { type: 'Scheduled', status: 'False', reason: s.unplaceable.reason, message: s.unplaceable.message }
      : { type: 'Scheduled', status: 'True', reason: R.Placed, message: '' },
    now,
    gen,
  );
  return {
    ...(gen !== undefined ? { observedGeneration: gen } : {}),
    conditions,
    prods: counted.length,
    readyProds: ready,
    versions,
    templateHash: s.templateHash,
    updatedProds: s.updated,
    ...(s.stall ? { stalledTemplate: s.templateHash } : {}),
    ...(s.unplaceable !== undefined ? { message: s.unplaceable.message } : s.stall ? { message: s.stall.message } : {}),
  };
}
