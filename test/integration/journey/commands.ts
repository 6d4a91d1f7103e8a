/**
 * Operator actions of the journey model test, as fast-check async commands. Each command's `toString`
 * is the TypeScript that builds it, so a counterexample fast-check prints can be pasted as a replay.
 *
 * `check` keeps a sequence meaningful (no kill of a dead cluster, no replace onto a cordoned one);
 * `run` performs the action through the same library functions the CLI calls, waits until the control
 * plane settles, then asserts the invariants (World.checkSettled and every write's checks) and that the
 * command acted or said why not.
 */
import assert from 'node:assert/strict';
import type fc from 'fast-check';
import type { Cluster } from '../../../src/api/kinds/cluster.js';
import type { Fleet } from '../../../src/api/kinds/fleet.js';
import type { Prod } from '../../../src/api/kinds/prod.js';
import { ReleaseSpec, type Release } from '../../../src/api/kinds/release.js';
import { actOnRelease } from '../../../src/release/operations.js';
import { isDroverError } from '../../../src/errors.js';
import { setClusterState } from '../../../src/lifecycle/cluster-ops.js';
import { replaceCluster } from '../../../src/lifecycle/replace.js';
import { mutate } from '../../../src/release/successor.js';
import { waitFor } from '../../helpers/wait-for.js';
import { FLEET, GRACE_MS, initialClusters, initialFleet, initialTenants, tenantDoc, type World } from './world.js';

export interface Model {
  clusters: Map<string, { domain: string; capacity: number; alive: boolean; cordoned: boolean }>;
  tenants: Map<string, { redundancy: 1 | 2; test: boolean }>;
  prods: number;
  /** Releases created so far, newest last. */
  releases: string[];
  added: number;
}

export function initialModel(): Model {
  return {
    clusters: new Map(initialClusters.map((c) => [c.name, { domain: c.domain, capacity: c.capacity, alive: true, cordoned: false }])),
    tenants: new Map(initialTenants.map((t) => [t.name, { redundancy: t.redundancy, test: t.test }])),
    prods: initialFleet.prods,
    releases: [],
    added: 0,
  };
}

export type JourneyCommand = fc.AsyncCommand<Model, World>;

/** Settles, then fails with every invariant the step broke (at any write, or once settled). */
async function settleAndCheck(w: World, step: string): Promise<void> {
  await w.settle();
  w.checkSettled();
  const v = w.takeViolations();
  if (v.length > 0) {
    const errs = w.controllerErrors.slice(-5);
    assert.fail(`after ${step}:\n  - ${[...new Set(v)].join('\n  - ')}${errs.length > 0 ? `\n  controller errors (last 5):\n    ${errs.join('\n    ')}` : ''}`);
  }
}

async function editFleet(w: World, fn: (f: Fleet) => void): Promise<void> {
  const f = await mutate<Fleet>(w.store, 'Fleet', FLEET, fn);
  assert.ok(f, 'the fleet exists');
}

const q = JSON.stringify;

// ---- Fleet changes ----------------------------------------------------------------------------

/** A harmless template change (an env variable of the app), as `drover apply` of an edited fleet. */
export class SetAppEnv implements JourneyCommand {
  constructor(readonly value: string) {}
  check = () => true;
  async run(_m: Model, w: World): Promise<void> {
    await editFleet(w, (f) => void (f.spec.app.env = { ...f.spec.app.env, GREETING: this.value }));
    await settleAndCheck(w, this.toString());
  }
  toString = () => `new SetAppEnv(${q(this.value)})`;
}

/** A template whose app does not start (wrong args), or its fix. */
export class SetBrokenArgs implements JourneyCommand {
  constructor(readonly broken: boolean) {}
  check = () => true;
  async run(_m: Model, w: World): Promise<void> {
    await editFleet(w, (f) => void (f.spec.app.args = this.broken ? ['server.mjs', '--broken'] : ['server.mjs']));
    await settleAndCheck(w, this.toString());
  }
  toString = () => `new SetBrokenArgs(${this.broken})`;
}

/** A version change with no Release: the fleet controller rolls it one Prod at a time. */
export class SetVersion implements JourneyCommand {
  constructor(readonly version: string) {}
  check = () => true;
  async run(_m: Model, w: World): Promise<void> {
    await editFleet(w, (f) => void (f.spec.version = this.version));
    await settleAndCheck(w, this.toString());
  }
  toString = () => `new SetVersion(${q(this.version)})`;
}

export class SetProds implements JourneyCommand {
  constructor(readonly prods: number) {}
  check = () => true;
  async run(m: Model, w: World): Promise<void> {
    await editFleet(w, (f) => void (f.spec.prods = this.prods));
    m.prods = this.prods;
    await settleAndCheck(w, this.toString());
  }
  toString = () => `new SetProds(${this.prods})`;
}

// ---- Releases -----------------------------------------------------------------------------------

