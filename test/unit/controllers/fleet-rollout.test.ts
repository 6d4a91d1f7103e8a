// Template revisions and capacity in the fleet controller's pure plan: sequences of passes over a
// simulated store and agents, checking after every pass what must hold whatever the order of events.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Cluster } from '../../../src/api/kinds/cluster.js';
import type { Fleet } from '../../../src/api/kinds/fleet.js';
import type { Prod } from '../../../src/api/kinds/prod.js';
import { validateResource } from '../../../src/api/validate.js';
import { fleetTemplate, prodTemplate } from '../../../src/api/template.js';
import { planFleet, type FleetAction, type FleetObservation, type FleetPlan } from '../../../src/controllers/fleet-plan.js';
import { isDroverError } from '../../../src/errors.js';
import { cluster, fleet } from '../../helpers/fixtures.js';

const T = Date.UTC(2026, 0, 1);
const ready = (c: Cluster): Cluster => ({ ...c, status: { phase: 'Ready', prods: 0, conditions: [] } });
const threeDomains = (capacity = 4) => ['a', 'b', 'c'].map((d) => ready(cluster(d, { spec: { domain: d, capacity: { prods: capacity } } })));
const web = (spec: Record<string, unknown> = {}): Fleet => {
  const f = fleet('web', { spec: { prods: 6, testProds: 1, ...spec } });
  return { ...f, metadata: { ...f.metadata, uid: 'uid-1', generation: 1 } };
};
const withEnv = (f: Fleet, env: Record<string, string>): Fleet => ({ ...f, spec: { ...f.spec, app: { ...f.spec.app, env } } });
const withArgs = (f: Fleet, args: string[]): Fleet => ({ ...f, spec: { ...f.spec, app: { ...f.spec.app, args } } });

/** A store and agents in memory: executes a plan's actions the way the controller and agents would. */
class Sim {
  prods: Prod[] = [];
  events: string[] = [];
  private n = 0;
  /** Which Prods' workloads fail to start (by their template). */
  fails: (p: Prod) => string | undefined = () => undefined;
  nowMs = T;

  constructor(
    public fleet: Fleet,
    public clusters: Cluster[],
    public otherFleetsOnCluster: Map<string, number> = new Map(),
  ) {}

  observe(extra: Partial<FleetObservation> = {}): FleetObservation {
    return {
      fleetName: 'web',
      fleet: this.fleet,
      clusters: this.clusters,
      prods: this.prods,
      releaseActive: false,
      nowMs: this.nowMs,
      retireTimeoutMs: 60_000,
      otherFleetsOnCluster: this.otherFleetsOnCluster,
      ...extra,
    };
  }

  /** One fleet-controller pass: plan, execute, write status. */
  pass(extra: Partial<FleetObservation> = {}): FleetPlan {
    const plan = planFleet(this.observe(extra));
    for (const a of plan.actions) this.execute(a);
    if (plan.status) this.fleet = { ...this.fleet, status: plan.status };
    for (const e of plan.events ?? []) this.events.push(`${e.reason}: ${e.message}`);
    return plan;
  }

  /** The agents' turn: new Prods start (Ready, or Failed when their template fails), retiring ones stop. */
  agents(): void {
    this.prods = this.prods.map((p) => {
      const phase = p.status?.phase ?? 'Pending';
      if (p.spec.retire) return phase === 'Retired' ? p : { ...p, status: { ...p.status!, phase: 'Retired' } };
      if (phase !== 'Pending' && phase !== 'Provisioning') return p;
      const err = this.fails(p);
      return { ...p, status: { ...p.status!, phase: err ? 'Failed' : 'Ready', version: p.spec.version, ...(err ? { message: err } : {}) } };
    });
  }

  /** Passes and agent turns until a pass finds nothing to do on a state the agents had nothing to do on. */
  settle(max = 60, extra: Partial<FleetObservation> = {}, check: () => void = () => {}): void {
    for (let i = 0; i < max; i++) {
      const before = JSON.stringify(this.prods);
      const plan = this.pass(extra);
      check();
      this.agents();
      check();
      if (plan.actions.length === 0 && JSON.stringify(this.prods) === before) return;
    }
    assert.fail(`not settled after ${max} passes`);
  }

