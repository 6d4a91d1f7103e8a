/**
 * Operator journeys as fixed sequences: every counterexample the model test (journey.model.test.ts)
 * found, shrunk, plus the sequences of issue 11 as reported. Same world, same invariants, same checks
 * per step. Each failed before the fix named in its comment or title (issues 11 and 12); all must pass.
 */
import { describe, it } from 'node:test';
import {
  ActOnRelease,
  AddCluster,
  ClusterOp,
  initialModel,
  KillCluster,
  PauseAgent,
  ReplaceCluster,
  RestoreCluster,
  SetAppEnv,
  SetBrokenArgs,
  SetVersion,
  StartRelease,
  type JourneyCommand,
} from './commands.js';
import { rules, World, type Rule } from './world.js';

/**
 * Runs a fixed sequence with the model's checks (a command whose precondition fails is skipped). `only`
 * names the rules the replay is about, so that another bug met on the way (fixed on another branch)
 * does not hide whether this one is fixed.
 */
async function replay(cmds: JourneyCommand[], only: readonly Rule[] = rules): Promise<void> {
  const world = new World(rules.filter((r) => !only.includes(r)));
  try {
    await world.start();
    const model = initialModel();
    for (const c of cmds) if (c.check(model)) await c.run(model, world);
  } finally {
    await world.stop();
  }
}

describe('operator journeys, replayed (real controllers and agents on a MemoryStore)', () => {
  it('a harmless env change rolls Prod by Prod, never restarting Prods in place', () =>
    replay([new SetAppEnv('b')], ['snapshot', 'oneRollout', 'served', 'healthyKept']),
  );

  it('a template that does not start stops its rollout after the first Prod', () =>
    replay([new SetBrokenArgs(true)], ['oneFailed', 'served', 'healthyKept']),
  );

  it('a release never puts more Prods on a cluster than its capacity', () =>
    replay([new StartRelease('v2')], ['capacity']),
  );

  it('a version change after losing two clusters stays within capacity', () =>
    replay([new KillCluster('tokyo'), new KillCluster('onprem'), new SetVersion('v3')], ['capacity']),
  );

  it('cluster replace after a release moves every Prod, or fails saying why', () =>
    replay([new StartRelease('v2'), new ReplaceCluster('onprem', 'osaka')], ['saysWhy']),
  );

  it('after kill and restore, the fleet uses the restored domain again', () =>
    replay([new KillCluster('osaka'), new RestoreCluster('osaka')], ['spread']),
  );

  it('cluster replace after a rolling version change moves every Prod, or fails saying why', () =>
    replay([new SetVersion('v2'), new ReplaceCluster('osaka', 'tokyo')], ['saysWhy']),
  );

  it('a new cluster in a new domain is used to spread the fleet', () =>
    replay([new AddCluster('kobe', 3)], ['spread']),
  );

  it('a drain of the test Prod\'s cluster first builds a test Prod elsewhere, then moves the test tenant', () =>
    replay([new ClusterOp('onprem', 'drain')], ['served', 'testTenants']),
  );

  it('kill, restore, drain: the drain keeps redundancy and moves every tenant while room exists', () =>
    replay([new KillCluster('osaka'), new RestoreCluster('osaka'), new ClusterOp('onprem', 'drain')], ['redundancy', 'drain', 'served', 'testTenants']),
  );

  it('a paused agent (workloads running) loses no Prod', () =>
    replay([new PauseAgent('tokyo')], ['patience', 'served']),
  );

  // Shrunk by fast-check (PROPERTY_SHRINK=1, seed 702) from
  // [RemoveTenant("t1"), StartRelease("v3"), ActOnRelease("abort"), PauseAgent("onprem"), KillCluster("extra1")].
  it('abort of a succeeded release acts or says why not', () =>
    replay([new StartRelease('v2'), new ActOnRelease('abort')], ['saysWhy']),
  );

  it('abort of a rolled-back release acts or says why not', () =>
    replay([new StartRelease('bad1'), new ActOnRelease('abort')], ['saysWhy']),
  );

  it('rollback of a finished release acts or says why not', () =>
    replay([new StartRelease('v2'), new ActOnRelease('rollback')], ['saysWhy']),
  );
});