export class StartRelease implements JourneyCommand {
  constructor(readonly version: string) {}
  check = () => true;
  async run(m: Model, w: World): Promise<void> {
    const name = `${FLEET}-r${m.releases.length + 1}`;
    // No edge stats in this world: gates are none (pass), a bad version fails by crashing at start.
    const spec = ReleaseSpec.parse({ fleet: FLEET, version: this.version, maxParallel: 2, bake: '50ms', gates: [] });
    await w.store.create<Release>({ apiVersion: 'drover.dev/v1alpha1', kind: 'Release', metadata: { name, labels: {}, annotations: {}, finalizers: [], ownerReferences: [] }, spec });
    m.releases.push(name);
    await settleAndCheck(w, this.toString());
  }
  toString = () => `new StartRelease(${q(this.version)})`;
}

/** `drover release abort|rollback` of the newest release: it acts, or says why not. */
export class ActOnRelease implements JourneyCommand {
  constructor(readonly action: 'abort' | 'rollback') {}
  check = (m: Readonly<Model>) => m.releases.length > 0;
  async run(m: Model, w: World): Promise<void> {
    const name = m.releases.at(-1)!;
    const before = await w.store.get('Release', name);
    let refused: string | undefined;
    try {
      await actOnRelease(w.store, name, this.action);
    } catch (e) {
      if (!isDroverError(e)) throw e;
      refused = e.message;
    }
    await w.settle();
    const after = await w.store.get('Release', name);
    const acted = after?.status?.phase !== before?.status?.phase;
    const said = (after?.status?.decisions.length ?? 0) > (before?.status?.decisions.length ?? 0) || (after?.status?.message ?? '') !== (before?.status?.message ?? '');
    if (refused === undefined && !acted && !said) {
      w.violate('saysWhy', `release ${this.action} of ${name} (phase ${before?.status?.phase ?? 'Pending'}) did nothing and said nothing`);
    }
    await settleAndCheck(w, this.toString());
  }
  toString = () => `new ActOnRelease(${q(this.action)})`;
}

// ---- Clusters -----------------------------------------------------------------------------------

async function phaseIs(w: World, name: string, phase: 'Ready' | 'NotReady'): Promise<void> {
  await waitFor(`cluster ${name} to be ${phase}`, () => w.mirror.get<Cluster>('Cluster', name)?.status?.phase === phase, { timeoutMs: GRACE_MS * 10 });
}

/** `drover chaos kill-cluster`: agent and workloads die together. */
export class KillCluster implements JourneyCommand {
  constructor(readonly cluster: string) {}
  check = (m: Readonly<Model>) => m.clusters.get(this.cluster)?.alive === true;
  async run(m: Model, w: World): Promise<void> {
    await w.sim.kill(this.cluster);
    m.clusters.get(this.cluster)!.alive = false;
    await phaseIs(w, this.cluster, 'NotReady');
    await settleAndCheck(w, this.toString());
  }
  toString = () => `new KillCluster(${q(this.cluster)})`;
}

/**
 * The agent of a cluster stops answering for twice the heartbeat grace while its workloads keep running
 * (as SIGSTOP/SIGCONT, a network blip), then comes back. Unreachable is not gone: no Prod of it may be
 * retired or deleted before an eviction timeout far longer than this (issue 12).
 */
export class PauseAgent implements JourneyCommand {
  constructor(readonly cluster: string) {}
  check = (m: Readonly<Model>) => m.clusters.get(this.cluster)?.alive === true;
  async run(_m: Model, w: World): Promise<void> {
    const before = w.prods().filter((p) => p.spec.cluster === this.cluster && w.serving(p));
    const paused = w.sim.pause(this.cluster, GRACE_MS * 2);
    await phaseIs(w, this.cluster, 'NotReady');
    await paused;
    await phaseIs(w, this.cluster, 'Ready');
    await w.settle();
    const lost = before.filter((p) => {
      const now = w.mirror.get<Prod>('Prod', p.metadata.name);
      return !now || now.spec.retire;
    });
    if (lost.length > 0) w.violate('patience', `a ${GRACE_MS * 2} ms pause of ${this.cluster}'s agent (workloads running) destroyed ${lost.map((p) => p.metadata.name).join(', ')}`);
    await settleAndCheck(w, this.toString());
  }
  toString = () => `new PauseAgent(${q(this.cluster)})`;
}

/** `drover chaos restore`: a new agent with no workloads. */
export class RestoreCluster implements JourneyCommand {
  constructor(readonly cluster: string) {}
  check = (m: Readonly<Model>) => m.clusters.get(this.cluster)?.alive === false;
  async run(m: Model, w: World): Promise<void> {
    await w.sim.restore(this.cluster);
    m.clusters.get(this.cluster)!.alive = true;
    await phaseIs(w, this.cluster, 'Ready');
    await settleAndCheck(w, this.toString());
  }
  toString = () => `new RestoreCluster(${q(this.cluster)})`;
}