  execute(a: FleetAction): void {
    const at = (name: string) => this.prods.findIndex((p) => p.metadata.name === name);
    switch (a.action) {
      case 'create': {
        const p: Prod = {
          apiVersion: 'drover.dev/v1alpha1',
          kind: 'Prod',
          metadata: {
            name: `web-${++this.n}`,
            labels: {},
            annotations: {},
            finalizers: [],
            ownerReferences: [{ apiVersion: 'drover.dev/v1alpha1', kind: 'Fleet', name: 'web', uid: 'uid-1' }],
            creationTimestamp: new Date(this.nowMs).toISOString(),
          },
          spec: {
            fleet: 'web',
            cluster: a.cluster,
            version: a.version,
            template: a.template,
            role: a.role,
            retire: false,
            env: {},
            takeover: false,
            ...(a.replaces ? { replaces: a.replaces } : {}),
          },
          status: { phase: 'Pending', restarts: 0, warmupPassed: 0, conditions: [] },
        };
        this.prods.push(p);
        return;
      }
      case 'retire': {
        const i = at(a.prod.metadata.name);
        const p = this.prods[i]!;
        this.prods[i] = { ...p, metadata: { ...p.metadata, annotations: { 'drover.dev/retire-requested-at': new Date(this.nowMs).toISOString() } }, spec: { ...p.spec, retire: true } };
        return;
      }
      case 'delete':
        this.prods = this.prods.filter((p) => p.metadata.name !== a.prod.metadata.name);
        return;
      case 'takeover': {
        const i = at(a.prod.metadata.name);
        this.prods[i] = { ...this.prods[i]!, spec: { ...this.prods[i]!.spec, takeover: true } };
        return;
      }
      case 'snapshot': {
        const i = at(a.prod.metadata.name);
        this.prods[i] = { ...this.prods[i]!, spec: { ...this.prods[i]!.spec, template: a.template } };
        return;
      }
    }
  }

  live(): Prod[] {
    return this.prods.filter((p) => !p.spec.retire);
  }
  /** Successors in flight: live Prods replacing a live Prod. */
  inFlight(): Prod[] {
    const names = new Set(this.live().map((p) => p.metadata.name));
    return this.live().filter((p) => p.spec.replaces !== undefined && names.has(p.spec.replaces));
  }
  serving(): Prod[] {
    return this.live().filter((p) => p.status?.phase === 'Ready');
  }
  occupancy(): Map<string, number> {
    const m = new Map(this.otherFleetsOnCluster);
    for (const p of this.prods) if (p.status?.phase !== 'Retired') m.set(p.spec.cluster, (m.get(p.spec.cluster) ?? 0) + 1);
    return m;
  }
  assertWithinCapacity(): void {
    for (const c of this.clusters) {
      const used = this.occupancy().get(c.metadata.name) ?? 0;
      assert.ok(used <= c.spec.capacity.prods, `cluster ${c.metadata.name} holds ${used} Prods, capacity ${c.spec.capacity.prods}`);
    }
  }
  condition(type: string) {
    return this.fleet.status?.conditions.find((c) => c.type === type);
  }
}

function started(f = web(), clusters = threeDomains()): Sim {
  const sim = new Sim(f, clusters);
  sim.settle();
  assert.equal(sim.live().length, 6);
  assert.equal(sim.serving().length, 6);
  return sim;
}

