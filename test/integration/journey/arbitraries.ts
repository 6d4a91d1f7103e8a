/** The random operator actions of the journey model test (names match world.ts's initial world). */
import fc from 'fast-check';
import {
  ActOnRelease,
  AddCluster,
  AddTenant,
  ClusterOp,
  KillCluster,
  PauseAgent,
  RemoveCluster,
  RemoveTenant,
  ReplaceCluster,
  RestoreCluster,
  SetAppEnv,
  SetBrokenArgs,
  SetProds,
  SetVersion,
  StartRelease,
  type JourneyCommand,
} from './commands.js';

const clusterName = fc.constantFrom('tokyo', 'osaka', 'onprem', 'extra1', 'extra2');
const version = fc.constantFrom('v2', 'v3', 'v4', 'bad1');

export const journeyCommands: fc.Arbitrary<JourneyCommand>[] = [
  fc.constantFrom('a', 'b', 'c').map((v) => new SetAppEnv(v)),
  fc.boolean().map((b) => new SetBrokenArgs(b)),
  version.map((v) => new SetVersion(v)),
  fc.integer({ min: 1, max: 12 }).map((n) => new SetProds(n)),
  version.map((v) => new StartRelease(v)),
  version.map((v) => new StartRelease(v)),
  fc.constantFrom('abort' as const, 'rollback' as const).map((a) => new ActOnRelease(a)),
  clusterName.map((c) => new KillCluster(c)),
  clusterName.map((c) => new RestoreCluster(c)),
  clusterName.map((c) => new PauseAgent(c)),
  fc.tuple(clusterName, fc.constantFrom('cordon' as const, 'uncordon' as const, 'drain' as const)).map(([c, op]) => new ClusterOp(c, op)),
  fc.tuple(fc.constantFrom('tokyo', 'osaka', 'onprem', 'kobe'), fc.integer({ min: 1, max: 4 })).map(([d, n]) => new AddCluster(d, n)),
  clusterName.map((c) => new RemoveCluster(c)),
  fc.tuple(clusterName, clusterName).map(([a, b]) => new ReplaceCluster(a, b)),
  fc.tuple(fc.constantFrom('t1', 't2', 'qa2'), fc.constantFrom(1 as const, 2 as const)).map(([n, r]) => new AddTenant(n, r, n.startsWith('qa'))),
  fc.constantFrom('shop', 'bigmart', 'qa', 't1').map((n) => new RemoveTenant(n)),
];