export class ClusterOp implements JourneyCommand {
  constructor(
    readonly cluster: string,
    readonly op: 'cordon' | 'uncordon' | 'drain',
  ) {}
  check = (m: Readonly<Model>) => m.clusters.has(this.cluster);
  async run(m: Model, w: World): Promise<void> {
    await setClusterState(w.store, this.cluster, this.op);
    m.clusters.get(this.cluster)!.cordoned = this.op !== 'uncordon';
    await settleAndCheck(w, this.toString());
    if (this.op === 'drain') {
      const left = w.tenants().filter((t) => (t.status?.prods ?? []).some((p) => w.mirror.get<Prod>('Prod', p)?.spec.cluster === this.cluster));
      const elsewhere = w.prods().some((p) => p.spec.cluster !== this.cluster && w.serving(p));
      if (left.length > 0 && elsewhere) w.violate('drain', `drain of ${this.cluster}: tenants ${left.map((t) => t.metadata.name).join(', ')} still on it though other Prods serve`);
      await settleAndCheck(w, `${this.toString()} (drain report)`);
    }
  }
  toString = () => `new ClusterOp(${q(this.cluster)}, ${q(this.op)})`;
}

/** A new cluster joins (as `drover agent --cluster NAME`). */
export class AddCluster implements JourneyCommand {
  constructor(
    readonly domain: string,
    readonly capacity: number,
  ) {}
  check = (m: Readonly<Model>) => m.added < 2;
  async run(m: Model, w: World): Promise<void> {
    const name = `extra${++m.added}`;
    await w.sim.add(name, this.domain, this.capacity);
    m.clusters.set(name, { domain: this.domain, capacity: this.capacity, alive: true, cordoned: false });
    await phaseIs(w, name, 'Ready');
    await settleAndCheck(w, this.toString());
  }
  toString = () => `new AddCluster(${q(this.domain)}, ${this.capacity})`;
}

/** A cluster goes away for good: its agent dies and its Cluster object is deleted. */
export class RemoveCluster implements JourneyCommand {
  constructor(readonly cluster: string) {}
  check = (m: Readonly<Model>) => m.clusters.has(this.cluster) && m.clusters.size > 2;
  async run(m: Model, w: World): Promise<void> {
    await w.sim.kill(this.cluster);
    await w.store.delete('Cluster', this.cluster);
    m.clusters.delete(this.cluster);
    await settleAndCheck(w, this.toString());
  }
  toString = () => `new RemoveCluster(${q(this.cluster)})`;
}

/** `drover cluster replace OLD --with NEW`: moves every Prod, or fails saying why. */
export class ReplaceCluster implements JourneyCommand {
  constructor(
    readonly from: string,
    readonly to: string,
  ) {}
  check = (m: Readonly<Model>) => {
    const a = m.clusters.get(this.from);
    const b = m.clusters.get(this.to);
    return this.from !== this.to && a?.alive === true && b?.alive === true && !b.cordoned;
  };
  async run(m: Model, w: World): Promise<void> {
    const had = (await w.store.list('Prod')).items.filter((p) => p.spec.cluster === this.from && !p.spec.retire && p.status?.phase !== 'Retired');
    let said: string | undefined;
    let moved = 0;
    let ok = false;
    try {
      const r = await replaceCluster(w.store, this.from, this.to, { timeoutMs: 10_000, pollMs: 20 });
      moved = r.moved.length;
      ok = r.ok;
      said = r.message;
    } catch (e) {
      if (!isDroverError(e)) throw e;
      said = e.message;
    }
    m.clusters.get(this.from)!.cordoned = true;
    if (ok && moved < had.length) w.violate('saysWhy', `cluster replace ${this.from} → ${this.to} reported success but moved ${moved} of ${had.length} Prods (${had.map((p) => p.metadata.name).join(', ')}): "${said ?? ''}"`);
    await settleAndCheck(w, this.toString());
  }
  toString = () => `new ReplaceCluster(${q(this.from)}, ${q(this.to)})`;
}

// ---- Tenants ------------------------------------------------------------------------------------

export class AddTenant implements JourneyCommand {
  constructor(
    readonly name: string,
    readonly redundancy: 1 | 2,
    readonly test: boolean,
  ) {}
  check = (m: Readonly<Model>) => !m.tenants.has(this.name);
  async run(m: Model, w: World): Promise<void> {
    await w.store.create(tenantDoc({ name: this.name, redundancy: this.redundancy, test: this.test }));
    m.tenants.set(this.name, { redundancy: this.redundancy, test: this.test });
    await settleAndCheck(w, this.toString());
  }
  toString = () => `new AddTenant(${q(this.name)}, ${this.redundancy}, ${this.test})`;
}

export class RemoveTenant implements JourneyCommand {
  constructor(readonly name: string) {}
  check = (m: Readonly<Model>) => m.tenants.has(this.name);
  async run(m: Model, w: World): Promise<void> {
    await w.store.delete('Tenant', this.name);
    m.tenants.delete(this.name);
    await settleAndCheck(w, this.toString());
  }
  toString = () => `new RemoveTenant(${q(this.name)})`;
}