describe('template revisions (fleet plan rule 4)', () => {
  it('rolls an env change one Prod at a time: never two successors, never fewer than 6 serving, test Prod first', () => {
    const sim = started();
    const before = new Set(sim.live().map((p) => p.metadata.name));
    sim.fleet = withEnv(sim.fleet, { GREETING: 'hi' });
    const first = sim.pass();
    const creates = first.actions.filter((a) => a.action === 'create');
    assert.equal(creates.length, 1, 'exactly one successor');
    assert.equal(creates[0]?.action === 'create' && creates[0].reason, 'TemplateChange');
    assert.equal(creates[0]?.action === 'create' && creates[0].role, 'test', 'the test Prod rolls first');
    assert.equal(first.status?.conditions.find((c) => c.type === 'Progressing')?.status, 'True');
    sim.settle(100, {}, () => {
      assert.ok(sim.inFlight().length <= 1, `successors in flight: ${sim.inFlight().map((p) => p.metadata.name).join(', ')}`);
      assert.ok(sim.serving().length >= 6, `only ${sim.serving().length} Prods serving`);
      sim.assertWithinCapacity();
    });
    const want = fleetTemplate(sim.fleet).hash;
    assert.equal(sim.live().length, 6);
    assert.ok(sim.live().every((p) => p.spec.template?.hash === want && !before.has(p.metadata.name)), 'every Prod replaced by one on the new template');
    assert.equal(sim.fleet.status?.updatedProds, 6);
    assert.equal(sim.fleet.status?.templateHash, want);
    assert.equal(sim.condition('Progressing')?.reason, 'Stable');
  });

  it('a template whose first successor fails stops the rollout there, with a condition and an event; the rest keep serving', () => {
    const sim = started();
    const oldHash = fleetTemplate(sim.fleet).hash;
    sim.fleet = withArgs(sim.fleet, ['server.js']);
    const bad = fleetTemplate(sim.fleet).hash;
    sim.fails = (p) => (p.spec.template?.hash === bad ? 'exited with code 1 after 40ms: Cannot find module server.js' : undefined);
    sim.settle(30);
    assert.equal(sim.live().length, 6, 'the failed successor is retired, nobody else');
    assert.ok(sim.live().every((p) => p.spec.template?.hash === oldHash), 'every Prod still on the old template');
    assert.equal(sim.serving().length, 6);
    assert.equal(sim.prods.filter((p) => p.spec.template?.hash === bad).length, 0, 'one successor was tried, then deleted once Retired');
    const stalled = sim.condition('RolloutStalled');
    assert.equal(stalled?.status, 'True');
    assert.equal(stalled?.reason, 'SuccessorFailed');
    assert.match(stalled?.message ?? '', /successor web-\d+ of web-\d+ on cluster \w failed: exited with code 1.*Cannot find module/);
    assert.equal(sim.fleet.status?.stalledTemplate, bad);
    assert.equal(sim.condition('Progressing')?.status, 'False');
    assert.equal(sim.events.length, 1, 'one event, when it stopped');
    assert.match(sim.events[0] ?? '', /^RolloutStalled: rollout of template/);

    // Later passes try nothing more on that template.
    for (let i = 0; i < 5; i++) {
      assert.deepEqual(sim.pass().actions, []);
      sim.agents();
    }

    // A Prod lost meanwhile is rebuilt on the template that works, not on the stopped one.
    const lost = sim.live().find((p) => p.spec.role === 'normal')!;
    sim.prods = sim.prods.filter((p) => p !== lost);
    const refill = sim.pass().actions.filter((a) => a.action === 'create');
    assert.equal(refill.length, 1);
    assert.equal(refill[0]?.action === 'create' && refill[0].template.hash, oldHash);
  });

  it('resumes once the template is fixed, and a revert settles at once', () => {
    const sim = started();
    const good = sim.fleet;
    sim.fleet = withArgs(sim.fleet, ['server.js']);
    const bad = fleetTemplate(sim.fleet).hash;
    sim.fails = (p) => (p.spec.template?.hash === bad ? 'exited with code 1' : undefined);
    sim.settle(30);
    assert.equal(sim.fleet.status?.stalledTemplate, bad);

    // Revert: nothing to roll, the stop is cleared.
    sim.fleet = { ...good, status: sim.fleet.status };
    sim.settle(10);
    assert.equal(sim.fleet.status?.stalledTemplate, undefined);
    assert.equal(sim.condition('RolloutStalled')?.status, 'False');
    assert.equal(sim.condition('Progressing')?.reason, 'Stable');

    // Break it again, then fix it forward: the rollout goes through.
    sim.fleet = withArgs(sim.fleet, ['server.js']);
    sim.settle(30);
    assert.equal(sim.condition('RolloutStalled')?.status, 'True');
    sim.fleet = withEnv(withArgs(sim.fleet, ['app/server.mjs']), { FIXED: '1' });
    const fixed = fleetTemplate(sim.fleet).hash;
    sim.settle(100, {}, () => assert.ok(sim.inFlight().length <= 1));
    assert.ok(sim.live().every((p) => p.spec.template?.hash === fixed));
    assert.equal(sim.condition('RolloutStalled')?.status, 'False');
  });

  it('a successor not Ready within the deadline stops the rollout too', () => {
    const sim = started();
    sim.fleet = withEnv(sim.fleet, { SLOW: '1' });
    sim.pass();
    // Its agent never gets it Ready (a health path that never answers).
    const succ = sim.inFlight()[0]!;
    const plan = sim.pass({ rolloutDeadlineMs: 60_000 });
    assert.equal(plan.recheckInMs, 60_001, 'looks again when the deadline passes');
    sim.nowMs += 61_000;
    sim.pass({ rolloutDeadlineMs: 60_000 });
    assert.equal(sim.prods.find((p) => p.metadata.name === succ.metadata.name)?.spec.retire, true);
    assert.equal(sim.condition('RolloutStalled')?.reason, 'SuccessorNotReady');
    assert.match(sim.condition('RolloutStalled')?.message ?? '', /was not Ready within 60 s/);
  });

  it('leaves a template change to an active Release', () => {
    const sim = started();
    sim.fleet = withEnv(sim.fleet, { GREETING: 'hi' });
    const p = sim.pass({ releaseActive: true });
    assert.deepEqual(p.actions, []);
    assert.equal(p.status?.conditions.find((c) => c.type === 'Progressing')?.reason, 'ReleaseActive');
  });

  it('stamps Prods stored before template revisions with what they run, and restarts none of them', () => {
    const sim = started();
    const v1 = fleetTemplate(sim.fleet);
    // As stored by the previous version: no spec.template; one was mid-roll on another version.
    sim.prods = sim.prods.map((p, i) => {
      const { template: _t, ...spec } = p.spec;
      return { ...p, spec: { ...spec, ...(i === 0 ? { version: 'v0' } : {}) } };
    });
    const p = sim.pass();
    assert.deepEqual(
      p.actions.map((a) => a.action),
      Array(6).fill('snapshot'),
      'a pass that only stamps',
    );
    assert.equal(p.status, undefined);
    const stamps = p.actions.flatMap((a) => (a.action === 'snapshot' ? [a.template.hash] : []));
    assert.equal(stamps.filter((h) => h === v1.hash).length, 5);
    assert.equal(stamps[0], prodTemplate(sim.fleet.spec.app, 'v0').hash, 'the Prod on v0 is stamped as on v0, so it rolls');
    const next = sim.pass();
    assert.deepEqual(
      next.actions.map((a) => a.action),
      ['create'],
      'then only the one Prod not on the fleet version rolls',
    );
  });
});

