/**
 * A replica that leads a second time judges clusters as a new leader does: the control plane's
 * controllers (as `drover server` starts them) are built afresh for each term, so the cluster controller's
 * startup grace applies again instead of its memory of heartbeat arrivals from the first term.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startControllers } from '../../../src/controllers/index.js';
import type { Leadership, LeaderElector } from '../../../src/runtime/leader-election.js';
import { silentLogger } from '../../../src/runtime/logger.js';
import { MemoryStore } from '../../../src/store/memory/memory-store.js';
import { FakeAgents } from '../../helpers/fake-agents.js';
import { cluster } from '../../helpers/fixtures.js';
import { waitFor } from '../../helpers/wait-for.js';
import { recordClusterPhases } from '../../helpers/cluster-phases.js';

/** Leadership handed out and taken back by the test. */
class ScriptedElector implements LeaderElector {
  releases = 0;
  private pending: ((l: Leadership) => void) | undefined;
  private term: AbortController | undefined;

  acquire(signal: AbortSignal): Promise<Leadership> {
    return new Promise((resolve, reject) => {
      this.pending = resolve;
      signal.addEventListener('abort', () => reject(new Error('stopped')), { once: true });
    });
  }

  get campaigning(): boolean {
    return this.pending !== undefined;
  }

  grant(): void {
    const resolve = this.pending;
    assert.ok(resolve, 'nobody is campaigning');
    this.pending = undefined;
    this.term = new AbortController();
    resolve({ lost: this.term.signal, release: async () => void this.releases++ });
  }

  revoke(): void {
    this.term?.abort();
  }
}

describe('controllers across leadership terms', () => {
  it('a second term waits one grace before judging heartbeats it remembers from its first term', async () => {
    const store = new MemoryStore();
    const grace = 500;
    for (const n of ['steady', 'silent']) await store.create(cluster(n, { spec: { heartbeatGraceMs: grace } }));
    const { phases, stop: stopRecording } = await recordClusterPhases(store);
    const agents = new FakeAgents(store, 50);
    agents.alive.add('steady').add('silent');
    const elector = new ScriptedElector();
    const controllers = await startControllers({ store, leaderElector: elector, logger: silentLogger });
    const phase = async (n: string) => (await store.get('Cluster', n))?.status?.phase;
    const held = async (n: string) => (await store.list('Event')).items.some((e) => e.spec.involvedObject.name === n && e.spec.reason === 'VerdictHeld');
    agents.start();
    try {
      // Term 1: both clusters heartbeat and are Ready.
      await waitFor('a campaign', () => elector.campaigning);
      elector.grant();
      await waitFor('both Ready in term 1', async () => (await phase('steady')) === 'Ready' && (await phase('silent')) === 'Ready');
      assert.equal(await held('steady'), false, 'heartbeats that arrived during term 1 were never held');

      // The hand-over: the agents are failing over too, so no heartbeat arrives until the next term.
      agents.alive.clear();
      await agents.stop();
      elector.revoke();
      await waitFor('term 1 to end', () => elector.releases === 1 && elector.campaigning);
      const lastBeat = Date.parse((await store.get('Cluster', 'steady'))!.status!.lastHeartbeat!);
      // Term 1's memory would now say: the last heartbeat arrived more than one grace ago.
      await waitFor('the remembered heartbeats to be older than the grace', () => Date.now() > lastBeat + 2 * grace);

      // Term 2: the verdict is held for one grace; steady's agent is back within it, silent's is not.
      const term2 = Date.now();
      elector.grant();
      const first = await waitFor('term 2 to judge steady', async () => ((await held('steady')) ? 'held' : (await phase('steady')) === 'NotReady' ? 'NotReady' : undefined));
      assert.equal(first, 'held', "term 2 judged steady by term 1's memory instead of waiting one grace");
      agents.alive.add('steady');
      agents.start();
      await waitFor('silent NotReady after the grace', async () => (await phase('silent')) === 'NotReady', { timeoutMs: 5000 });
      const after = Date.now() - term2;
      assert.ok(after >= grace, `silent judged ${after} ms into term 2, before one grace (${grace} ms)`);
      assert.equal(await phase('steady'), 'Ready');
    } finally {
      await agents.stop();
      await controllers.stop();
      await stopRecording();
    }
    assert.ok(!phases.includes('steady:NotReady'), `steady was never NotReady: ${phases.join(' ')}`);
  });
});