describe('capacity is a hard limit (fleet plan rules 4 and 5)', () => {
  it('places no more than fits and says how many are missing and where room would help', () => {
    const sim = new Sim(web({ prods: 20, testProds: 2 }), threeDomains());
    sim.settle(20, {}, () => sim.assertWithinCapacity());
    assert.equal(sim.live().length, 12);
    const sched = sim.condition('Scheduled');
    assert.equal(sched?.status, 'False');
    assert.equal(sched?.reason, 'InsufficientCapacity');
    assert.equal(sched?.message, '8 of 20 Prods cannot be placed: every Ready cluster in domains a, b, c is full (a 4/4, b 4/4, c 4/4); add capacity or clusters, or lower spec.prods');
    const plan = sim.pass();
    assert.equal(plan.unplaceableReason, 'InsufficientCapacity');
  });

  it('counts successors, test Prods, retiring Prods and other fleets against capacity', () => {
    // Fill the clusters (4 each) with this fleet (6) and another fleet (2 per cluster).
    const sim = new Sim(web(), threeDomains(), new Map([['a', 2], ['b', 2], ['c', 2]]));
    sim.settle(20, {}, () => sim.assertWithinCapacity());
    assert.equal(sim.live().length, 6);
    // A version change needs one slot for a successor: there is none, so it waits instead of overcommitting.
    sim.fleet = { ...sim.fleet, spec: { ...sim.fleet.spec, version: 'v2' } };
    const p = sim.pass();
    assert.deepEqual(p.actions, []);
    assert.equal(p.status?.conditions.find((c) => c.type === 'Scheduled')?.reason, 'InsufficientCapacity');
    assert.match(p.unplaceable ?? '', /^no room for a successor of web-\d+ .*every Ready cluster in domains a, b, c is full \(a 4\/4, b 4\/4, c 4\/4\)/);
    // One slot freed elsewhere: the successor goes there, and the roll completes within capacity.
    sim.otherFleetsOnCluster.set('c', 1);
    sim.settle(100, {}, () => {
      sim.assertWithinCapacity();
      assert.ok(sim.inFlight().length <= 1);
    });
    assert.ok(sim.live().every((q) => q.spec.version === 'v2'));
    assert.equal(sim.live().length, 6);
  });

  it('never exceeds capacity through a sequence of scale-ups, template changes and a lost cluster', () => {
    const sim = new Sim(web({ prods: 3 }), threeDomains(3));
    const steps: Array<() => void> = [
      () => (sim.fleet = { ...sim.fleet, spec: { ...sim.fleet.spec, prods: 1000 } }),
      () => (sim.fleet = withEnv(sim.fleet, { A: '1' })),
      () => (sim.fleet = { ...sim.fleet, spec: { ...sim.fleet.spec, prods: 8, version: 'v2' } }),
      () => (sim.clusters = sim.clusters.map((c) => (c.metadata.name === 'a' ? { ...c, status: { phase: 'NotReady', prods: 0, conditions: [] } } : c))),
      () => (sim.fleet = withEnv(sim.fleet, { A: '2' })),
      () => (sim.clusters = threeDomains(3)),
      () => (sim.fleet = { ...sim.fleet, spec: { ...sim.fleet.spec, prods: 9 } }),
    ];
    for (const step of steps) {
      step();
      sim.settle(60, {}, () => {
        sim.assertWithinCapacity();
        assert.ok(sim.inFlight().length <= 1);
      });
    }
    assert.equal(sim.live().length, 9);
    assert.ok(sim.live().every((p) => p.spec.template?.hash === fleetTemplate(sim.fleet).hash));
  });
});

describe('Fleet validation', () => {
  it('refuses an absurd number of Prods, naming the field and the limit', () => {
    const doc = (prods: number) => ({ apiVersion: 'drover.dev/v1alpha1', kind: 'Fleet', metadata: { name: 'web' }, spec: { prods, version: 'v1', app: { command: 'node' } } });
    assert.doesNotThrow(() => validateResource(doc(1000)));
    try {
      validateResource(doc(1e9));
      assert.fail('prods: 1e9 was accepted');
    } catch (e) {
      assert.ok(isDroverError(e), String(e));
      assert.equal(e.field, 'spec.prods');
      assert.match(e.message, /at most 1000 Prods per fleet/);
      assert.match(e.fix ?? '', /at most 1000/);
    }
  });

  it('accepts a Prod template snapshot and refuses one without a valid hash', () => {
    const prod = (template: unknown) => ({
      apiVersion: 'drover.dev/v1alpha1',
      kind: 'Prod',
      metadata: { name: 'web-1' },
      spec: { fleet: 'web', cluster: 'a', version: 'v1', template },
    });
    assert.doesNotThrow(() => validateResource(prod(prodTemplate(web().spec.app, 'v1'))));
    assert.throws(() => validateResource(prod({ hash: 'not hex', app: web().spec.app })), (e: unknown) => isDroverError(e) && e.field === 'spec.template.hash');
  });
});

describe('release successors within capacity (placeSuccessor)', () => {
  it('keeps a successor with its predecessor when there is room, moves it when not, and waits when nowhere has room', async () => {
    const { placeSuccessor, clusterOccupancy } = await import('../../../src/release/successor.js');
    const sim = started(web(), threeDomains(3));
    const pred = sim.live().find((p) => p.spec.cluster === 'a')!;
    const all = sim.live();
    assert.equal(placeSuccessor(pred, sim.fleet, sim.clusters, all, clusterOccupancy(all)), 'a', 'room at home (2 of 3)');
    // Another fleet fills a: the successor goes where there is room, never over capacity.
    const full = new Map(clusterOccupancy(all)).set('a', 3);
    const moved = placeSuccessor(pred, sim.fleet, sim.clusters, all, full);
    assert.ok(moved === 'b' || moved === 'c', JSON.stringify(moved));
    assert.equal(full.get(moved as string), 3, 'counted');
    const none = placeSuccessor(pred, sim.fleet, sim.clusters, all, new Map([['a', 3], ['b', 3], ['c', 3]]));
    assert.equal(typeof none, 'object');
  });
});
